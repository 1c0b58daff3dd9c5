import { CALL_STATES } from '../deps.js';
import { filterQuery, WITHIN, type ListFilter, type ListSelection } from '../model/filter.js';
import type { CallSummary } from '../model/summary.js';
import { stateBadge } from './call-page.js';
import { escapeHtml as esc } from './escape.js';
import { formatDuration, formatTime, isEpochMs } from './format.js';

/** How the list links to a call's page (relative to the list). */
export type CallHref = (callId: string) => string;

/**
 * The list of calls (the console's main content): the filter form, the live calls, then one
 * page of ended calls with links to the others. Escapes everything from the log.
 */
export function renderCallList(selection: ListSelection, filter: ListFilter, now: number, href: CallHref): string {
  const out: string[] = [];
  out.push(filterForm(filter));
  const shown = selection.live.length + selection.endedTotal;
  out.push(
    `<p class="hint">${selection.total.toLocaleString('en-US')} calls in the log${shown !== selection.total ? `, ${shown.toLocaleString('en-US')} passing the filters` : ''}</p>`,
  );
  out.push(`<h2>live <span class="count">${selection.live.length}</span></h2>`);
  if (selection.live.length === 0) out.push('<p class="none" id="no-live">no live calls</p>');
  else out.push(table(selection.live, now, href, 'live-calls'));
  out.push(`<h2>ended <span class="count">${selection.endedTotal}</span></h2>`);
  if (selection.endedTotal === 0) out.push('<p class="none">no ended calls</p>');
  else {
    out.push(table(selection.ended, now, href, 'ended-calls'));
    if (selection.pages > 1) {
      const links: string[] = [];
      if (selection.page > 1) links.push(`<a href="${esc(filterQuery(filter, selection.page - 1) || '?')}">newer</a>`);
      if (selection.page < selection.pages) links.push(`<a href="${esc(filterQuery(filter, selection.page + 1))}">older</a>`);
      out.push(`<p class="pager">page ${selection.page} of ${selection.pages} ${links.join(' ')}</p>`);
    }
  }
  return out.join('\n');
}

function filterForm(filter: ListFilter): string {
  const option = (value: string, label: string, current: string) =>
    `<option value="${esc(value)}"${value === current ? ' selected' : ''}>${esc(label)}</option>`;
  const states = [option('', 'any', filter.state), option('live', 'live', filter.state), option('ended', 'ended', filter.state)];
  for (const s of ['pending', ...CALL_STATES]) states.push(option(s, s, filter.state));
  const within = [option('', 'any time', filter.within), ...Object.keys(WITHIN).map((w) => option(w, `last ${w}`, filter.within))];
  const time = (ms: number | undefined) => (ms === undefined ? '' : new Date(ms).toISOString().slice(0, 16));
  return (
    '<form class="filters" method="get">' +
    `<label>state <select name="state">${states.join('')}</select></label>` +
    `<label>call id or name <input type="search" name="q" value="${esc(filter.q)}" placeholder="id, display name"></label>` +
    `<label>active <select name="within">${within.join('')}</select></label>` +
    `<label>from (UTC) <input name="from" value="${esc(time(filter.from))}" placeholder="2026-01-05T10:00" size="16"></label>` +
    `<label>to (UTC) <input name="to" value="${esc(time(filter.to))}" placeholder="2026-01-05T12:00" size="16"></label>` +
    '<button type="submit">filter</button> <a href="?">clear</a>' +
    '</form>'
  );
}

function table(calls: readonly CallSummary[], now: number, href: CallHref, id: string): string {
  const out: string[] = [
    `<table class="calls" id="${id}"><thead><tr><th>state</th><th>call</th><th>direction</th><th>with</th><th>age</th><th>last entry</th><th>roster</th><th>stale</th><th>resync</th><th>entries</th></tr></thead><tbody>`,
  ];
  for (const c of calls) {
    const first = c.firstAt;
    const age =
      first === undefined || !isEpochMs(first)
        ? ''
        : c.live
          ? formatDuration(now - first)
          : `${formatDuration((c.lastAt ?? first) - first)} long`;
    const last =
      c.lastAt === undefined ? '' : isEpochMs(c.lastAt) ? `${formatDuration(Math.max(0, now - c.lastAt))} ago` : formatTime(c.lastAt);
    const roster = `${c.present}${c.lobby > 0 ? ` (${c.lobby} in lobby)` : ''}`;
    const title = c.endReason ? ` title="${esc(`ended: ${c.endReason}`)}"` : '';
    out.push(
      `<tr class="${c.live ? 'live' : 'ended'}" data-call="${esc(c.id)}" data-state="${esc(c.state)}"><td${title}>${stateBadge(c.state)}</td>` +
        `<td class="id"><a href="${esc(href(c.id))}"><code>${esc(c.id)}</code></a></td>` +
        `<td>${esc(c.direction ?? '')}</td><td>${esc(c.otherParty ?? '')}</td>` +
        `<td>${esc(age)}</td><td${c.lastAt !== undefined ? ` title="${esc(formatTime(c.lastAt))}"` : ''}>${esc(last)}</td>` +
        `<td>${esc(roster)}</td><td>${c.stale > 0 ? `<span class="badge stale">${c.stale}</span>` : '0'}</td>` +
        `<td>${c.resyncNeeded !== undefined ? `<span class="badge resync" title="${esc(c.resyncNeeded)}">needed</span>` : ''}</td>` +
        `<td>${c.entries}</td></tr>`,
    );
  }
  out.push('</tbody></table>');
  return out.join('\n');
}
