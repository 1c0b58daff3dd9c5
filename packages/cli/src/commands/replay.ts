import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { writeFile } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type LogEntry, type QuarantinedEntry, QUARANTINE_STREAM, SwitchboardError } from '@switchboard/core';
import {
  callToJson,
  deliverySchedule,
  exchangeEntries,
  isRepeatId,
  parseExchangeLine,
  replay,
  type ExchangeRecord,
  type ReplayResult,
  type TimelineRow,
} from '@switchboard/core/replay';
import { UsageError, type Output } from '../output.js';
import { renderHtml } from '../render/html.js';
import { renderMermaid } from '../render/mermaid.js';

export const REPLAY_HELP = `Usage: switchboard replay <log.jsonl | log.jsonl.gz> [options]

Replays an exchange log (requests, responses and notifications, one JSON object per line)
through the engine and prints the timeline: each entry, the call state before -> after, and
what was stale and why. The result is deterministic: the same log prints the same bytes.

Options:
  --json               print the final projection of every call (Graph's property names) as JSON
  --mermaid            print each call's path through the call state machine as a Mermaid
                       stateDiagram-v2 instead of the timeline: one diagram per call, each
                       starting at its own 'stateDiagram-v2' line, separated by a blank line
  --html <out.html>    also write a self-contained HTML page (no scripts, no external files) of
                       every call's timeline, state path, stale and duplicate entries, operations
                       and roster changes; stdout is unchanged; 'wrote <out.html>' goes to stderr
  --alt <label>        where the log has alternative outcomes ("alt" lines), replay this one
  --shuffle <seed>     deliver the entries in a shuffled order (seeded) to show convergence;
                       causal: the bot's own records (commands, results) stay in place and in
                       order, a notification moves anywhere after the last one before it
  --duplicate <rate>   deliver each notification again with this probability (0..1), seeded by
                       --shuffle or 1
  --progress           report progress on stderr about once a second (entries replayed, rate)
  --strict             stop at the first notification that does not decode (exit 3), instead
                       of reporting it and going on
  -h, --help           show this help

--json and --mermaid both replace the timeline on stdout: give at most one. --html combines with
either. --alt, --shuffle and --duplicate apply to every output: the diagram and the page show the
path the call took under that delivery (stale entries change no state; duplicates are dropped).

A log whose name ends in .gz is gunzipped first (the archive's day files are; see
'switchboard archive'). The log is read a line at a time. With --json alone (no --html, --shuffle or --duplicate) only
the calls' projections are held in memory, not the entries; the timeline, the diagram, the page
and a shuffled delivery hold every entry.

A notification that does not decode is quarantined, as the webhook stores it: each one is
reported on stderr ('record N: quarantined ...', with the JSON path and the reason) and the
replay goes on; it changes no call. --json lists them under "quarantined". A body the webhook
would refuse (not JSON, not a commsNotifications object, past the decode limits) still stops it.

Exit codes: 0 replayed; 2 bad usage; 3 the log could not be read or decoded (or, with --strict,
a notification did not decode), or the --html file could not be written.`;

export async function replayCommand(argv: readonly string[], out: Output): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      json: { type: 'boolean', default: false },
      mermaid: { type: 'boolean', default: false },
      html: { type: 'string' },
      alt: { type: 'string' },
      shuffle: { type: 'string' },
      duplicate: { type: 'string' },
      progress: { type: 'boolean', default: false },
      strict: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    out.stdout(REPLAY_HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('replay takes exactly one log file', REPLAY_HELP);
  if (values.json && values.mermaid) throw new UsageError('--json and --mermaid both replace the timeline: give one', REPLAY_HELP);
  const file = positionals[0]!;
  const html = values.html;
  if (html !== undefined) {
    if (html.trim() === '') throw new UsageError('--html takes the path of the page to write', REPLAY_HELP);
    if (resolve(html) === resolve(file)) throw new UsageError(`--html would overwrite the log ${file}`, REPLAY_HELP);
  }
  const seed = values.shuffle === undefined ? undefined : parseInteger(values.shuffle, '--shuffle');
  const duplicate = values.duplicate === undefined ? 0 : parseRate(values.duplicate);

  // the log's alternatives, filled in as the records are read
  const alts: string[] = [];
  // each quarantined notification, reported as it is read: by record, where, why
  const quarantined: { record: number; entry: QuarantinedEntry }[] = [];
  const onQuarantined = (entry: QuarantinedEntry, record: number) => {
    quarantined.push({ record, entry });
    const where = entry.callId === QUARANTINE_STREAM ? 'names no call' : `call ${entry.callId}`;
    out.stderr(`record ${record}: quarantined (${entry.error.reason}) ${entry.error.message} [${where}]`);
  };
  const read = exchangeEntries(readRecords(file), {
    ...(values.alt !== undefined ? { alt: values.alt } : {}),
    labels: alts,
    strict: values.strict,
    onQuarantined,
  });
  const source = values.progress ? reportProgress(read, out) : read;
  // only the projections, and in log order: nothing needs every entry at once
  const streaming = values.json && html === undefined && seed === undefined && duplicate === 0;
  let held: LogEntry[] = [];
  if (!streaming) {
    held = [...source];
    if (seed !== undefined || duplicate > 0) held = deliverySchedule(held, { seed: seed ?? 1, shuffle: seed !== undefined, duplicate });
  }
  const result = replay(streaming ? source : held, { timeline: !streaming });
  if (html !== undefined) {
    const delivery = [
      seed !== undefined ? `shuffled (seed ${seed})` : 'in log order',
      duplicate > 0 ? `duplicates ${duplicate} (seed ${seed ?? 1})` : '',
    ]
      .filter((d) => d !== '')
      .join(', ');
    const page = renderHtml(result, {
      logName: file,
      entries: held,
      alternatives: alts,
      ...(values.alt !== undefined ? { alt: values.alt } : {}),
      delivery,
    });
    try {
      await writeFile(html, page, 'utf8');
    } catch (error) {
      throw new SwitchboardError(
        'SWB_CLI_OUTPUT',
        `cannot write ${html}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
        { cause: error },
      );
    }
  }
  if (values.json) {
    const calls = Object.fromEntries(Object.entries(result.calls).map(([id, view]) => [id, callToJson(view)]));
    const report = quarantined.map(({ record, entry }) => ({
      record,
      callId: entry.callId === QUARANTINE_STREAM ? null : entry.callId,
      reason: entry.error.reason,
      path: entry.error.path,
      message: entry.error.message,
    }));
    out.stdout(JSON.stringify(report.length > 0 ? { calls, quarantined: report } : { calls }, null, 2));
  } else if (values.mermaid) {
    // stdout stays pure Mermaid; the note about alternatives goes to stderr.
    if (alts.length > 0) out.stderr(`alternatives in this log: ${alts.join(', ')} (replaying ${values.alt ?? alts[0]})`);
    out.stdout(renderMermaid(result));
  } else {
    if (alts.length > 0) out.stdout(`alternatives in this log: ${alts.join(', ')} (replaying ${values.alt ?? alts[0]})`);
    out.stdout(renderTimeline(result));
  }
  if (quarantined.length > 0) {
    out.stderr(
      `${quarantined.length} notification${quarantined.length === 1 ? '' : 's'} quarantined (not applied); --strict stops at the first`,
    );
  }
  if (html !== undefined) out.stderr(`wrote ${html}`);
  return 0;
}

/** The log's records, a line at a time (a log may be larger than memory allows as one string). */
function* readRecords(file: string): Generator<ExchangeRecord> {
  if (file.endsWith('.gz')) {
    yield* readGzippedRecords(file);
    return;
  }
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (error) {
    throw new SwitchboardError(
      'SWB_CLI_INPUT',
      `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      { cause: error },
    );
  }
  try {
    const decoder = new StringDecoder('utf8');
    const buffer = Buffer.allocUnsafe(1 << 20);
    let rest = '';
    let lineNumber = 0;
    for (;;) {
      let read: number;
      try {
        read = readSync(fd, buffer, 0, buffer.length, null);
      } catch (error) {
        throw new SwitchboardError(
          'SWB_CLI_INPUT',
          `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
          { cause: error },
        );
      }
      const text = rest + (read > 0 ? decoder.write(buffer.subarray(0, read)) : decoder.end());
      const lines = text.split('\n');
      rest = read > 0 ? lines.pop()! : '';
      for (const line of lines) {
        lineNumber++;
        const record = parseExchangeLine(line, lineNumber);
        if (record) yield record;
      }
      if (read === 0) return;
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * A gzipped log's records (an archive's day file: one gzip member per batch, which gunzip
 * reads as one stream). The file is decompressed whole, then read a slice at a time, so no
 * string holds all of it.
 */
function* readGzippedRecords(file: string): Generator<ExchangeRecord> {
  let bytes: Buffer;
  try {
    const compressed = readFileSync(file);
    bytes = compressed.length === 0 ? Buffer.alloc(0) : gunzipSync(compressed);
  } catch (error) {
    throw new SwitchboardError(
      'SWB_CLI_INPUT',
      `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      { cause: error },
    );
  }
  const decoder = new StringDecoder('utf8');
  let rest = '';
  let lineNumber = 0;
  const slice = 1 << 20;
  for (let at = 0; ; at += slice) {
    const done = at >= bytes.length;
    const text = rest + (done ? decoder.end() : decoder.write(bytes.subarray(at, at + slice)));
    const lines = text.split('\n');
    rest = done ? '' : lines.pop()!;
    for (const line of lines) {
      lineNumber++;
      const record = parseExchangeLine(line, lineNumber);
      if (record) yield record;
    }
    if (done) return;
  }
}

/** Passes entries through, telling stderr how far the replay is about once a second, and when it ends. */
function* reportProgress(entries: Iterable<LogEntry>, out: Output): Generator<LogEntry> {
  const started = performance.now();
  let next = started + 1_000;
  let count = 0;
  const line = () => {
    const seconds = (performance.now() - started) / 1000;
    return `replayed ${count.toLocaleString('en-US')} entries in ${seconds.toFixed(1)} s (${Math.round(count / Math.max(seconds, 1e-3)).toLocaleString('en-US')}/s)`;
  };
  for (const entry of entries) {
    yield entry;
    count++;
    if ((count & 1023) === 0 && performance.now() >= next) {
      out.stderr(line());
      next = performance.now() + 1_000;
    }
  }
  out.stderr(`${line()}, done`);
}

function parseInteger(value: string, flag: string): number {
  if (!/^\d+$/.test(value)) throw new UsageError(`${flag} takes a whole number, not '${value}'`, REPLAY_HELP);
  return Number(value);
}

function parseRate(value: string): number {
  const rate = Number(value);
  if (!Number.isFinite(rate) || rate < 0 || rate > 1)
    throw new UsageError(`--duplicate takes a probability from 0 to 1, not '${value}'`, REPLAY_HELP);
  return rate;
}

/** The timeline as text: one line an entry, then one line a call. */
export function renderTimeline(result: ReplayResult): string {
  const rows = result.timeline.map((row) => [
    String(row.index + 1),
    shortId(row.callId),
    row.summary,
    row.duplicate ? '(duplicate, dropped)' : row.before === row.after ? row.after : `${row.before} -> ${row.after}`,
    notes(row),
  ]);
  const header = ['#', 'call', 'entry', 'state', 'notes'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const lines = [line(header), ...rows.map(line), '', 'calls:'];
  const quarantinedIn = new Map<string, number>();
  for (const entry of result.quarantined) quarantinedIn.set(entry.callId, (quarantinedIn.get(entry.callId) ?? 0) + 1);
  for (const [id, view] of Object.entries(result.calls)) {
    const participants = Object.values(view.participants);
    const lobby = participants.filter((p) => p.isInLobby).length;
    const ops = Object.values(view.operations).map((o) => `${o.type ?? 'operation'}:${o.status ?? '?'}`);
    const parts = [
      `${view.graphId === id ? id : `${id} (Graph: ${view.graphId})`}  ${view.state}`,
      `participants ${participants.length}${lobby > 0 ? ` (${lobby} in lobby)` : ''}`,
      ops.length > 0 ? `operations ${ops.join(', ')}` : '',
      view.tones.length > 0 ? `tones ${view.tones.map((t) => t.tone).join(' ')}` : '',
      view.stale.length > 0 ? `stale ${view.stale.length}` : '',
      view.resyncNeeded ? `resync needed: ${view.resyncNeeded.reason}` : '',
      quarantinedIn.has(id) ? `quarantined ${quarantinedIn.get(id)}` : '',
    ].filter((p) => p !== '');
    lines.push(`  ${parts.join('; ')}`);
  }
  const unrouted = quarantinedIn.get(QUARANTINE_STREAM);
  if (unrouted !== undefined) lines.push(`  (no call)  quarantined ${unrouted}`);
  return lines.join('\n');
}

function notes(row: TimelineRow): string {
  const stale = row.stale.map((s) => `stale (${s.reason}: ${s.detail})`);
  if (isRepeatId(row.entryId)) stale.unshift('repeat of an earlier body');
  const events = row.events
    .filter((e) => (e.type !== 'stateChanged' || e.reason !== undefined) && e.type !== 'staleEntryIgnored')
    .map((e) => (e.type === 'stateChanged' ? `ended (${e.reason})` : e.type));
  return [...stale, ...events].join('; ');
}

function shortId(id: string): string {
  return id.length > 8 ? id.slice(0, 8) : id;
}
