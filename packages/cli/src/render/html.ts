import type { CallEvent, CallView, LogEntry, MachineState, OperationView, ParticipantView, ReplayResult, TimelineRow } from '@switchboard/core';
import { mermaidStateId } from './mermaid.js';
import { callPaths, visitedStates, type CallPath } from './path.js';

/** What the page says about the replay besides the result itself. */
export interface HtmlReportOptions {
  /** The log file as the user named it (shown, escaped, in the title and header). */
  readonly logName: string;
  /** The entries replayed, in delivery order (`TimelineRow.index` indexes them): gives each row its time. */
  readonly entries?: readonly LogEntry[];
  /** The log's `alt` labels, and the one replayed. */
  readonly alternatives?: readonly string[];
  readonly alt?: string;
  /** How the entries were delivered, e.g. `shuffled (seed 3), duplicates 0.5`; default `in log order`. */
  readonly delivery?: string;
}

/**
 * A self-contained HTML page of a replay: a header with the log name, delivery and every
 * call's id and final state, then per call its path through the machine, the timeline
 * (step, stream position, time, kind, summary, state change, stale and duplicate entries
 * marked), operations, roster changes and final roster.
 *
 * No scripts, no external resources: CSS is inline, and a Content-Security-Policy forbids
 * anything else. Every piece of text that comes from the log is HTML-escaped ({@link escapeHtml}),
 * since the log is untrusted. Deterministic: the same result and options give the same bytes.
 */
export function renderHtml(result: ReplayResult, options: HtmlReportOptions): string {
  const paths = callPaths(result);
  const out: string[] = [];
  out.push(
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>switchboard replay: ${esc(options.logName)}</title>`,
    `<style>${CSS}</style>`,
    '</head>',
    '<body>',
    '<header>',
    `<h1>switchboard replay <span class="log">${esc(options.logName)}</span></h1>`,
  );
  const facts: [string, string][] = [
    ['entries', String(result.timeline.length)],
    ['delivery', options.delivery ?? 'in log order'],
  ];
  if (options.alternatives && options.alternatives.length > 0) {
    facts.push(['alternatives', `${options.alternatives.join(', ')} (replaying ${options.alt ?? options.alternatives[0]!})`]);
  }
  out.push(`<dl class="facts">${facts.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join('')}</dl>`);
  out.push('<table class="calls"><thead><tr><th>call</th><th>final state</th><th>entries</th><th>stale</th><th>duplicates</th></tr></thead><tbody>');
  paths.forEach((path, i) => {
    out.push(
      `<tr><td><a href="#call-${i + 1}"><code>${esc(path.callId)}</code></a></td><td>${stateBadge(path.final)}</td>` +
        `<td>${path.rows.length}</td><td>${path.staleCount}</td><td>${path.duplicateCount}</td></tr>`,
    );
  });
  out.push('</tbody></table>', '</header>', '<main>');
  paths.forEach((path, i) => out.push(callSection(path, result.calls[path.callId], i + 1, options)));
  out.push('</main>', '</body>', '</html>', '');
  return out.join('\n');
}

function callSection(path: CallPath, view: CallView | undefined, n: number, options: HtmlReportOptions): string {
  const out: string[] = [];
  out.push(`<section class="call" id="call-${n}">`);
  out.push(`<h2>call <code>${esc(path.callId)}</code> ${stateBadge(path.final)}</h2>`);
  out.push(`<ol class="path" aria-label="states in order">${visitedStates(path).map((s) => `<li>${stateBadge(s)}</li>`).join('')}</ol>`);
  if (view) {
    const notes: string[] = [];
    if (view.resyncNeeded) notes.push(`resync needed (entry ${view.resyncNeeded.position}): ${view.resyncNeeded.reason}`);
    if (view.tones.length > 0) notes.push(`tones: ${view.tones.map((t) => t.tone).join(' ')}`);
    for (const u of view.unknown) notes.push(`not understood (position ${u.position}): ${u.reason}`);
    if (notes.length > 0) out.push(`<ul class="notes">${notes.map((t) => `<li>${esc(t)}</li>`).join('')}</ul>`);
  }

  out.push('<h3>timeline</h3>');
  out.push(
    '<table class="timeline"><thead><tr><th>#</th><th>pos</th><th title="receivedAt; t=N is the line number when the log has no time">time</th><th>kind</th><th>entry</th><th>state</th><th>notes</th></tr></thead><tbody>',
  );
  for (const row of path.rows) out.push(timelineRow(row, options.entries?.[row.index]));
  out.push('</tbody></table>');

  const ops = view ? Object.keys(view.operations).sort().map((id) => view.operations[id]!) : [];
  out.push('<h3>operations</h3>');
  if (ops.length === 0) out.push('<p class="none">none</p>');
  else {
    out.push('<table class="operations"><thead><tr><th>id</th><th>type</th><th>status</th><th>result</th></tr></thead><tbody>');
    for (const op of ops) {
      out.push(`<tr><td><code>${esc(op.id)}</code></td><td>${esc(op.type ?? '')}</td><td>${esc(String(op.status ?? '?'))}</td><td>${esc(operationResult(op))}</td></tr>`);
    }
    out.push('</tbody></table>');
  }

  const roster = path.rows.flatMap((row) => row.events.filter(isRosterEvent).map((e) => [row, e] as const));
  out.push('<h3>roster changes</h3>');
  if (roster.length === 0) out.push('<p class="none">none</p>');
  else {
    out.push('<table class="roster"><thead><tr><th>#</th><th>change</th><th>participant</th><th>name</th></tr></thead><tbody>');
    for (const [row, e] of roster) {
      out.push(
        `<tr><td>${row.index + 1}</td><td>${esc(ROSTER_CHANGE[e.type])}</td><td><code>${esc(e.participant.id)}</code></td><td>${esc(participantName(e.participant) ?? '')}</td></tr>`,
      );
    }
    out.push('</tbody></table>');
  }
  if (view) {
    const present = Object.keys(view.participants).sort().map((id) => view.participants[id]!);
    const removed = Object.keys(view.removedParticipants).sort();
    out.push(`<p class="final-roster">final roster: ${present.length} present${removed.length > 0 ? `, ${removed.length} removed` : ''}</p>`);
    if (present.length > 0) {
      const items = present.map((p) => {
        const flags = [p.isInLobby === true ? 'in lobby' : '', p.isMuted === true ? 'muted' : ''].filter((f) => f !== '');
        const name = participantName(p);
        return `<li><code>${esc(p.id)}</code>${name !== undefined ? ` ${esc(name)}` : ''}${flags.length > 0 ? ` <span class="flag">${esc(flags.join(', '))}</span>` : ''}</li>`;
      });
      out.push(`<ul class="participants">${items.join('')}</ul>`);
    }
  }
  out.push('</section>');
  return out.join('\n');
}

function timelineRow(row: TimelineRow, entry: LogEntry | undefined): string {
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
  return (
    `<tr${classes.length > 0 ? ` class="${classes.join(' ')}"` : ''}>` +
    `<td>${row.index + 1}</td><td>${row.position ?? '&ndash;'}</td><td>${esc(entry ? formatTime(entry.at) : '')}</td>` +
    `<td>${esc(row.kind)}</td><td>${esc(row.summary)}</td><td>${state}</td><td>${notes.join('<br>')}</td></tr>`
  );
}

type RosterEvent = Extract<CallEvent, { participant: ParticipantView }>;

const ROSTER_CHANGE: Record<RosterEvent['type'], string> = {
  participantJoined: 'joined',
  participantEnteredLobby: 'entered lobby',
  participantAdmitted: 'admitted',
  participantLeft: 'left',
  participantMuted: 'muted',
  participantUnmuted: 'unmuted',
};

function isRosterEvent(e: CallEvent): e is RosterEvent {
  return e.type in ROSTER_CHANGE;
}

/** The timeline's note for an event; state changes and stale entries have their own columns. */
function describeEvent(e: CallEvent): string | undefined {
  if (isRosterEvent(e)) {
    const name = participantName(e.participant);
    return `${ROSTER_CHANGE[e.type]}: ${e.participant.id}${name !== undefined ? ` (${name})` : ''}`;
  }
  switch (e.type) {
    case 'callCreated':
      return 'call created';
    case 'operationSettled':
      return `operation ${e.operation.id} ${String(e.operation.status ?? '?')}`;
    case 'toneReceived':
      return `tone ${e.tone.tone}`;
    case 'resyncNeeded':
      return `resync needed: ${e.reason}`;
    default:
      return undefined;
  }
}

/** Graph's `resultInfo` (code/subcode: message), completion reason and timeout of an operation. */
function operationResult(op: OperationView): string {
  const parts: string[] = [];
  const info = op['resultInfo'];
  if (isRecord(info)) {
    const code = [info['code'], info['subcode']].filter((c) => c !== undefined && c !== null).map(String).join('/');
    const message = typeof info['message'] === 'string' ? info['message'] : '';
    parts.push([code, message].filter((p) => p !== '').join(': '));
  }
  if (typeof op['completionReason'] === 'string') parts.push(op['completionReason']);
  if (op.timedOut === true) parts.push('timed out');
  return parts.filter((p) => p !== '').join('; ');
}

/** The display name in a participant's `info.identity` (user, application instance, phone, ...). */
function participantName(p: ParticipantView): string | undefined {
  const info = p['info'];
  const identity = isRecord(info) ? info['identity'] : undefined;
  if (!isRecord(identity)) return undefined;
  for (const value of Object.values(identity)) {
    if (isRecord(value) && typeof value['displayName'] === 'string' && value['displayName'] !== '') return value['displayName'];
  }
  return undefined;
}

/** Epoch milliseconds as ISO time; small numbers are the log's logical times (line numbers). */
function formatTime(at: number): string {
  if (at >= 1e12 && at < 1e14) return new Date(at).toISOString();
  return `t=${at}`;
}

function stateBadge(state: MachineState): string {
  return `<span class="state s-${mermaidStateId(state)}">${esc(state)}</span>`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const esc = escapeHtml;

/**
 * Escapes text for HTML element content and quoted attribute values: `& < > " '` become
 * character references, and control characters (other than tab and newline) become U+FFFD.
 */
export function escapeHtml(text: string): string {
  return text
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '\ufffd')
    .replace(/[&<>"']/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&#39;'));
}

const CSS = `
:root{color-scheme:light dark;--fg:#1d2330;--muted:#6b7280;--bg:#fff;--line:#d9dde5;--stale:#fff4d6;--dup:#f1f2f5;--changed:#eaf4ff}
@media (prefers-color-scheme:dark){:root{--fg:#e6e9ef;--muted:#9aa3b2;--bg:#14171c;--line:#323844;--stale:#3a3218;--dup:#22262d;--changed:#16283d}}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg);margin:0;padding:1.5rem 2rem}
h1{font-size:1.3rem;margin:0 0 .5rem}h1 .log{font-family:ui-monospace,Menlo,Consolas,monospace;font-weight:normal}
h2{font-size:1.1rem;margin:2rem 0 .5rem;border-top:1px solid var(--line);padding-top:1rem}h3{font-size:.95rem;margin:1.2rem 0 .4rem;color:var(--muted)}
code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.92em;overflow-wrap:anywhere}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.1rem 1rem;margin:.5rem 0 1rem}dl.facts dt{color:var(--muted)}dl.facts dd{margin:0}
table{border-collapse:collapse;width:100%;margin:.3rem 0}th,td{border-bottom:1px solid var(--line);padding:.25rem .5rem;text-align:left;vertical-align:top}
th{font-weight:600;color:var(--muted);font-size:.85rem}td{overflow-wrap:anywhere}
tr.changed{background:var(--changed)}tr.stale{background:var(--stale)}tr.duplicate{background:var(--dup);color:var(--muted);font-style:italic}
ol.path{list-style:none;display:flex;flex-wrap:wrap;gap:.3rem;padding:0;margin:.4rem 0}ol.path li+li::before{content:"\\2192";margin-right:.3rem;color:var(--muted)}
.state{display:inline-block;border:1px solid var(--line);border-radius:.7rem;padding:0 .5rem;font-size:.88em;white-space:nowrap}
.s-established{border-color:#2f9e44}.s-terminated{border-color:#868e96;font-weight:600}.s-hold{border-color:#f08c00}.s-transferring,.s-transferAccepted,.s-redirecting{border-color:#1c7ed6}
.badge{display:inline-block;border-radius:.3rem;padding:0 .35rem;font-size:.8em;font-style:normal;font-weight:600}
.badge.stale{background:#f59f00;color:#1d2330}.badge.dup{background:var(--line)}
.none{color:var(--muted)}.flag{color:var(--muted)}ul.notes,ul.participants{margin:.3rem 0;padding-left:1.2rem}
`.trim();
