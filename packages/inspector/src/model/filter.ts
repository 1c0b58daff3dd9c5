import { CALL_STATES } from '../deps.js';
import type { CallSummary } from './summary.js';

/** The list's filters, as the page's form sends them. */
export interface ListFilter {
  /** `live`, `ended`, a call state, or empty for every call. */
  readonly state: string;
  /** Text in the call id or a display name (case-insensitive). */
  readonly q: string;
  /** Only calls active within this long before now: `15m`, `1h`, `24h`, `7d`, or empty. */
  readonly within: string;
  /** Only calls active from / until these times (ms since the epoch), when given. */
  readonly from: number | undefined;
  readonly to: number | undefined;
  /** The page of ended calls, from 1. */
  readonly page: number;
}

export const WITHIN: Readonly<Record<string, number>> = { '15m': 15 * 60_000, '1h': 3_600_000, '24h': 86_400_000, '7d': 7 * 86_400_000 };
const STATES = new Set<string>(['live', 'ended', 'pending', ...CALL_STATES]);

/** Reads the filters from a query string; anything unknown or malformed is ignored. */
export function parseFilter(params: URLSearchParams): ListFilter {
  const state = params.get('state') ?? '';
  const within = params.get('within') ?? '';
  const page = Number(params.get('page') ?? '1');
  return {
    state: STATES.has(state) ? state : '',
    q: (params.get('q') ?? '').trim().slice(0, 200),
    within: within in WITHIN ? within : '',
    from: parseTime(params.get('from')),
    to: parseTime(params.get('to')),
    page: Number.isSafeInteger(page) && page >= 1 ? page : 1,
  };
}

/** `2026-01-05T10:00` (UTC unless it names a zone), `2026-01-05`, or epoch milliseconds. */
function parseTime(value: string | null): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (text === '') return undefined;
  if (/^\d{10,14}$/.test(text)) return Number(text);
  const zoned = /(?:Z|[+-]\d\d:?\d\d)$/i.test(text) || /^\d{4}-\d\d-\d\d$/.test(text) ? text : `${text}Z`;
  const ms = Date.parse(zoned);
  return Number.isFinite(ms) ? ms : undefined;
}

/** The filters as a query string (only those set), with another page when given. */
export function filterQuery(filter: ListFilter, page = filter.page): string {
  const params = new URLSearchParams();
  if (filter.state) params.set('state', filter.state);
  if (filter.q) params.set('q', filter.q);
  if (filter.within) params.set('within', filter.within);
  if (filter.from !== undefined) params.set('from', new Date(filter.from).toISOString());
  if (filter.to !== undefined) params.set('to', new Date(filter.to).toISOString());
  if (page > 1) params.set('page', String(page));
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

/** Whether a call passes the filters (all but the page). */
function matches(call: CallSummary, filter: ListFilter, now: number): boolean {
  if (filter.state === 'live' && !call.live) return false;
  if (filter.state === 'ended' && call.live) return false;
  if (filter.state !== '' && filter.state !== 'live' && filter.state !== 'ended' && call.state !== filter.state) return false;
  const first = call.firstAt ?? 0;
  const last = call.live ? Math.max(now, call.lastAt ?? 0) : (call.lastAt ?? first);
  if (filter.within) {
    if (last < now - WITHIN[filter.within]!) return false;
  }
  if (filter.from !== undefined && last < filter.from) return false;
  if (filter.to !== undefined && first > filter.to) return false;
  if (filter.q) {
    const q = filter.q.toLowerCase();
    if (!call.id.toLowerCase().includes(q) && !call.names.some((n) => n.toLowerCase().includes(q))) return false;
  }
  return true;
}

export interface ListSelection {
  /** Live calls passing the filters, the most recently active first. */
  readonly live: readonly CallSummary[];
  /** The page of ended calls passing the filters, the most recently ended first. */
  readonly ended: readonly CallSummary[];
  readonly endedTotal: number;
  readonly page: number;
  readonly pages: number;
  readonly total: number;
}

/** Applies the filters: every live call, and one page of ended calls. */
export function selectCalls(calls: readonly CallSummary[], filter: ListFilter, now: number, pageSize: number): ListSelection {
  const byRecent = (a: CallSummary, b: CallSummary) => (b.lastAt ?? 0) - (a.lastAt ?? 0) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  const passing = calls.filter((c) => matches(c, filter, now));
  const live = passing.filter((c) => c.live).sort(byRecent);
  const ended = passing.filter((c) => !c.live).sort(byRecent);
  const pages = Math.max(1, Math.ceil(ended.length / pageSize));
  const page = Math.min(filter.page, pages);
  return { live, ended: ended.slice((page - 1) * pageSize, page * pageSize), endedTotal: ended.length, page, pages, total: calls.length };
}
