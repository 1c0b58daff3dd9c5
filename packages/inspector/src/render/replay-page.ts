import type { LogEntry, ReplayResult, TimelineRow } from '../deps.js';
import { renderCallSection, stateBadge } from './call-page.js';
import { escapeHtml as esc } from './escape.js';
import { callPaths } from './path.js';
import { CSS } from './styles.js';

/** What the page says about the replay besides the result itself. */
export interface ReplayHtmlOptions {
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
 * A self-contained HTML page of a replay (`switchboard replay --html`): a header with the log
 * name, delivery and every call's id and final state, then each call's page as the live
 * console shows it ({@link renderCallSection}), with every row of its timeline.
 *
 * No scripts, no external resources: CSS is inline, and a Content-Security-Policy forbids
 * anything else. Every piece of text that comes from the log is HTML-escaped, since the log is
 * untrusted. Deterministic: the same result and options give the same bytes.
 */
export function renderReplayHtml(result: ReplayResult, options: ReplayHtmlOptions): string {
  const paths = callPaths(result);
  const entryOf = (row: TimelineRow) => options.entries?.[row.index];
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
  out.push(
    '<table class="calls"><thead><tr><th>call</th><th>final state</th><th>entries</th><th>stale</th><th>duplicates</th></tr></thead><tbody>',
  );
  paths.forEach((path, i) => {
    out.push(
      `<tr><td><a href="#call-${i + 1}"><code>${esc(path.callId)}</code></a></td><td>${stateBadge(path.final)}</td>` +
        `<td>${path.rows.length}</td><td>${path.staleCount}</td><td>${path.duplicateCount}</td></tr>`,
    );
  });
  out.push('</tbody></table>', '</header>', '<main>');
  paths.forEach((path, i) => {
    out.push(
      renderCallSection(
        { callId: path.callId, view: result.calls[path.callId], rows: path.rows, entryOf },
        { anchor: `call-${i + 1}`, heading: 'h2' },
      ),
    );
  });
  out.push('</main>', '</body>', '</html>', '');
  return out.join('\n');
}
