import type { CallEvent, CallView, LogEntry, MachineState, TimelineRow } from '../deps.js';
import { describeCall, rosterChangeOf, type CallDetail, type CallRecord, type RosterPoint } from '../model/detail.js';
import { callSummaryFacts } from '../model/summary.js';
import { escapeHtml as esc } from './escape.js';
import {
  formatDuration,
  formatOffset,
  formatTime,
  isRecord,
  jsonExcerpt,
  jsonLine,
  participantName,
  plural,
  resultInfoText,
} from './format.js';
import { renderMachineSvg } from './machine-svg.js';
import { visitedStates } from './path.js';

/** Which rows of a long timeline a page shows, and how to link to the others. */
export interface RowWindow {
  /** Index (0-based, into the call's rows) of the first row shown. */
  readonly offset: number;
  readonly limit: number;
  /** The link to the window starting at another offset (escaped here). */
  readonly href: (offset: number) => string;
}

export interface CallSectionOptions {
  /** The section's `id` (an anchor), letters, digits and `-`. */
  readonly anchor?: string;
  /** `h1` on a page of its own, `h2` inside a report of several calls. */
  readonly heading?: 'h1' | 'h2';
  /** Show only these rows of the timeline and of the roster changes; default all. */
  readonly window?: RowWindow;
  /** A link that downloads the call as an exchange log (escaped here). */
  readonly downloadHref?: string;
  /** A link to each timeline row's entry as JSON (escaped here); none by default. */
  readonly entryHref?: (row: TimelineRow, entry: LogEntry) => string;
  /** Lines of text shown under the heading (escaped here): where the data came from. */
  readonly notes?: readonly string[];
  /** Present participants listed at most (the rest counted). Default 500. */
  readonly maxParticipants?: number;
}

/**
 * One call's page, the same in the live console and in `replay --html`: the heading with its
 * state, the facts (direction, other party, times, end reason, stale and duplicate counts,
 * resync needed), its path through the machine (states in order and the picture), the
 * timeline (stale reasons and duplicates marked), the roster over time with lobby and
 * admission, operations with outcomes and durations, and commands with Graph's answers.
 *
 * Every piece of text from the log is escaped. Pure and deterministic.
 */
export function renderCallSection(record: CallRecord, options: CallSectionOptions = {}): string {
  const detail = describeCall(record);
  const { path } = detail;
  const view = record.view;
  const h = options.heading ?? 'h2';
  const sub = h === 'h1' ? 'h2' : 'h3';
  const start = detail.firstAt ?? 0;
  const out: string[] = [];
  out.push(
    `<section class="call"${options.anchor ? ` id="${esc(options.anchor)}"` : ''} data-call="${esc(record.callId)}" data-state="${esc(path.final)}">`,
  );
  out.push(`<${h}>call <code>${esc(record.callId)}</code> ${stateBadge(path.final)}</${h}>`);
  if (options.downloadHref !== undefined) {
    out.push(
      `<p class="actions"><a class="button" href="${esc(options.downloadHref)}" download>download as an exchange log</a> <span class="hint">(for <code>switchboard replay</code>; tokens and secrets redacted)</span></p>`,
    );
  }
  for (const note of options.notes ?? []) out.push(`<p class="note">${esc(note)}</p>`);

  const facts: [string, string][] = view ? callSummaryFacts(view) : [];
  if (detail.firstAt !== undefined) facts.push(['first entry', formatTime(detail.firstAt)]);
  if (detail.lastAt !== undefined && detail.firstAt !== undefined) {
    facts.push(['last entry', `${formatTime(detail.lastAt)} (${formatOffset(detail.lastAt, detail.firstAt)})`]);
  }
  facts.push([
    'entries',
    `${path.rows.length - path.duplicateCount}${path.duplicateCount > 0 ? ` (+${path.duplicateCount} duplicate deliveries dropped)` : ''}`,
  ]);
  facts.push(['stale', String(path.staleCount)]);
  if (view?.resyncNeeded) facts.push(['resync needed', `${view.resyncNeeded.reason} (entry ${view.resyncNeeded.position})`]);
  if (view && view.tones.length > 0) facts.push(['tones', view.tones.map((t) => t.tone).join(' ')]);
  for (const u of view?.unknown ?? []) facts.push(['not understood', `entry ${u.position}: ${u.reason}`]);
  out.push(`<dl class="facts">${facts.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join('')}</dl>`);

  out.push(`<${sub}>path</${sub}>`);
  out.push(
    `<ol class="path" aria-label="states in order">${visitedStates(path)
      .map((s) => `<li>${stateBadge(s)}</li>`)
      .join('')}</ol>`,
  );
  out.push(
    `<div class="picture">${renderMachineSvg(path, { idPrefix: `m-${options.anchor ?? 'call'}`, title: `the call machine, with the path of call ${record.callId}` })}</div>`,
  );

  // the timeline, or the window of it shown
  const rows = path.rows;
  const win = options.window;
  const from = win ? Math.max(0, Math.min(win.offset, Math.max(0, rows.length - 1))) : 0;
  const to = win ? Math.min(rows.length, from + win.limit) : rows.length;
  const shown = win ? rows.slice(from, to) : rows;
  out.push(`<${sub}>timeline</${sub}>`);
  if (win && rows.length > win.limit) out.push(pager(rows.length, from, to, win, 'entries'));
  out.push(
    '<table class="timeline"><thead><tr><th>#</th><th>pos</th><th title="time since the first entry; hover for the time">time</th><th>kind</th><th>entry</th><th>state</th><th>notes</th></tr></thead><tbody>',
  );
  for (const row of shown) out.push(timelineRow(row, record.entryOf(row), start, options.entryHref));
  out.push('</tbody></table>');
  if (win && rows.length > win.limit) out.push(pager(rows.length, from, to, win, 'entries'));

  out.push(rosterSection(detail, sub, win ? new Set(shown) : undefined, start));
  if (view) out.push(finalRoster(view, options.maxParticipants ?? 500));
  out.push(operationsSection(detail, sub));
  out.push(commandsSection(detail, sub, start));
  out.push('</section>');
  return out.join('\n');
}

function pager(total: number, from: number, to: number, win: RowWindow, what: string): string {
  const links: string[] = [];
  if (from > 0) {
    links.push(`<a href="${esc(win.href(0))}">first</a>`, `<a href="${esc(win.href(Math.max(0, from - win.limit)))}">earlier</a>`);
  }
  if (to < total) {
    links.push(`<a href="${esc(win.href(to))}">later</a>`, `<a href="${esc(win.href(Math.max(0, total - win.limit)))}">latest</a>`);
  }
  return `<p class="pager">${what} ${(from + 1).toLocaleString('en-US')}-${to.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} ${links.join(' ')}</p>`;
}

function timelineRow(row: TimelineRow, entry: LogEntry | undefined, start: number, entryHref: CallSectionOptions['entryHref']): string {
  const classes: string[] = [];
  if (row.duplicate) classes.push('duplicate');
  if (row.stale.length > 0) classes.push('stale');
  if (!row.duplicate && row.before !== row.after) classes.push('changed');
  const state = row.duplicate
    ? `<span class="badge dup">duplicate, dropped</span>`
    : row.before === row.after
      ? stateBadge(row.after)
      : `${stateBadge(row.before)} &rarr; ${stateBadge(row.after)}`;
  const notes: string[] = [];
  for (const s of row.stale) notes.push(`<span class="badge stale">stale</span> ${esc(`${s.reason}: ${s.detail}`)}`);
  for (const e of row.events) {
    const text = describeEvent(e);
    if (text !== undefined) notes.push(esc(text));
  }
  const time = entry ? `<span title="${esc(formatTime(entry.at))}">${esc(formatOffset(entry.at, start))}</span>` : '';
  const summary =
    entryHref && entry ? `${esc(row.summary)} <a class="json" href="${esc(entryHref(row, entry))}">json</a>` : esc(row.summary);
  return (
    `<tr${classes.length > 0 ? ` class="${classes.join(' ')}"` : ''}>` +
    `<td>${row.index + 1}</td><td>${row.position ?? '&ndash;'}</td><td>${time}</td>` +
    `<td>${esc(String(row.kind))}</td><td>${summary}</td><td>${state}</td><td>${notes.join('<br>')}</td></tr>`
  );
}

/** The timeline's note for an event; state changes and stale entries have their own columns. */
function describeEvent(e: CallEvent): string | undefined {
  const change = rosterChangeOf(e);
  if (change !== undefined && 'participant' in e) {
    const name = participantName(e.participant);
    return `${change}: ${e.participant.id}${name !== undefined ? ` (${name})` : ''}`;
  }
  switch (e.type) {
    case 'callCreated':
      return 'call created';
    case 'operationSettled':
      return `operation ${e.operation.id} ${String(e.operation.status ?? '?')}`;
    case 'toneReceived':
      return `tone ${e.tone.tone}`;
    case 'contentSharingStarted':
      return `content sharing started: ${e.session.id}`;
    case 'contentSharingEnded':
      return `content sharing ended: ${e.session.id}`;
    case 'resyncNeeded':
      return `resync needed: ${e.reason}`;
    default:
      return undefined;
  }
}

function rosterSection(detail: CallDetail, sub: string, rows: ReadonlySet<TimelineRow> | undefined, start: number): string {
  const out: string[] = [`<${sub}>roster over time</${sub}>`];
  if (detail.roster.length === 0) {
    out.push('<p class="none">no roster changes</p>');
    return out.join('\n');
  }
  out.push(rosterChart(detail.rosterSeries));
  const changes = rows ? detail.roster.filter((c) => rows.has(c.row)) : detail.roster;
  if (rows)
    out.push(
      `<p class="hint">${plural(changes.length, 'change')} in the entries shown, of ${detail.roster.length.toLocaleString('en-US')}</p>`,
    );
  out.push('<table class="roster"><thead><tr><th>#</th><th>time</th><th>change</th><th>participant</th><th>name</th></tr></thead><tbody>');
  for (const c of changes) {
    const time = c.at !== undefined ? `<span title="${esc(formatTime(c.at))}">${esc(formatOffset(c.at, start))}</span>` : '';
    out.push(
      `<tr class="r-${c.change.replace(' ', '-')}"><td>${c.row.index + 1}</td><td>${time}</td><td>${esc(c.change)}</td><td><code>${esc(c.participantId)}</code></td><td>${esc(participantName(c.participant) ?? '')}</td></tr>`,
    );
  }
  out.push('</tbody></table>');
  return out.join('\n');
}

/** Present and in-lobby counts after each roster change, as a step chart (at most 400 points each). */
function rosterChart(series: readonly RosterPoint[]): string {
  if (series.length === 0) return '';
  const W = 720;
  const H = 90;
  const max = Math.max(1, ...series.map((p) => p.present));
  const n = series.length;
  const every = Math.max(1, Math.ceil(n / 400));
  const picked = series.filter((_, i) => i % every === 0 || i === n - 1);
  const x = (i: number) => (n === 1 ? W : Math.round((i / (n - 1)) * W * 10) / 10);
  const y = (v: number) => Math.round((H - (v / max) * (H - 6)) * 10) / 10;
  const line = (pick: (p: RosterPoint) => number) => {
    let d = `M0,${y(0)}`;
    picked.forEach((p) => {
      const i = series.indexOf(p);
      d += ` H${x(i)} V${y(pick(p))}`;
    });
    return `${d} H${W}`;
  };
  const last = series[n - 1]!;
  const peak = Math.max(...series.map((p) => p.lobby));
  return (
    `<figure class="roster-chart"><svg viewBox="0 -2 ${W} ${H + 4}" role="img" aria-label="participants present and in the lobby after each roster change">` +
    `<path class="present" d="${line((p) => p.present)}"/><path class="lobby" d="${line((p) => p.lobby)}"/></svg>` +
    `<figcaption><span class="key present">present</span> up to ${max}, now ${last.present}; <span class="key lobby">in lobby</span> up to ${peak}, now ${last.lobby}; over ${plural(n, 'roster change')}</figcaption></figure>`
  );
}

function finalRoster(view: CallView, maxParticipants: number): string {
  const ids = Object.keys(view.participants).sort();
  const removed = Object.keys(view.removedParticipants).length;
  const lobby = ids.filter((id) => view.participants[id]!.isInLobby === true).length;
  const out = [
    `<p class="final-roster">final roster: ${ids.length} present${lobby > 0 ? ` (${lobby} in lobby)` : ''}${removed > 0 ? `, ${removed} removed` : ''}</p>`,
  ];
  if (ids.length > 0) {
    const items = ids.slice(0, maxParticipants).map((id) => {
      const p = view.participants[id]!;
      const flags = [p.isInLobby === true ? 'in lobby' : '', p.isMuted === true ? 'muted' : ''].filter((f) => f !== '');
      const name = participantName(p);
      return `<li><code>${esc(p.id)}</code>${name !== undefined ? ` ${esc(name)}` : ''}${flags.length > 0 ? ` <span class="flag">${esc(flags.join(', '))}</span>` : ''}</li>`;
    });
    if (ids.length > maxParticipants)
      items.push(`<li class="none">and ${(ids.length - maxParticipants).toLocaleString('en-US')} more</li>`);
    out.push(`<ul class="participants">${items.join('')}</ul>`);
  }
  return out.join('\n');
}

function operationsSection(detail: CallDetail, sub: string): string {
  const out = [`<${sub}>operations</${sub}>`];
  if (detail.operations.length === 0) {
    out.push('<p class="none">none</p>');
    return out.join('\n');
  }
  out.push(
    '<table class="operations"><thead><tr><th>id</th><th>type</th><th>status</th><th>result</th><th>duration</th></tr></thead><tbody>',
  );
  for (const { operation: op, startedAt, settledAt } of detail.operations) {
    const parts = [resultInfoText(op['resultInfo'])];
    if (typeof op['completionReason'] === 'string') parts.push(op['completionReason']);
    if (op.timedOut === true) parts.push('timed out');
    const duration =
      startedAt !== undefined && settledAt !== undefined
        ? formatDuration(settledAt - startedAt)
        : startedAt !== undefined
          ? 'not settled'
          : '';
    out.push(
      `<tr><td><code>${esc(op.id)}</code></td><td>${esc(op.type ?? '')}</td><td>${esc(String(op.status ?? '?'))}</td><td>${esc(parts.filter((p) => p !== '').join('; '))}</td><td>${esc(duration)}</td></tr>`,
    );
  }
  out.push('</tbody></table>');
  return out.join('\n');
}

function commandsSection(detail: CallDetail, sub: string, start: number): string {
  const out = [`<${sub}>commands</${sub}>`];
  if (detail.commands.length === 0) {
    out.push('<p class="none">none</p>');
    return out.join('\n');
  }
  out.push(
    '<table class="commands"><thead><tr><th>#</th><th>sent</th><th>command</th><th>Graph&#39;s answer</th><th>after</th></tr></thead><tbody>',
  );
  for (const { step, command, result } of detail.commands) {
    const name = command?.command ?? result?.command ?? '?';
    const sent = command ? `<span title="${esc(formatTime(command.at))}">${esc(formatOffset(command.at, start))}</span>` : '';
    const args =
      command?.args !== undefined
        ? `<details data-key="a-${step}"><summary>${esc(jsonLine(command.args, 80))}</summary><pre>${esc(jsonExcerpt(command.args))}</pre></details>`
        : '';
    let answer = '<span class="none">no answer in the log</span>';
    let after = '';
    if (result) {
      const status = result.status !== undefined ? String(result.status) : '';
      const error = result.error ? `${result.error.code}: ${result.error.message}` : '';
      answer = `<span class="outcome ${esc(result.outcome)}">${esc([result.outcome, status].filter((p) => p !== '').join(' '))}</span>${error ? ` ${esc(error)}` : ''}`;
      if (result.body !== undefined) {
        const op = isRecord(result.body) && typeof result.body['status'] === 'string' ? ` status=${result.body['status']}` : '';
        answer += `<details data-key="b-${step}"><summary>body${esc(op)}</summary><pre>${esc(jsonExcerpt(result.body))}</pre></details>`;
      }
      if (command) after = formatDuration(result.at - command.at);
    }
    out.push(`<tr><td>${step}</td><td>${sent}</td><td><code>${esc(name)}</code>${args}</td><td>${answer}</td><td>${esc(after)}</td></tr>`);
  }
  out.push('</tbody></table>');
  return out.join('\n');
}

/** A state's badge; the class names the state (machine states are identifiers). */
export function stateBadge(state: MachineState): string {
  return `<span class="state s-${stateClass(state)}">${esc(state)}</span>`;
}

/** A CSS-safe name for a machine state. */
function stateClass(state: string): string {
  return /^[A-Za-z][A-Za-z0-9_]*$/.test(state) ? state : `s_${state.replace(/[^A-Za-z0-9_]/g, '_')}`;
}
