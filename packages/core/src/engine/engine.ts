import { EventEmitter } from 'eventemitter3';
import { decodeDelivery, redecodeQuarantined, type DeliveryEntry } from '../decode/decode.js';
import { DecodeError, ExpectedVersionConflictError, SwitchboardError } from '../errors/errors.js';
import {
  QUARANTINE_STREAM,
  type CallState,
  type LogEntry,
  type NotificationEntry,
  type QuarantineError,
  type QuarantinedEntry,
  type StoredEntry,
} from '../log/entries.js';
import { InMemoryEventStore, type AppendResult, type EventStore } from '../log/store.js';
import type { RosterMode } from '../reconcile/context.js';
import type { CallEvent, CallEventType } from '../emit/events.js';
import { isContentId, repeatOf } from '../reconcile/repeats.js';
import { asMachineSnapshot, foldStateOf, startCall, type CallFoldState } from '../fold/fold.js';
import { restoreCallSnapshot, toCallSnapshot } from '../fold/snapshot.js';
import type { CallMachineSnapshot } from '../machine/public.js';
import { foldEntryEmitting } from '../emit/diff.js';
import { viewOf, type CallView } from '../project/view.js';
import { canonicalId } from '../util/ids.js';
import { checkEntry } from './validate.js';
import { DEFAULT_EVICTION_GRACE_MS, endedAtOf, isEvictable } from './eviction.js';

export interface EngineOptions {
  /** Where the log lives; an in-memory store when omitted. */
  readonly store?: EventStore;
  /** The time source for entries that arrive without one (ms since the epoch). Core reads no clock itself. */
  readonly clock: () => number;
  /** How roster notifications are read: Graph's default `full` roster, or `delta`. */
  readonly rosterMode?: RosterMode;
  /** Write a snapshot after this many entries since the last one (0: never). Default 64. */
  readonly snapshotEvery?: number;
  /** How many times an append retries after another writer moved the stream. Default 8. */
  readonly maxAppendRetries?: number;
  /**
   * Whether an entry for a call this engine does not hold loads the call, to fold it and emit
   * its events. Default true: one engine holds every call it hears of. False for an engine
   * that shares its store with others and holds only some calls (the runtime's owner-only
   * mode): the entry is then persisted without reading or folding the call, and the engine
   * that holds it learns of it from the store (`refresh`). See `holds`.
   */
  readonly loadOnAppend?: boolean;
  /**
   * How long an ended call stays in memory after it last changed, and how long after its end
   * `hydrate` still loads it (ms). Default `DEFAULT_EVICTION_GRACE_MS` (5 minutes). Eviction
   * runs when `evictEnded()` is called (the runtime calls it on a timer).
   */
  readonly evictAfterMs?: number;
}

/** A call left the engine's memory (`evictEnded`); its log and snapshot stay in the store. */
export interface EvictedEvent {
  readonly type: 'evicted';
  readonly callId: string;
}

export interface IngestMeta {
  /** When the delivery was received (ms); the engine's clock when omitted. */
  readonly receivedAt?: number;
  /** The delivery's message id, when the transport has one. */
  readonly messageId?: string;
}

export interface IngestResult {
  /** Notifications in the body. */
  readonly received: number;
  /** Entries written to the log. */
  readonly appended: number;
  /** Entries the log already held (redeliveries), dropped. */
  readonly duplicates: number;
  /** The calls the body touched, in order of first appearance (`QUARANTINE_STREAM` is not a call). */
  readonly callIds: readonly string[];
  readonly events: readonly CallEvent[];
  /** The notifications of the body that did not decode and were quarantined (newly stored ones and redeliveries alike). */
  readonly quarantined: number;
  /** The calls whose streams this ingest began (it wrote their first entry): who heard a new call first. */
  readonly newCalls: readonly string[];
}

/**
 * A notification that did not decode was stored as a quarantined entry (by the engine that
 * stored it, once; a redelivery of it is not reported again).
 */
export interface UndecodableEvent {
  readonly type: 'undecodable';
  /** The call the notification names, or null when it names none (the entry is in `QUARANTINE_STREAM`). */
  readonly callId: string | null;
  /** The stored entry: the notification as received, its position in its stream. */
  readonly entry: QuarantinedEntry & { readonly position: number };
  readonly error: QuarantineError;
}

/** What `redecode` did. */
export interface RedecodeResult {
  /** Quarantined entries read. */
  readonly examined: number;
  /** Notifications that decode now and were appended to their calls. */
  readonly redecoded: number;
  /** Ones that decode now and whose call already held them (an earlier `redecode`, or a redelivery after the upgrade). */
  readonly alreadyApplied: number;
  /** The ones that still do not decode, with the error that stands now. */
  readonly stillUndecodable: readonly { readonly entry: QuarantinedEntry; readonly error: QuarantineError }[];
  /** The calls that received notifications, in order. */
  readonly callIds: readonly string[];
}

/** What `refresh` is told by the store's announcement. */
export interface RefreshOptions {
  /** The version the store said the stream reached: a call folded that far is not read again. */
  readonly version?: number;
  /** Only if this engine still holds the call when the refresh's turn comes. */
  readonly ifHeld?: boolean;
  /**
   * The entries the announcement carried (see core's `AppendListener`), decoded only if the
   * call is behind when its turn comes. When they follow on from the folded version they are
   * folded without reading the stream; a gap, or entries that cannot be decoded, reads it.
   */
  readonly carried?: () => readonly StoredEntry[] | undefined;
}

/** The engine's events: one channel per event type, plus `event` for all of them, and `undecodable`. */
export type EngineEvents = { [K in CallEventType]: [Extract<CallEvent, { type: K }>] } & {
  event: [CallEvent];
  undecodable: [UndecodableEvent];
  /**
   * `refresh` (or an append that caught up after a version conflict) folded a quarantined
   * entry another writer stored (that writer's engine emitted `undecodable` for it): the engine
   * holding the call hears of it here, to act on it (the runtime resyncs a call it owns),
   * without the event being reported twice.
   */
  foldedUndecodable: [UndecodableEvent];
  evicted: [EvictedEvent];
};

/** An entry to record: the engine fills in `callId` and, when absent, `at`. */
export type NewEntry = LogEntry extends infer E
  ? E extends LogEntry
    ? Omit<E, 'callId' | 'at'> & { readonly at?: number }
    : never
  : never;

interface CallState$ {
  /** The machine state and context folded so far (the holder is updated by each fold; a context is never changed). */
  fold: CallFoldState;
  version: number;
  snapshotAt: number;
  /** The clock when this engine last folded new entries of the call (or loaded it). */
  touchedAt: number;
}

export interface SnapshotOptions {
  /** Only calls this engine has folded nothing new into for at least this long (by its clock). */
  readonly quietForMs?: number;
  /** Only these calls (default: every call the engine holds). */
  readonly callIds?: Iterable<string>;
}

/**
 * The engine: decodes deliveries, appends them to the log (persist first), folds each call
 * through the call machine and emits typed events. It holds the calls it has seen in memory
 * until they have ended and gone quiet (`evictEnded`); the store is the source of truth, and
 * `load` / `hydrate` rebuild from it.
 *
 * The engine is not a network component: the transport hands it bodies, the runtime hands it
 * commands, results, resyncs and timers to record.
 */
export class Engine extends EventEmitter<EngineEvents> {
  readonly store: EventStore;
  readonly #clock: () => number;
  readonly #rosterMode: RosterMode;
  readonly #snapshotEvery: number;
  readonly #maxRetries: number;
  readonly #loadOnAppend: boolean;
  readonly #evictAfterMs: number;
  readonly #calls = new Map<string, CallState$>();
  readonly #locks = new Map<string, Promise<unknown>>();

  constructor(options: EngineOptions) {
    super();
    if (typeof options?.clock !== 'function') {
      throw new SwitchboardError('SWB_INVALID_ARGUMENT', 'createEngine needs a clock: () => number (e.g. Date.now)');
    }
    this.store = options.store ?? new InMemoryEventStore({ endedAt: endedAtOf });
    this.#clock = options.clock;
    this.#rosterMode = options.rosterMode ?? 'full';
    this.#snapshotEvery = options.snapshotEvery ?? 64;
    this.#maxRetries = options.maxAppendRetries ?? 8;
    this.#loadOnAppend = options.loadOnAppend ?? true;
    const grace = options.evictAfterMs ?? DEFAULT_EVICTION_GRACE_MS;
    if (!(grace >= 0)) {
      throw new SwitchboardError('SWB_INVALID_ARGUMENT', `evictAfterMs must be a number >= 0, got ${String(options.evictAfterMs)}`);
    }
    this.#evictAfterMs = grace;
  }

  /**
   * Decodes a `commsNotifications` body and appends each notification to its call's log,
   * then folds and emits. Resolves only once every entry is persisted, so a webhook may
   * answer 202 after it. A notification that does not decode is stored as a quarantined
   * entry (its call's stream, or `QUARANTINE_STREAM` when it names no call) and reported as
   * `undecodable`; the rest of the delivery is applied. A body that cannot be a delivery or
   * cannot be stored (see `decodeDelivery`) throws `DecodeError` and changes nothing.
   */
  ingest(body: unknown, meta?: IngestMeta): Promise<IngestResult> {
    // Not an async function: where the call's append needs no turn (see #appendNow) the result
    // is ready now, and an async function's frame would be allocated for nothing.
    let entries: DeliveryEntry[];
    try {
      const receivedAt = meta?.receivedAt ?? this.#clock();
      const messageId = meta?.messageId;
      entries = decodeDelivery(body, messageId !== undefined ? { receivedAt, messageId } : { receivedAt });
      if (entries.length > 0 && oneCall(entries)) {
        // one call (nearly every delivery): no grouping, and its events are the result's
        const callId = entries[0]!.callId;
        const received = entries.length;
        const quarantined = countQuarantined(entries);
        const outcome = this.#append(callId, entries);
        return outcome instanceof Promise
          ? outcome.then((o) => this.#ingested(received, [callId], o, quarantined))
          : Promise.resolve(this.#ingested(received, [callId], outcome, quarantined));
      }
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#ingestSeveral(entries);
  }

  /** `ingest` of a batch naming several calls (or none): each call's entries appended to its stream. */
  async #ingestSeveral(entries: readonly DeliveryEntry[]): Promise<IngestResult> {
    const byCall = new Map<string, DeliveryEntry[]>();
    for (const entry of entries) {
      const list = byCall.get(entry.callId);
      if (list) list.push(entry);
      else byCall.set(entry.callId, [entry]);
    }
    const results = await Promise.all([...byCall].map(([callId, list]) => this.#append(callId, list)));
    let appended = 0;
    let duplicates = 0;
    const events: CallEvent[] = [];
    const stored: StoredEntry[] = [];
    const newCalls: string[] = [];
    const ids = [...byCall.keys()];
    for (const [i, r] of results.entries()) {
      appended += r.appended;
      duplicates += r.duplicates;
      events.push(...r.events);
      if (r.quarantined) stored.push(...r.quarantined);
      if (r.began && ids[i] !== QUARANTINE_STREAM) newCalls.push(ids[i]!);
    }
    this.#emitUndecodable(stored);
    const callIds = ids.filter((id) => id !== QUARANTINE_STREAM);
    return { received: entries.length, appended, duplicates, callIds, events, quarantined: countQuarantined(entries), newCalls };
  }

  /** The result of an ingest into one stream, after its quarantined entries are reported. */
  #ingested(received: number, callIds: readonly string[], outcome: AppendOutcome, quarantined: number): IngestResult {
    if (outcome.quarantined) this.#emitUndecodable(outcome.quarantined);
    const calls = callIds[0] === QUARANTINE_STREAM ? [] : callIds;
    return {
      received,
      appended: outcome.appended,
      duplicates: outcome.duplicates,
      callIds: calls,
      events: outcome.events,
      quarantined,
      newCalls: outcome.began && calls.length > 0 ? calls : NO_CALLS,
    };
  }

  #emitUndecodable(stored: readonly StoredEntry[]): void {
    for (const entry of stored) if (entry.kind === 'quarantined') this.emit('undecodable', undecodableOf(entry));
  }

  /**
   * Decodes every quarantined entry again, with this version's rules (after an upgrade that
   * understands more), and appends each notification that decodes now to its call's stream,
   * where it is folded and its events emitted, as a late delivery would be. Idempotent: a
   * call that already holds the notification's id (an earlier run, or Graph's redelivery)
   * gets nothing, so a second run adds nothing. The quarantined entries stay in the log as
   * they were (the log is append-only). `callIds` limits the streams read (the quarantine
   * stream is read unless `callIds` is given without it).
   */
  async redecode(options: { readonly callIds?: Iterable<string> } = {}): Promise<RedecodeResult> {
    const streams = options.callIds === undefined ? await this.store.listStreams() : [...options.callIds].map(streamIdOf);
    const byCall = new Map<string, NotificationEntry[]>();
    const stillUndecodable: { entry: QuarantinedEntry; error: QuarantineError }[] = [];
    let examined = 0;
    for (const streamId of streams) {
      for (const entry of await this.store.readStream(streamId)) {
        if (entry.kind !== 'quarantined') continue;
        examined++;
        let decoded: NotificationEntry;
        try {
          decoded = redecodeQuarantined(entry);
        } catch (error) {
          if (!(error instanceof DecodeError)) throw error;
          stillUndecodable.push({ entry, error: { code: 'SWB_DECODE', reason: error.reason, path: error.path, message: error.message } });
          continue;
        }
        const list = byCall.get(decoded.callId);
        if (list) list.push(decoded);
        else byCall.set(decoded.callId, [decoded]);
      }
    }
    let redecoded = 0;
    let alreadyApplied = 0;
    const callIds: string[] = [];
    for (const [callId, decoded] of byCall) {
      const held = new Set((await this.store.readStream(callId)).map((e) => e.id));
      const fresh = decoded.filter((e) => {
        if (held.has(e.id)) return false;
        held.add(e.id);
        return true;
      });
      alreadyApplied += decoded.length - fresh.length;
      if (fresh.length === 0) continue;
      const outcome = await this.#append(callId, fresh);
      redecoded += outcome.appended;
      alreadyApplied += outcome.duplicates;
      callIds.push(callId);
    }
    return { examined, redecoded, alreadyApplied, stillUndecodable, callIds };
  }

  /**
   * Records a command, command result, resync or timer for a call (notifications come through
   * `ingest`). The entry is validated, appended and folded; resolves when it is persisted.
   */
  async record(callId: string, entry: NewEntry): Promise<IngestResult> {
    if (typeof callId !== 'string' || callId.length === 0) {
      throw new SwitchboardError('SWB_INVALID_ARGUMENT', 'record needs a call id');
    }
    if (callId === QUARANTINE_STREAM) {
      throw new SwitchboardError('SWB_INVALID_ARGUMENT', `'${QUARANTINE_STREAM}' holds quarantined notifications, not a call`);
    }
    const key = canonicalId(callId); // any spelling of the call's id finds its stream
    const full = { ...entry, callId: key, at: entry.at ?? this.#clock() } as LogEntry;
    checkEntry(full);
    const outcome = await this.#append(key, [full]);
    return {
      received: 1,
      appended: outcome.appended,
      duplicates: outcome.duplicates,
      callIds: [key],
      events: outcome.events,
      quarantined: 0,
      newCalls: outcome.began ? [key] : NO_CALLS,
    };
  }

  /**
   * The current view of a call this engine holds, or undefined. Synchronous: a call that is not
   * in memory (never seen here, or ended and evicted) is undefined; `load` reads it from the
   * store on demand (from its snapshot, not its whole stream).
   */
  getCall(callId: string): CallView | undefined {
    const state = this.#calls.get(canonicalId(callId));
    return state ? viewOf(state.fold) : undefined;
  }

  /** Whether this engine holds the call in memory (it folds what is appended to it and emits its events). */
  holds(callId: string): boolean {
    return this.#calls.has(canonicalId(callId));
  }

  /** Every call this engine holds. */
  calls(): CallView[] {
    return [...this.#calls.values()].map((s) => viewOf(s.fold));
  }

  /** The machine snapshot of a call (for inspection and tests), built from its state and context on each call. */
  machineSnapshot(callId: string): CallMachineSnapshot | undefined {
    const state = this.#calls.get(canonicalId(callId));
    return state ? asMachineSnapshot(state.fold) : undefined;
  }

  /**
   * Brings a call up to date with its log: from a trusted snapshot plus the tail when there
   * is one, else a full replay. Resolves to its view, or undefined for an empty stream.
   * For a call this engine already holds, what another writer appended meanwhile is news and
   * its events are emitted (as `refresh` emits them); loading a call it did not hold emits
   * nothing (its history is not news).
   */
  async load(id: string): Promise<CallView | undefined> {
    const callId = canonicalId(id);
    if (callId === QUARANTINE_STREAM) return undefined;
    const events: CallEvent[] = [];
    const view = await this.#withLock(callId, async () => {
      const state = await this.#catchUp(callId, events);
      return state.version === 0 ? undefined : viewOf(state.fold);
    });
    this.#emitAll(events);
    return view;
  }

  /**
   * Folds what another writer appended to a call's stream since this engine last saw it, and
   * emits the events it caused (as `ingest` would have). For several instances sharing one
   * store: call it when the store says the stream moved. Resolves to the events.
   * `version`, when the store said which version the stream reached: a call this engine has
   * already folded that far is not read again (the announcement of its own append, or one
   * heard twice). `ifHeld`: only if this engine still holds the call when the refresh's turn
   * comes (an engine that holds only some calls: one it dropped meanwhile stays dropped).
   * `carried`: the entries the announcement carried, folded without a read when they follow on
   * from what this engine holds. A quarantined entry folded here (another writer stored it) is
   * emitted as `foldedUndecodable`.
   */
  async refresh(id: string, options: RefreshOptions = {}): Promise<readonly CallEvent[]> {
    const callId = canonicalId(id);
    if (callId === QUARANTINE_STREAM) return [];
    const known = this.#calls.get(callId)?.version;
    if (known !== undefined && options.version !== undefined && known >= options.version) return [];
    let quarantined: StoredEntry[] | undefined;
    const events = await this.#withLock(callId, async () => {
      // (held when asked, and forgotten, or only lent to a decision, by the time its turn came)
      if (options.ifHeld && !this.#calls.has(callId)) return [];
      const held = this.#calls.get(callId);
      const before = held?.version ?? 0;
      if (held && options.version !== undefined && before >= options.version) return [];
      const found: CallEvent[] = [];
      // what the announcement carried, when it follows on from what is folded: no read
      const carried = held && options.carried ? followOn(options.carried(), before) : undefined;
      let state: CallState$;
      if (carried) {
        state = held!;
        this.#fold(state, carried, found);
        quarantined = quarantinedOf(carried);
      } else {
        state = await this.#catchUp(callId, found, 'report', (tail) => {
          quarantined = quarantinedOf(tail);
        });
      }
      if (state.version > before) {
        state.touchedAt = this.#clock();
        if (this.#snapshotDue(state)) await this.#writeSnapshot(callId, state);
      }
      return found;
    });
    this.#emitAll(events);
    this.#emitFoldedUndecodable(quarantined);
    return events;
  }

  #emitFoldedUndecodable(entries: readonly StoredEntry[] | undefined): void {
    if (entries) for (const entry of entries) if (entry.kind === 'quarantined') this.emit('foldedUndecodable', undecodableOf(entry));
  }

  /** Emits the events of what was folded before a failure, then throws the failure. */
  #failAfterFold(events: readonly CallEvent[], error: unknown): never {
    this.#emitAll(events);
    throw error;
  }

  /** Each event under its own name and as `event`, in order. */
  #emitAll(events: readonly CallEvent[]): void {
    for (const event of events) {
      this.emit(event.type, event as never);
      this.emit('event', event);
    }
  }

  /**
   * Writes a snapshot of every held call whose folded position is past its last snapshot
   * (optionally only the calls quiet for `quietForMs`, or only `callIds`), so a restart
   * restores them without replaying their tails. The engine also snapshots a call every
   * `snapshotEvery` entries on its own; this is for the moments a bot knows are cheap and
   * useful: a call that went quiet, and shutdown. Resolves to the number written. A store
   * without snapshots writes none.
   */
  async snapshot(options: SnapshotOptions = {}): Promise<number> {
    if (this.store.writeSnapshot === undefined) return 0;
    const quietForMs = options.quietForMs;
    if (quietForMs !== undefined && !(quietForMs >= 0)) {
      throw new SwitchboardError('SWB_INVALID_ARGUMENT', `quietForMs must be a number >= 0, got ${String(quietForMs)}`);
    }
    const ids = options.callIds === undefined ? [...this.#calls.keys()] : [...options.callIds].map(canonicalId);
    const now = this.#clock();
    const due = (state: CallState$ | undefined): state is CallState$ =>
      state !== undefined && state.version > state.snapshotAt && (quietForMs === undefined || now - state.touchedAt >= quietForMs);
    const work: Promise<boolean>[] = [];
    for (const callId of ids) {
      if (!due(this.#calls.get(callId))) continue;
      work.push(
        this.#withLock(callId, async () => {
          const state = this.#calls.get(callId); // it may have moved, or been forgotten, meanwhile
          if (!due(state)) return false;
          await this.#writeSnapshot(callId, state);
          return true;
        }),
      );
    }
    return (await Promise.all(work)).filter(Boolean).length;
  }

  /**
   * Loads the live calls (after a restart): those not ended, or ended within `evictAfterMs`,
   * by the store's live index (`listLiveStreams`); every stream for a store without one.
   * Resolves to the number of calls loaded.
   */
  async hydrate(): Promise<number> {
    const store = this.store;
    const listed =
      typeof store.listLiveStreams === 'function'
        ? await store.listLiveStreams(this.#clock() - this.#evictAfterMs)
        : await store.listStreams();
    const ids = listed.filter((id) => id !== QUARANTINE_STREAM);
    await Promise.all(ids.map((id) => this.load(id)));
    return ids.length;
  }

  /**
   * Drops a call from memory (its log stays): now, and again once the operations on it in
   * flight (an append, a load) have finished, since they would hold it again.
   */
  forget(callId: string): void {
    const key = canonicalId(callId);
    this.#calls.delete(key);
    const inFlight = this.#locks.get(key);
    if (inFlight) void inFlight.then(() => this.#calls.delete(key));
  }

  /**
   * Drops from memory every call that has ended and folded nothing new (nor was loaded) for
   * `evictAfterMs`, by the engine's clock, after writing its snapshot if the last one is
   * behind: a late notification for it is then folded onto that snapshot (and reported stale
   * as it would have been in memory) without reading its stream, and `load` brings it back.
   * Emits `evicted` for each. A call with an operation in flight waits for the next run.
   * Resolves to the number evicted.
   */
  async evictEnded(): Promise<number> {
    const now = this.#clock();
    const grace = this.#evictAfterMs;
    const due = (state: CallState$ | undefined): state is CallState$ =>
      state !== undefined && isEvictable(state.fold.value, state.touchedAt, now, grace);
    const work: Promise<boolean>[] = [];
    for (const [callId, state] of this.#calls) {
      if (!due(state) || this.#locks.has(callId)) continue;
      work.push(
        this.#withLock(callId, async () => {
          const held = this.#calls.get(callId);
          if (!due(held)) return false; // it moved, or was forgotten, meanwhile
          if (held.version > held.snapshotAt && this.store.writeSnapshot !== undefined) await this.#writeSnapshot(callId, held);
          if (this.#calls.get(callId) !== held) return false;
          this.#calls.delete(callId);
          return true;
        }).then((evicted) => {
          if (evicted) this.emit('evicted', { type: 'evicted', callId });
          return evicted;
        }),
      );
    }
    return (await Promise.all(work)).filter(Boolean).length;
  }

  /**
   * Appends and folds, an entry at a time in arrival order: the outcome itself where
   * `#appendNow` could, else a promise of it (the locked path). An entry the log already holds
   * is a redelivery (dropped) or a repeat (appended under a repeat's id), as `repeatOf` decides
   * from the fold as it stands when the entry's turn comes: what `replay` decides too.
   */
  #append(callId: string, entries: readonly LogEntry[]): AppendOutcome | Promise<AppendOutcome> {
    if (callId === QUARANTINE_STREAM) return this.#appendQuarantine(entries);
    return (
      this.#appendNow(callId, entries) ??
      this.#withLock(callId, () =>
        this.#loadOnAppend || this.#calls.has(callId) ? this.#appendHeld(callId, entries, true) : this.#persist(callId, entries),
      )
    );
  }

  /**
   * `#append` under the call's lock, folding: loads the call when this engine does not hold
   * it. `emit` false folds for a decision only (`#persist`'s repeats): nothing is emitted.
   */
  async #appendHeld(callId: string, entries: readonly LogEntry[], emit: boolean): Promise<AppendOutcome> {
    // Append straight at the version this engine folded to; only a conflict (another
    // writer moved the stream) costs a read of the tail.
    // What another writer appended, folded in on a conflict: its events come first, then the
    // append's. What was folded is emitted even when a later step fails: the view has moved.
    const events: CallEvent[] = [];
    let appended = 0;
    let duplicates = 0;
    let began = false;
    let quarantined: StoredEntry[] | undefined;
    // quarantined entries of another writer's, folded on a conflict (reported as `refresh` reports them)
    let theirs: StoredEntry[] | undefined;
    const heard = (tail: readonly StoredEntry[]) => {
      theirs = quarantinedOf(tail, theirs);
    };
    try {
      let state = this.#calls.get(callId) ?? (await this.#catchUp(callId, events));
      for (let i = 0; i < entries.length; i++) {
        const original = entries[i]!;
        let entry = original;
        for (let attempt = 0; ; ) {
          let result: AppendResult;
          try {
            const appending = this.#appendToStore(callId, entry === original && entries.length === 1 ? entries : [entry], state.version);
            result = appending instanceof Promise ? await appending : appending;
          } catch (error) {
            if (!(error instanceof ExpectedVersionConflictError) || attempt++ >= this.#maxRetries) throw error;
            state = await this.#catchUp(callId, events, 'silent', heard);
            entry = original; // decided again, from the fold as it now stands
            continue;
          }
          if (result.appended.length === 0) {
            if (result.version !== state.version) {
              if (attempt++ >= this.#maxRetries) throw new ExpectedVersionConflictError(callId, state.version, result.version);
              state = await this.#catchUp(callId, events, 'silent', heard);
              entry = original;
              continue;
            }
            const repeat = entry === original ? repeatOf(state.fold.context, entry, state.version + 1) : undefined;
            if (repeat === undefined) {
              duplicates++;
              break;
            }
            entry = repeat;
            continue;
          }
          if (result.appended[0]!.position === 1) began = true;
          this.#fold(state, result.appended, events);
          quarantined = quarantinedOf(result.appended, quarantined);
          if (result.version !== state.version) state = await this.#catchUp(callId, events, 'silent', heard);
          appended++;
          break;
        }
      }
      if (appended > 0) state.touchedAt = this.#clock();
      if (this.#snapshotDue(state)) await this.#writeSnapshot(callId, state);
    } catch (error) {
      if (!emit) throw error;
      this.#emitFoldedUndecodable(theirs);
      this.#failAfterFold(events, error);
    }
    if (!emit) return { appended, duplicates, events: [], quarantined, began };
    this.#emitAll(events);
    this.#emitFoldedUndecodable(theirs);
    return { appended, duplicates, events, quarantined, began };
  }

  /**
   * `#append` for a call this engine does not hold (with `loadOnAppend: false`), under its
   * lock: persists each entry, in arrival order, without reading or folding the call. The
   * store drops an id it holds, which is all a redelivery needs. The one decision that needs
   * the fold is whether a body the log already holds is a redelivery or a repeat (A, B, A:
   * see `repeatOf`): for such an entry only, the call is loaded, the decision taken and the
   * entry appended at the version it was taken at (as the engine that holds the call would),
   * and the call dropped again. Nothing is emitted: the engine holding the call emits.
   */
  async #persist(callId: string, entries: readonly LogEntry[]): Promise<AppendOutcome> {
    let appended = 0;
    let duplicates = 0;
    let began = false;
    let quarantined: StoredEntry[] | undefined;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      const result = await this.store.appendToStream(callId, entries.length === 1 ? entries : [entry]);
      if (result.appended.length > 0) {
        if (result.appended[0]!.position === 1) began = true;
        quarantined = quarantinedOf(result.appended, quarantined);
        appended++;
        continue;
      }
      if (entry.kind !== 'notification' || !isContentId(entry.id)) {
        duplicates++;
        continue;
      }
      try {
        const decided = await this.#appendHeld(callId, [entry], false);
        appended += decided.appended;
        duplicates += decided.duplicates;
        if (decided.quarantined) quarantined = quarantinedOf(decided.quarantined, quarantined);
      } finally {
        this.#calls.delete(callId);
      }
    }
    return { appended, duplicates, events: [], quarantined, began };
  }

  /**
   * Appends to `QUARANTINE_STREAM`: notifications that name no call. Nothing is folded (it is
   * not a call), so no version is expected and no lock is held.
   */
  async #appendQuarantine(entries: readonly LogEntry[]): Promise<AppendOutcome> {
    const store = this.store;
    const result = isPlainMemoryStore(store)
      ? store.appendSync(QUARANTINE_STREAM, entries)
      : await store.appendToStream(QUARANTINE_STREAM, entries);
    return {
      appended: result.appended.length,
      duplicates: result.duplicates.length,
      events: [],
      quarantined: quarantinedOf(result.appended),
    };
  }

  /**
   * `#append` without a turn of the event loop, where one is not needed: the store appends
   * (and snapshots) synchronously (the in-memory store), no other operation on the call is in
   * flight (no lock) and the call is loaded. Runs to completion before anything else can
   * touch the call, so it needs no lock. Undefined where any of that does not hold (or another
   * writer moved the stream): the caller takes the locked path, and nothing was written.
   */
  #appendNow(callId: string, entries: readonly LogEntry[]): AppendOutcome | undefined {
    const store = this.store;
    if (!isPlainMemoryStore(store)) return undefined;
    const state = this.#calls.get(callId);
    if (state === undefined || this.#locks.has(callId)) return undefined;
    const events: CallEvent[] = [];
    let appended = 0;
    let duplicates = 0;
    let began = false;
    let quarantined: StoredEntry[] | undefined;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      let result: AppendResult;
      try {
        // one entry at a time (nearly every delivery holds one: its own array, no copy)
        result = store.appendSync(callId, entries.length === 1 ? entries : [entry], { expectedVersion: state.version });
      } catch (error) {
        // another writer moved the stream: only before the first entry (this runs to completion)
        if (error instanceof ExpectedVersionConflictError && i === 0) return undefined;
        throw error;
      }
      if (result.appended.length === 0) {
        const repeat = repeatOf(state.fold.context, entry, state.version + 1);
        if (repeat === undefined) {
          duplicates++;
          continue;
        }
        result = store.appendSync(callId, [repeat], { expectedVersion: state.version });
      }
      if (result.appended[0]!.position === 1) began = true;
      this.#fold(state, result.appended, events);
      quarantined = quarantinedOf(result.appended, quarantined);
      appended++;
    }
    if (appended > 0) state.touchedAt = this.#clock();
    if (this.#snapshotDue(state)) {
      store.writeSnapshotSync(callId, toCallSnapshot(state.fold));
      state.snapshotAt = state.version;
    }
    this.#emitAll(events);
    return { appended, duplicates, events, quarantined, began };
  }

  /**
   * `store.appendToStream`. The in-memory store's own append is synchronous underneath
   * (`appendSync`, the same result); calling that directly spares a turn per append.
   */
  #appendToStore(callId: string, entries: readonly LogEntry[], expectedVersion: number): AppendResult | Promise<AppendResult> {
    const store = this.store;
    if (isPlainMemoryStore(store)) return store.appendSync(callId, entries, { expectedVersion });
    return store.appendToStream(callId, entries, { expectedVersion });
  }

  #fold(state: CallState$, entries: readonly StoredEntry[], events: CallEvent[]): void {
    if (entries.length === 0) return;
    for (let i = 0; i < entries.length; i++) foldEntryEmitting(state.fold, entries[i]!, events);
    state.version = Math.max(state.version, entries[entries.length - 1]!.position);
  }

  /**
   * Reads what the store holds past the folded version (another writer's entries, or a cold
   * start) and folds it. For a call this engine held, that is news: its events go into
   * `events`. A call it did not hold is loaded from its history, which is not news, unless
   * `history` says to report it too (`refresh`, how a follower learns of a call).
   */
  async #catchUp(
    callId: string,
    events: CallEvent[],
    history: 'silent' | 'report' = 'silent',
    read?: (tail: readonly StoredEntry[]) => void,
  ): Promise<CallState$> {
    let state = this.#calls.get(callId);
    let news = events;
    if (!state) {
      if (history === 'silent') news = [];
      const saved = this.store.readSnapshot ? await this.store.readSnapshot(callId) : undefined;
      const restored = restoreCallSnapshot(callId, saved);
      state = restored
        ? {
            fold: foldStateOf(restored),
            version: restored.context.position,
            snapshotAt: restored.context.position,
            touchedAt: this.#clock(),
          }
        : { fold: foldStateOf(startCall({ callId, rosterMode: this.#rosterMode })), version: 0, snapshotAt: 0, touchedAt: this.#clock() };
      this.#calls.set(callId, state);
    }
    const tail = await this.store.readStream(callId, { after: state.version });
    this.#fold(state, tail, news);
    read?.(tail);
    return state;
  }

  #snapshotDue(state: CallState$): boolean {
    return this.#snapshotEvery > 0 && this.store.writeSnapshot !== undefined && state.version - state.snapshotAt >= this.#snapshotEvery;
  }

  async #writeSnapshot(callId: string, state: CallState$): Promise<void> {
    await this.store.writeSnapshot!(callId, toCallSnapshot(state.fold));
    state.snapshotAt = state.version;
  }

  #withLock<T>(callId: string, work: () => Promise<T>): Promise<T> {
    // Uncontended (the usual case), the work starts now rather than a turn later.
    const previous = this.#locks.get(callId);
    const run = previous ? previous.then(work, work) : work();
    // Settles once `run` has and the lock is released (before the caller resumes: this
    // reaction is registered first); the next waiter chains on it.
    const tail: Promise<void> = afterSettling(run, () => {
      if (this.#locks.get(callId) === tail) this.#locks.delete(callId);
    });
    this.#locks.set(callId, tail);
    return run;
  }
}

interface AppendOutcome {
  readonly appended: number;
  readonly duplicates: number;
  /** Whether the append wrote the stream's first entry. */
  readonly began?: boolean;
  readonly events: CallEvent[];
  /** The quarantined entries written, when there were any. */
  readonly quarantined: readonly StoredEntry[] | undefined;
}

/** The event of a quarantined entry. */
function undecodableOf(entry: QuarantinedEntry & { readonly position: number }): UndecodableEvent {
  return { type: 'undecodable', callId: entry.callId === QUARANTINE_STREAM ? null : entry.callId, entry, error: entry.error };
}

/**
 * The entries past `version` of a run the store announced (dense positions, in order), or
 * undefined when they do not follow on from it (a gap: an announcement missed, or none carried).
 */
function followOn(entries: readonly StoredEntry[] | undefined, version: number): readonly StoredEntry[] | undefined {
  if (!entries || entries.length === 0) return undefined;
  const first = entries[0]!.position;
  if (first > version + 1) return undefined;
  return first === version + 1 ? entries : entries.slice(version + 1 - first);
}

/** `found` with the quarantined entries among those written added (undefined while none: the usual case, no array). */
function quarantinedOf(appended: readonly StoredEntry[], found?: StoredEntry[]): StoredEntry[] | undefined {
  for (let i = 0; i < appended.length; i++) {
    const entry = appended[i]!;
    if (entry.kind === 'quarantined') (found ??= []).push(entry);
  }
  return found;
}

const NO_CALLS: readonly string[] = Object.freeze([]);

function countQuarantined(entries: readonly DeliveryEntry[]): number {
  let n = 0;
  for (let i = 0; i < entries.length; i++) if (entries[i]!.kind === 'quarantined') n++;
  return n;
}

/** The stream a call id names: its identity key, or the quarantine stream itself. */
function streamIdOf(id: string): string {
  return id === QUARANTINE_STREAM ? id : canonicalId(id);
}

/** An in-memory store whose async methods are its own: its sync twins do the same, without a turn. */
function isPlainMemoryStore(store: EventStore): store is InMemoryEventStore {
  const proto = InMemoryEventStore.prototype;
  return (
    store instanceof InMemoryEventStore && store.appendToStream === proto.appendToStream && store.writeSnapshot === proto.writeSnapshot
  );
}

function oneCall(entries: readonly DeliveryEntry[]): boolean {
  const callId = entries[0]!.callId;
  for (let i = 1; i < entries.length; i++) if (entries[i]!.callId !== callId) return false;
  return true;
}

/** Runs `then` once `promise` settles, either way. */
function afterSettling(promise: Promise<unknown>, then: () => void): Promise<void> {
  return promise.then(then, then);
}

/**
 * Creates an engine. `clock` is required: core never reads the time itself. The store is the
 * source of truth (in memory unless one is given); `ingest` resolves once a delivery is
 * persisted, which is when a webhook may answer 202.
 *
 * @example
 * ```ts
 * import { createEngine } from '@switchboard/core';
 *
 * // the clock is the caller's: core reads no time of its own
 * const engine = createEngine({ clock });
 * engine.on('stateChanged', (e) => console.log(e.callId, e.from, '->', e.to));
 * engine.on('participantAdmitted', (e) => console.log(e.participant.id, 'left the lobby'));
 *
 * // the body of a webhook POST (commsNotifications) and when it arrived, as the transport hands them over
 * const result = await engine.ingest(body, { receivedAt });
 * console.log(result.appended, result.duplicates, engine.getCall(result.callIds[0]!)?.state);
 * ```
 */
export function createEngine(options: EngineOptions): Engine {
  return new Engine(options);
}

/** Is the call over? */
export function isTerminated(view: Pick<CallView, 'state'> | undefined): boolean {
  return view?.state === ('terminated' satisfies CallState);
}
