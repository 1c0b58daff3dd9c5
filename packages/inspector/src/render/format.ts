import { redact, type ParticipantView } from '../deps.js';

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Epoch milliseconds as ISO time; small numbers are a log's logical times (line numbers). */
export function formatTime(at: number): string {
  if (isEpochMs(at)) return new Date(at).toISOString();
  return `t=${at}`;
}

/** Whether a time looks like epoch milliseconds (2001 to 5138) rather than a logical time. */
export function isEpochMs(at: number): boolean {
  return at >= 1e12 && at < 1e14;
}

/** `850 ms`, `12.3 s`, `4 min 05 s`, `2 h 03 min`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '';
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const s = Math.floor(ms / 1_000);
  if (s < 3_600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  const m = Math.floor(s / 60);
  if (m < 48 * 60) return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
  return `${Math.floor(m / 1_440)} d ${Math.floor((m % 1_440) / 60)} h`;
}

/** A time relative to another: `+1.25 s` for epoch times, `t=N` for logical ones. */
export function formatOffset(at: number, start: number): string {
  if (!isEpochMs(at) || !isEpochMs(start)) return `t=${at}`;
  const d = at - start;
  return d < 0 ? `-${formatDuration(-d)}` : `+${formatDuration(d)}`;
}

/** The display name in a Graph `identitySet` (user, guest, phone, application ...), else its id. */
export function identityName(identitySet: unknown): string | undefined {
  if (!isRecord(identitySet)) return undefined;
  let id: string | undefined;
  for (const [key, value] of Object.entries(identitySet)) {
    if (!isRecord(value) || key.startsWith('@')) continue;
    if (typeof value['displayName'] === 'string' && value['displayName'] !== '') return value['displayName'];
    if (id === undefined && typeof value['id'] === 'string' && value['id'] !== '') id = value['id'];
  }
  return id;
}

/** The display name in a participant's `info.identity`. */
export function participantName(p: ParticipantView): string | undefined {
  const info = p['info'];
  return isRecord(info) ? identityName(info['identity']) : undefined;
}

/** Graph's `resultInfo` as `code/subcode: message`. */
export function resultInfoText(info: unknown): string {
  if (!isRecord(info)) return '';
  const code = [info['code'], info['subcode']]
    .filter((c) => c !== undefined && c !== null)
    .map(String)
    .join('/');
  const message = typeof info['message'] === 'string' ? info['message'] : '';
  return [code, message].filter((p) => p !== '').join(': ');
}

/**
 * A JSON value as indented text for people, with tokens and secrets redacted as recordings
 * redact them, cut at `max` characters.
 */
export function jsonExcerpt(value: unknown, max = 4_000): string {
  let text: string;
  try {
    text = JSON.stringify(redact(value), null, 2) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > max ? `${text.slice(0, max)}\n... (${(text.length - max).toLocaleString('en-US')} more characters)` : text;
}

/** A JSON value on one line, cut at `max` characters (redacted). */
export function jsonLine(value: unknown, max = 160): string {
  let text: string;
  try {
    text = JSON.stringify(redact(value)) ?? '';
  } catch {
    text = String(value);
  }
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;
}
