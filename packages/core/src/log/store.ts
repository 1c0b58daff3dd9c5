import { ExpectedVersionConflictError, SwitchboardError } from '../errors/errors.js';
import type { LogEntry, StoredEntry } from './entries.js';
import type { CallSnapshot } from './snapshot.js';
import { ownKeysInOrder, withProperty } from '../util/object.js';

export interface AppendOptions {
  /**
   * The stream version (the position of its last entry, 0 for an empty stream) the writer
   * folded up to. When the stream has moved, the append throws `ExpectedVersionConflictError`
   * and writes nothing. Omit to append at whatever version the stream is.
   */
  readonly expectedVersion?: number;
}

export interface AppendResult {
  /** The entries written, with their positions, in the order given. */
  readonly appended: readonly StoredEntry[];
  /** Entries dropped because the stream already held their id (or the batch repeated it). */
  readonly duplicates: readonly LogEntry[];
  /** The stream version after the append. */
  readonly version: number;
}

export interface ReadOptions {
  /** Read only entries with a position greater than this. */
  readonly after?: number;
}

/**
 * The event store port: read a stream, append with an expected version, list streams.
 * Appends are atomic per call, dedup by entry id, and never reorder what arrived.
 * Snapshots are an optional cache kept beside the log.
 */
export interface EventStore {
  readStream(streamId: string, options?: ReadOptions): Promise<readonly StoredEntry[]>;
  appendToStream(streamId: string, entries: readonly LogEntry[], options?: AppendOptions): Promise<AppendResult>;
  listStreams(): Promise<readonly string[]>;
  /**
   * The live streams: those whose call has not ended, or ended (the `at` of the entry that
   * ended it, see `endsCall`) at or after `endedSince`. A store keeps this index in the same
   * transaction as the append, so a restart loads these and not the whole history. The engine
   * falls back to `listStreams` for a store without it.
   */
  listLiveStreams?(endedSince: number): Promise<readonly string[]>;
  readSnapshot?(streamId: string): Promise<CallSnapshot | undefined>;
  /**
   * Replaces the stream's snapshot, except that one further along (a higher position, same
   * machine version) is kept: writers folding the same call may write in any order.
   */
  writeSnapshot?(streamId: string, snapshot: CallSnapshot): Promise<void>;
  close?(): Promise<void>;
}

/** Checks an entry is fit to store; stores call this so every adapter rejects the same input. */
export function assertAppendable(streamId: string, entry: LogEntry): void {
  if (typeof entry !== 'object' || entry === null) {
    throw new SwitchboardError('SWB_INVALID_ENTRY', `stream ${streamId}: an entry must be an object`);
  }
  if (typeof entry.id !== 'string' || entry.id.length === 0) {
    throw new SwitchboardError('SWB_INVALID_ENTRY', `stream ${streamId}: entry.id must be a non-empty string`);
  }
  if (entry.callId !== streamId) {
    throw new SwitchboardError('SWB_INVALID_ENTRY', `stream ${streamId}: entry ${entry.id} belongs to call ${String(entry.callId)}`);
  }
  if (typeof entry.at !== 'number' || !Number.isFinite(entry.at)) {
    throw new SwitchboardError('SWB_INVALID_ENTRY', `stream ${streamId}: entry ${entry.id} needs a finite numeric 'at'`);
  }
}

/**
 * Partitions a batch into new entries and duplicates (ids already held, or repeated in the
 * batch). Shared by every store so that dedup means the same thing everywhere.
 */
export function splitDuplicates(entries: readonly LogEntry[], has: (id: string) => boolean): { fresh: LogEntry[]; duplicates: LogEntry[] } {
  const fresh: LogEntry[] = [];
  const duplicates: LogEntry[] = [];
  if (entries.length === 1) {
    // most deliveries hold one notification: nothing in the batch to repeat
    const entry = entries[0]!;
    (has(entry.id) ? duplicates : fresh).push(entry);
    return { fresh, duplicates };
  }
  const seen = new Set<string>();
  for (const entry of entries) {
    if (seen.has(entry.id) || has(entry.id)) duplicates.push(entry);
    else {
      seen.add(entry.id);
      fresh.push(entry);
    }
  }
  return { fresh, duplicates };
}

/** The empty list of an append result (frozen, shared). */
const NONE: readonly never[] = Object.freeze([]);

// A decoded notification's keys, in the order decodeNotifications creates them.
const NOTIFICATION_KEYS = ['kind', 'id', 'callId', 'at', 'changeType', 'resourceUrl', 'target', 'resourceData', 'messageId'];

/**
 * `{ ...entry, position }`. A notification shaped as decodeNotifications makes it (the store's
 * bulk) is built from a literal: one allocation of the final size, where a copy grows its
 * property storage as it goes; any other shape is copied.
 */
function storedEntry(entry: LogEntry, position: number): StoredEntry {
  if (entry.kind === 'notification') {
    const i = ownKeysInOrder(entry, NOTIFICATION_KEYS);
    const e = entry;
    if (i === 8) {
      return {
        kind: e.kind,
        id: e.id,
        callId: e.callId,
        at: e.at,
        changeType: e.changeType,
        resourceUrl: e.resourceUrl,
        target: e.target,
        resourceData: e.resourceData,
        position,
      };
    }
    if (i === 9) {
      return {
        kind: e.kind,
        id: e.id,
        callId: e.callId,
        at: e.at,
        changeType: e.changeType,
        resourceUrl: e.resourceUrl,
        target: e.target,
        resourceData: e.resourceData,
        messageId: e.messageId!,
        position,
      };
    }
  }
  return withProperty(entry, 'position', position) as StoredEntry;
}

interface MemoryStream {
  readonly entries: StoredEntry[];
  readonly ids: Set<string>;
}

/** Appends a fresh entry at the stream's next position and returns it as stored. */
function addTo(stream: MemoryStream, entry: LogEntry): StoredEntry {
  const stored = storedEntry(entry, stream.entries.length + 1);
  stream.entries.push(stored);
  stream.ids.add(entry.id);
  return stored;
}

/**
 * An event store in memory: the reference implementation of the contract, for tests,
 * replay and single-process bots that can afford to lose everything on exit.
 */
export class InMemoryEventStore implements EventStore {
  readonly #streams = new Map<string, MemoryStream>();
  readonly #snapshots = new Map<string, CallSnapshot>();
  /** The live index: when each ended stream's call ended. */
  readonly #endedAt = new Map<string, number>();
  readonly #endOf: ((entries: readonly LogEntry[]) => number | undefined) | undefined;

  /**
   * `endedAt` is the rule that says when a batch ends its call (core's `endedAtOf`; the log
   * sits below the machine that defines it, so it comes in as an argument). The engine's and
   * the runtime's default stores pass it; without it every stream stays live.
   */
  constructor(options: { readonly endedAt?: (entries: readonly LogEntry[]) => number | undefined } = {}) {
    this.#endOf = options.endedAt;
  }

  async readStream(streamId: string, options?: ReadOptions): Promise<readonly StoredEntry[]> {
    const stream = this.#streams.get(streamId);
    if (!stream) return [];
    const after = options?.after ?? 0;
    return after <= 0 ? stream.entries.slice() : stream.entries.slice(after);
  }

  async appendToStream(streamId: string, entries: readonly LogEntry[], options?: AppendOptions): Promise<AppendResult> {
    return this.appendSync(streamId, entries, options);
  }

  /** The same as `appendToStream`, without a promise (replay and benchmarks use it). */
  appendSync(streamId: string, entries: readonly LogEntry[], options?: AppendOptions): AppendResult {
    for (const entry of entries) assertAppendable(streamId, entry);
    let stream = this.#streams.get(streamId);
    const version = stream?.entries.length ?? 0;
    if (options?.expectedVersion !== undefined && options.expectedVersion !== version) {
      throw new ExpectedVersionConflictError(streamId, options.expectedVersion, version);
    }
    if (this.#endOf !== undefined && !this.#endedAt.has(streamId)) {
      const ended = this.#endOf(entries);
      if (ended !== undefined) this.#endedAt.set(streamId, ended);
    }
    const ids = stream?.ids;
    if (entries.length === 1 && stream !== undefined) {
      // one entry to a stream that exists (nearly every append): no partition to build
      const entry = entries[0]!;
      if (stream.ids.has(entry.id)) return { appended: NONE, duplicates: [entry], version };
      return { appended: [addTo(stream, entry)], duplicates: NONE, version: version + 1 };
    }
    const { fresh, duplicates } = splitDuplicates(entries, (id) => ids?.has(id) ?? false);
    if (fresh.length === 0) return { appended: NONE, duplicates, version };
    if (!stream) {
      stream = { entries: [], ids: new Set() };
      this.#streams.set(streamId, stream);
    }
    const appended: StoredEntry[] = [];
    for (const entry of fresh) appended.push(addTo(stream, entry));
    return { appended, duplicates, version: stream.entries.length };
  }

  async listStreams(): Promise<readonly string[]> {
    return [...this.#streams.keys()];
  }

  async listLiveStreams(endedSince: number): Promise<readonly string[]> {
    const live: string[] = [];
    for (const streamId of this.#streams.keys()) {
      const ended = this.#endedAt.get(streamId);
      if (ended === undefined || ended >= endedSince) live.push(streamId);
    }
    return live;
  }

  async readSnapshot(streamId: string): Promise<CallSnapshot | undefined> {
    return this.#snapshots.get(streamId);
  }

  /** Keeps the snapshot unless the one held is further along for the same machine version. */
  async writeSnapshot(streamId: string, snapshot: CallSnapshot): Promise<void> {
    this.writeSnapshotSync(streamId, snapshot);
  }

  /** The same as `writeSnapshot`, without a promise. */
  writeSnapshotSync(streamId: string, snapshot: CallSnapshot): void {
    const held = this.#snapshots.get(streamId);
    if (held && held.machineVersion === snapshot.machineVersion && held.position > snapshot.position) return;
    this.#snapshots.set(streamId, snapshot);
  }
}
