import { QUARANTINE_STREAM, type LogEntry, type QuarantinedEntry, type StoredEntry } from '../log/entries.js';
import type { RosterMode } from '../reconcile/context.js';
import type { MachineState, StaleEntry } from '../reconcile/context.js';
import type { CallEvent } from '../emit/events.js';
import { foldEntry, foldStateOf, startCall, type CallFoldState } from '../fold/fold.js';
import { foldEntryEmitting } from '../emit/diff.js';
import { repeatOf } from '../reconcile/repeats.js';
import { viewOf, type CallView } from '../project/view.js';
import { isObject } from '../util/graph.js';
import { seededRandom } from '../util/random.js';
import { withProperty } from '../util/object.js';

export interface TimelineRow {
  /** Index of the entry in the input. */
  readonly index: number;
  readonly callId: string;
  readonly entryId: string;
  readonly kind: LogEntry['kind'];
  readonly summary: string;
  /** True when the log already held this entry's id: dropped, nothing applied. */
  readonly duplicate: boolean;
  readonly position: number | null;
  readonly before: MachineState;
  readonly after: MachineState;
  /** What this entry left unapplied, and why. */
  readonly stale: readonly StaleEntry[];
  readonly events: readonly CallEvent[];
}

export interface ReplayResult {
  /** Every call's final projection, by call id, in order of first appearance. */
  readonly calls: { readonly [callId: string]: CallView };
  readonly timeline: readonly TimelineRow[];
  /** The quarantined notifications, in order (each once): in their calls' logs, or naming no call. */
  readonly quarantined: readonly QuarantinedEntry[];
}

export interface ReplayOptions {
  readonly rosterMode?: RosterMode;
  /** Build the per-entry timeline (default true); off, replay computes only the projections. */
  readonly timeline?: boolean;
}

/**
 * Replays log entries (an array, or any iterable: stream a large log through a generator),
 * in the order given, as the engine would have appended and folded them: an entry whose id a
 * call's log already holds dropped as a redelivery or appended as a repeat (`repeatOf`), each
 * call folded through the machine. Pure and
 * deterministic: the same entries give the same result, byte for byte.
 *
 * @example
 * ```ts
 * import { exchangeToEntries, parseExchangeLog, replay } from '@switchboard/core/replay';
 *
 * // `text`: an exchange log (JSON lines) as the runtime records it, or a fixture under
 * // test/fixtures/graph, read by the caller (core does no I/O)
 * const records = parseExchangeLog(text);
 * const { calls, timeline } = replay(exchangeToEntries(records));
 * for (const [callId, view] of Object.entries(calls)) console.log(callId, view.state, view.stale.length);
 * for (const row of timeline) console.log(row.index, row.summary, row.before, '->', row.after);
 * ```
 */
export function replay(entries: Iterable<LogEntry>, options: ReplayOptions = {}): ReplayResult {
  const streams = new Map<string, { ids: Set<string>; version: number; fold: CallFoldState }>();
  const timeline: TimelineRow[] = [];
  const withTimeline = options.timeline ?? true;
  const quarantined: QuarantinedEntry[] = [];
  const unrouted = new Set<string>();
  let index = -1;
  for (const entry of entries) {
    index++;
    if (entry.kind === 'quarantined' && entry.callId === QUARANTINE_STREAM) {
      // names no call: kept, reported, folded nowhere
      const duplicate = unrouted.has(entry.id);
      if (!duplicate) {
        unrouted.add(entry.id);
        quarantined.push(entry);
      }
      if (withTimeline) timeline.push(row(index, entry, duplicate, duplicate ? null : unrouted.size, 'pending', 'pending', [], []));
      continue;
    }
    let stream = streams.get(entry.callId);
    if (!stream) {
      const input = options.rosterMode ? { callId: entry.callId, rosterMode: options.rosterMode } : { callId: entry.callId };
      stream = { ids: new Set(), version: 0, fold: foldStateOf(startCall(input)) };
      streams.set(entry.callId, stream);
    }
    let fresh: LogEntry = entry;
    if (stream.ids.has(entry.id)) {
      // a redelivery (dropped), or a repeat of an earlier body (appended again): as the engine decides
      const repeat = repeatOf(stream.fold.context, entry, stream.version + 1);
      if (repeat === undefined) {
        if (withTimeline) {
          const state = stream.fold.value;
          timeline.push(row(index, entry, true, null, state, state, [], []));
        }
        continue;
      }
      fresh = repeat;
    }
    stream.ids.add(fresh.id);
    stream.version += 1;
    if (fresh.kind === 'quarantined') quarantined.push(fresh);
    const stored = withProperty(fresh, 'position', stream.version) as StoredEntry;
    if (!withTimeline) {
      foldEntry(stream.fold, stored);
      continue;
    }
    const before = stream.fold.value;
    const events: CallEvent[] = [];
    const staleBefore = stream.fold.context.stale.length;
    foldEntryEmitting(stream.fold, stored, events);
    const stale = stream.fold.context.stale.slice(staleBefore);
    timeline.push(row(index, fresh, false, stored.position, before, stream.fold.value, stale, events));
  }
  const calls: Record<string, CallView> = {};
  for (const [callId, stream] of streams) calls[callId] = viewOf(stream.fold);
  return { calls, timeline, quarantined };
}

function row(
  index: number,
  entry: LogEntry,
  duplicate: boolean,
  position: number | null,
  before: MachineState,
  after: MachineState,
  stale: readonly StaleEntry[],
  events: readonly CallEvent[],
): TimelineRow {
  return {
    index,
    callId: entry.callId,
    entryId: entry.id,
    kind: entry.kind,
    summary: summarize(entry),
    duplicate,
    position,
    before,
    after,
    stale,
    events,
  };
}

/** A one-line description of an entry for timelines. */
export function summarize(entry: LogEntry): string {
  switch (entry.kind) {
    case 'notification': {
      const data = entry.resourceData;
      const t = entry.target;
      if (t.type === 'call' && isObject(data)) {
        const parts = [`${entry.changeType} call`];
        if (typeof data['state'] === 'string') parts.push(`state=${data['state']}`);
        const tone = data['toneInfo'];
        if (isObject(tone)) parts.push(`tone=${String(tone['tone'])}#${String(tone['sequenceId'])}`);
        return parts.join(' ');
      }
      if (t.type === 'participants') return `${entry.changeType} roster (${Array.isArray(data) ? data.length : 1} participants)`;
      if (t.type === 'operation' && isObject(data))
        return `${entry.changeType} operation ${t.operationId ?? '?'} status=${String(data['status'])}`;
      if (t.type === 'unknown') return `${entry.changeType} unknown (${t.reason})`;
      return `${entry.changeType} ${t.type}`;
    }
    case 'command':
      return `command ${entry.command}`;
    case 'commandResult':
      return `${entry.command} -> ${entry.status ?? entry.outcome}`;
    case 'resync':
      return entry.call === null ? 'resync: call not found' : 'resync';
    case 'timer':
      return `timer ${entry.timer}`;
    case 'quarantined':
      return `quarantined (${entry.error.reason} at ${entry.error.path})`;
  }
}

export interface ScheduleOptions<T = unknown> {
  /** Seed for every random choice. */
  readonly seed: number;
  /** Permute the notifications (causally: see `deliverySchedule`). */
  readonly shuffle?: boolean;
  /** Probability (0..1) that a notification is delivered a second time, at a random later point. */
  readonly duplicate?: number;
  /**
   * Which items are the bot's own records, which no delivery moves. Default: log entries that
   * are not notifications (commands, command results, resyncs, timers).
   */
  readonly isBotRecord?: (item: T) => boolean;
}

/** A log entry that is not a notification: a record the bot wrote itself. */
export function isBotRecord(item: unknown): boolean {
  if (typeof item !== 'object' || item === null) return false;
  const kind = (item as { kind?: unknown }).kind;
  return typeof kind === 'string' && kind !== 'notification';
}

/**
 * A delivery schedule for the same entries: shuffled and/or with duplicates, from a seed.
 * Shows convergence: replaying any schedule of a log gives the same projection, outside
 * the cases Graph's data cannot order (see the README). Pure.
 *
 * Causal, as real delivery is: the bot's own records (commands and their results, resyncs,
 * timers) keep their places and their order, since a command is recorded before it is sent and
 * nothing it caused can arrive before it; a notification (and each duplicate of one) may move
 * anywhere after the last of them that preceded it.
 */
export function deliverySchedule<T>(entries: readonly T[], options: ScheduleOptions<T>): T[] {
  const random = seededRandom(options.seed);
  const isOwn: (item: T) => boolean = options.isBotRecord ?? isBotRecord;
  const rate = options.duplicate ?? 0;
  // For each notification: how many of the bot's records preceded it (the first slot it may take).
  const records: T[] = [];
  const notes: { item: T; after: number }[] = [];
  for (const item of entries) {
    if (isOwn(item)) records.push(item);
    else notes.push({ item, after: records.length });
  }
  if (records.length === 0) return freeSchedule(entries, options.shuffle === true, rate, random);
  const last = records.length;
  // slot k: after the bot's first k records; within a slot, by `order`
  const placed: { item: T; slot: number; order: number }[] = notes.map(({ item, after }, i) =>
    options.shuffle
      ? { item, slot: after + Math.floor(random() * (last - after + 1)), order: random() }
      : { item, slot: after, order: i / notes.length },
  );
  if (rate > 0) {
    for (const { item, after } of notes) {
      if (random() < rate) placed.push({ item, slot: after + Math.floor(random() * (last - after + 1)), order: random() });
    }
  }
  placed.sort((a, b) => a.slot - b.slot || a.order - b.order);
  const out: T[] = [];
  let next = 0;
  for (let slot = 0; slot <= last; slot++) {
    while (next < placed.length && placed[next]!.slot === slot) out.push(placed[next++]!.item);
    if (slot < last) out.push(records[slot]!);
  }
  return out;
}

/** A schedule of notifications alone: any permutation, duplicates anywhere. */
function freeSchedule<T>(entries: readonly T[], shuffle: boolean, rate: number, random: () => number): T[] {
  const out = entries.slice();
  if (shuffle) {
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
  }
  if (rate > 0) {
    const copies = out.filter(() => random() < rate);
    for (const copy of copies) out.splice(Math.floor(random() * (out.length + 1)), 0, copy);
  }
  return out;
}

/** A view as Graph-shaped JSON: collections as arrays ordered by id. */
export function callToJson(view: CallView): Record<string, unknown> {
  const byId = <V>(record: { readonly [id: string]: V }): V[] =>
    Object.keys(record)
      .sort()
      .map((id) => record[id]!);
  return {
    ...view,
    participants: byId(view.participants),
    operations: byId(view.operations),
    contentSharingSessions: byId(view.contentSharingSessions),
    audioRoutingGroups: byId(view.audioRoutingGroups),
    removedParticipants: Object.keys(view.removedParticipants).sort(),
  };
}
