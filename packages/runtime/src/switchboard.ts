import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { EventEmitter } from 'eventemitter3';
import {
  createEngine,
  DEFAULT_EVICTION_GRACE_MS,
  endedAtOf,
  hasAppendNotifier,
  hasArchiving,
  hasCallLeases,
  hasClaimableLeases,
  canonicalId,
  hasReadiness,
  InMemoryEventStore,
  SwitchboardError,
  silentLogger,
  type CallEvent,
  type CallView,
  type CreateCallBody,
  type CallLeases,
  type Engine,
  type EventStore,
  type Logger,
  type RosterMode,
  type UndecodableEvent,
  type Unsubscribe,
} from '@switchboard/core';
import type { CallRequestBody, CreateCallSpec } from '@switchboard/transport';
import { Call, type CallHost } from './call.js';
import { Commands, type RuntimeGraph } from './commands.js';
import { unrefTimer, type RuntimeContext, type SetTimer } from './context.js';
import { RUNTIME_DEFAULTS, type AnswerDeadlinePolicy } from './defaults.js';
import { OnDemand } from './on-demand.js';
import { Ownership } from './ownership.js';
import { Exchanges, type Recorder } from './recorder.js';
import { EventRouter } from './routing.js';
import { Snapshots } from './snapshots.js';
import { CallTimers } from './timers.js';
import { archiveEndedCalls } from './archive.js';

export type { AnswerDeadlinePolicy } from './defaults.js';

export interface SwitchboardConfig {
  /**
   * The Graph client: `@switchboard/transport`'s GraphClient, or any `GraphPort`. Its
   * `buildCreateCall` is needed only to pass a `CreateCallSpec` to `createCall`.
   */
  readonly graph: RuntimeGraph;
  /** The log. An in-memory store when omitted (fine for tests; use SQLite or PostgreSQL in a bot). */
  readonly store?: EventStore;
  readonly clock?: () => number;
  readonly newId?: () => string;
  readonly logger?: Logger;
  readonly rosterMode?: RosterMode;
  /**
   * How long Graph waits for an incoming call to be answered, counted from the notification's
   * `receivedAt`. Default `RUNTIME_DEFAULTS.answerDeadlineMs` (Graph's 15 s).
   */
  readonly answerDeadlineMs?: number;
  /** The policy acts this long before Graph's deadline. Default `RUNTIME_DEFAULTS.deadlineMarginMs`. */
  readonly deadlineMarginMs?: number;
  /** What happens to an incoming call nobody handled in time. Default `RUNTIME_DEFAULTS.onAnswerDeadline` (reject). */
  readonly onAnswerDeadline?: AnswerDeadlinePolicy;
  /**
   * Graph ends a call after 45 minutes without a keep-alive; one is sent every this long.
   * Default `RUNTIME_DEFAULTS.keepAliveIntervalMs`.
   */
  readonly keepAliveIntervalMs?: number;
  /** An operation that has not settled by then rejects with SWB_OPERATION_TIMEOUT. Default `RUNTIME_DEFAULTS.operationTimeoutMs`. */
  readonly operationTimeoutMs?: number;
  /** Writes every exchange (notifications, commands and Graph's answers) as an exchange log `replay` reads. */
  readonly recorder?: Recorder;
  /** Timer source, injectable for tests. Default setTimeout (unref'd). */
  readonly setTimer?: SetTimer;
  /**
   * This instance's name in leases (default `host-pid-random`). Several instances sharing
   * one store (PostgreSQL) need distinct names.
   */
  readonly instanceId?: string;
  /**
   * Per-call ownership, so that of several instances sharing a store exactly one runs a
   * call's timers (keep-alive, the answer deadline), resyncs it and hears `incomingCall`.
   * Default: the store's own leases when it has them (`PgEventStore`), else none (one
   * instance owns everything).
   */
  readonly leases?: CallLeases | false;
  /** How long a lease lasts unless renewed (renewed at a third of it). Default `RUNTIME_DEFAULTS.leaseTtlMs`. */
  readonly leaseTtlMs?: number;
  /**
   * With leases that list the calls to take over (`ClaimableLeases`: `PgEventStore`,
   * `ShardedPgEventStore`), each instance holds only the calls it owns; a call it does not
   * own is loaded on demand (`getCall`, a command) and dropped again once nothing has used
   * it for this long and nothing awaits it. Default: `leaseTtlMs`.
   */
  readonly onDemandHoldMs?: number;
  /**
   * Snapshot a call once nothing new has arrived for it this long, so a restart restores it
   * from the snapshot instead of replaying the entries since its last one (the engine also
   * snapshots every 64 entries, and `stop()` snapshots every call it owns). Checked every
   * half of it. Default `RUNTIME_DEFAULTS.snapshotWhenQuietMs`; 0 turns quiet snapshots off.
   */
  readonly snapshotWhenQuietMs?: number;
  /**
   * How long an ended call stays in memory after it last changed (and how long after its end
   * `start()` still restores it). Default `DEFAULT_EVICTION_GRACE_MS`, 5 minutes. A late
   * notification for an evicted call is still stored and reported (stale); `loadCall` reads an
   * evicted call back. Checked every half of it, at most every minute, once started.
   */
  readonly evictEndedAfterMs?: number;
  /**
   * Retention: once started, every `everyMs` (default an hour) move the calls that ended more
   * than `afterDays` days ago out of the store into `archiveDir`, one exchange-log file per day
   * (`YYYY-MM-DD.jsonl.gz`, which `switchboard replay` reads), in batches of `batchSize`
   * (default 200) that appends to live calls do not wait behind. Crash-safe: see
   * `archiveEndedCalls`. Needs a store with a live index (SQLite, PostgreSQL). With several
   * instances on one database, give it to one of them. Default: none, the store keeps everything.
   */
  readonly retention?: RetentionPolicy;
}

/** When ended calls leave the store for the archive, and where they go. */
export interface RetentionPolicy {
  readonly archiveDir: string;
  readonly afterDays: number;
  readonly everyMs?: number;
  readonly batchSize?: number;
}

export interface Delivery {
  readonly body: unknown;
  readonly receivedAt?: number;
  readonly messageId?: string;
}

export type SwitchboardEvents = {
  /** A call came in: answer, reject or redirect it before `deadline` (ms since the epoch). */
  incomingCall: [call: Call, deadline: number];
  callEnded: [call: Call];
  /**
   * A live call this instance now runs without having started it here: restored by `start()`
   * (`restarted`) or taken over from an instance whose lease lapsed (`takenOver`). Emitted
   * after the call was resynced with Graph and its timers restarted, with its view, so a bot
   * can pick its flow up where the view says it is (instead of polling `owns()`).
   */
  callResumed: [call: Call, view: CallView, how: 'restarted' | 'takenOver'];
  /** Every engine event, for every call this instance holds (with several instances: the ones it owns, or loaded on demand). */
  event: [CallEvent];
  /**
   * A notification of a delivery did not decode: it is stored as a quarantined entry (with
   * the reason and JSON path) and the delivery was acknowledged; `redecode` folds it in after
   * an upgrade. For a live call this instance owns, a resync is started too (Graph's GET
   * says what the notification could not).
   */
  undecodable: [UndecodableEvent];
  /** Something failed in the background (a resync, a keep-alive, a deadline policy). */
  error: [error: Error];
};

/**
 * The runtime a bot embeds: the engine, a store, a Graph client and the webhook sink, with
 * call handles, operation promises, the incoming-call deadline, automatic keep-alive,
 * resync on demand and rehydration after a restart.
 *
 * Several instances can share one PostgreSQL store (or a `ShardedPgEventStore`): a per-call
 * lease decides which one holds the call, folds it, runs its timers, resyncs it and hears
 * `incomingCall` (see `leases`). The others persist the deliveries they receive without
 * folding them; the owner folds them from the store's append notifications. Another
 * instance loads a call on demand (`getCall`, a command) and drops it again
 * (`onDemandHoldMs`); `call()`, `calls()` and the events cover the calls held. (With leases
 * that cannot list the calls to take over, every instance follows every call instead.)
 *
 * It composes its parts: `Ownership` (leases), `OnDemand` (owner-only holding), `CallTimers`
 * (answer deadline, keep-alive), `Commands` (record, send, record the answer; resync),
 * `Snapshots` and `EventRouter`.
 */
export class Switchboard extends EventEmitter<SwitchboardEvents> {
  readonly engine: Engine;
  /** This instance's name in leases. */
  readonly instanceId: string;
  readonly #ctx: RuntimeContext;
  readonly #log: Logger;
  readonly #exchanges: Exchanges;
  readonly #commands: Commands;
  readonly #ownership: Ownership;
  readonly #timers: CallTimers;
  readonly #snapshots: Snapshots;
  /** Owner-only mode (see `OnDemand`); undefined when every instance follows every call. */
  readonly #onDemand: OnDemand | undefined;
  readonly #calls = new Map<string, Call>();
  readonly #host: CallHost;
  #unsubscribe: Unsubscribe | undefined;
  #stopped = false;
  readonly #evictAfterMs: number;
  #cancelEviction: (() => void) | undefined;
  readonly #retention: RetentionPolicy | undefined;
  #cancelRetention: (() => void) | undefined;
  #archiving: Promise<unknown> | undefined;

  constructor(config: SwitchboardConfig) {
    super();
    if (!config?.graph || typeof config.graph.send !== 'function') {
      throw new SwitchboardError('SWB_INVALID_ARGUMENT', 'createSwitchboard needs `graph`, a Graph client with send()');
    }
    const leaseTtlMs = config.leaseTtlMs ?? RUNTIME_DEFAULTS.leaseTtlMs;
    if (!(leaseTtlMs > 0))
      throw new SwitchboardError('SWB_INVALID_ARGUMENT', `leaseTtlMs must be positive, got ${String(config.leaseTtlMs)}`);
    const quietMs = config.snapshotWhenQuietMs ?? RUNTIME_DEFAULTS.snapshotWhenQuietMs;
    if (!(quietMs >= 0)) {
      throw new SwitchboardError(
        'SWB_INVALID_ARGUMENT',
        `snapshotWhenQuietMs must be a number >= 0, got ${String(config.snapshotWhenQuietMs)}`,
      );
    }
    const onDemandHoldMs = config.onDemandHoldMs ?? leaseTtlMs;
    if (!(onDemandHoldMs >= 0))
      throw new SwitchboardError('SWB_INVALID_ARGUMENT', `onDemandHoldMs must be >= 0, got ${String(config.onDemandHoldMs)}`);
    const clock = config.clock ?? Date.now;
    this.#log = config.logger ?? silentLogger;
    const store = config.store ?? new InMemoryEventStore({ endedAt: endedAtOf });
    const leases = config.leases === false ? undefined : (config.leases ?? (hasCallLeases(store) ? store : undefined));
    const ownerOnly = leases !== undefined && hasClaimableLeases(leases);
    this.engine = createEngine({
      store,
      clock,
      ...(config.rosterMode ? { rosterMode: config.rosterMode } : {}),
      // owner-only: a delivery for a call another instance owns is persisted, not folded here
      ...(ownerOnly ? { loadOnAppend: false } : {}),
      ...(config.evictEndedAfterMs !== undefined ? { evictAfterMs: config.evictEndedAfterMs } : {}),
    });
    this.#evictAfterMs = config.evictEndedAfterMs ?? DEFAULT_EVICTION_GRACE_MS;
    this.#retention = config.retention;
    if (this.#retention !== undefined && !hasArchiving(this.engine.store)) {
      throw new SwitchboardError('SWB_INVALID_ARGUMENT', 'retention needs a store with a live index (SqliteEventStore, PgEventStore)');
    }
    this.#ctx = {
      engine: this.engine,
      clock,
      newId: config.newId ?? randomUUID,
      log: this.#log,
      setTimer: config.setTimer ?? unrefTimer,
      stopped: () => this.#stopped,
      fail: (error, callId) => this.#fail(error, callId),
    };
    this.instanceId = config.instanceId ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
    this.#exchanges = new Exchanges(config.recorder, clock, (error) => this.#fail(error, ''));
    this.#commands = new Commands(this.#ctx, config.graph, this.#exchanges);
    this.#host = {
      view: (id) => this.engine.getCall(id),
      command: async (id, command, body, params) => {
        // a command on a call another instance owns: load it for this (its view, its operations' ends)
        if (this.#onDemand && !this.#stopped && !this.owns(id)) await this.#onDemand.get(id);
        return this.#commands.send(id, command, body, params);
      },
      resync: (id, reason) => this.resync(id, reason),
      entries: (id, position) => this.engine.store.readStream(id, { after: position }),
      operationTimeoutMs: config.operationTimeoutMs ?? RUNTIME_DEFAULTS.operationTimeoutMs,
      setTimer: this.#ctx.setTimer,
      log: this.#log,
    };
    this.#ownership = new Ownership(this.#ctx, leases, this.instanceId, leaseTtlMs, (callId) => {
      this.#timers.clear(callId);
      this.#onDemand?.dropLater(callId);
    });
    this.#timers = new CallTimers(
      this.#ctx,
      {
        answerDeadlineMs: config.answerDeadlineMs ?? RUNTIME_DEFAULTS.answerDeadlineMs,
        deadlineMarginMs: config.deadlineMarginMs ?? RUNTIME_DEFAULTS.deadlineMarginMs,
        onAnswerDeadline: config.onAnswerDeadline ?? RUNTIME_DEFAULTS.onAnswerDeadline,
        keepAliveIntervalMs: config.keepAliveIntervalMs ?? RUNTIME_DEFAULTS.keepAliveIntervalMs,
      },
      {
        owns: (callId) => this.#ownership.owns(callId),
        keepAlive: (callId) => this.#commands.send(callId, 'keepAlive', undefined),
        offer: (call, deadline) => this.emit('incomingCall', call, deadline),
      },
    );
    this.#onDemand = this.#ownership.ownerOnly
      ? new OnDemand(this.#ctx, this.#ownership, onDemandHoldMs, {
          handle: (callId) => this.#handle(callId),
          existing: (callId) => this.#calls.get(callId),
          forgetHandle: (callId) => this.#calls.delete(callId),
          takeOver: (callId, reason) => this.#takeOver(callId, reason, 'takenOver'),
          incoming: (call, receivedAt) => this.#timers.incoming(call, receivedAt),
        })
      : undefined;
    this.#snapshots = new Snapshots(this.#ctx, quietMs, () => this.#ownership.ownedIds());
    const router = new EventRouter(this.#ctx, {
      emitter: this,
      handle: (callId) => this.#handle(callId),
      ownership: this.#ownership,
      timers: this.#timers,
      resync: (callId, reason) => this.resync(callId, reason),
    });
    this.engine.on('event', (event) => router.event(event));
    this.engine.on('undecodable', (event) => router.undecodable(event));
    // a notification another instance stored quarantined, folded here: resync it if this instance owns it
    this.engine.on('foldedUndecodable', (event) => router.foldedUndecodable(event));
    this.engine.on('evicted', ({ callId }) => {
      this.#calls.delete(callId);
      this.#timers.clear(callId);
    });
  }

  /** Every half of `evictEndedAfterMs` (at most a minute): ended calls quiet that long leave memory. */
  #evictLater(): void {
    if (this.#stopped) return;
    this.#cancelEviction = this.#ctx.setTimer(Math.min(60_000, Math.max(50, this.#evictAfterMs / 2)), () => {
      void this.engine
        .evictEnded()
        .catch((error: unknown) => this.#fail(error, ''))
        .finally(() => this.#evictLater());
    });
  }

  /** Every `retention.everyMs`: the calls ended more than `afterDays` ago go to the archive. */
  #archiveLater(): void {
    const policy = this.#retention;
    const store = this.engine.store;
    if (policy === undefined || this.#stopped || !hasArchiving(store)) return;
    this.#cancelRetention = this.#ctx.setTimer(policy.everyMs ?? 3_600_000, () => {
      this.#archiving = archiveEndedCalls(store, {
        dir: policy.archiveDir,
        olderThanDays: policy.afterDays,
        now: this.#ctx.clock(),
        stopped: () => this.#stopped,
        ...(policy.batchSize !== undefined ? { batchSize: policy.batchSize } : {}),
      })
        .then((result) => {
          if (result.archived > 0) this.#log.info({ calls: result.archived, files: result.files }, 'ended calls archived');
        })
        .catch((error: unknown) => this.#fail(error, ''))
        .finally(() => {
          this.#archiving = undefined;
          this.#archiveLater();
        });
    });
  }

  /** Whether this instance runs the call's timers and automatic commands (always, without leases). */
  owns(callId: string): boolean {
    return this.#ownership.owns(callId);
  }

  /** Starts acting for a call this instance now owns: resync, then its timers (and the answer deadline). */
  async #takeOver(callId: string, reason: string, how: 'restarted' | 'takenOver'): Promise<void> {
    const call = this.#handle(callId);
    await this.resync(callId, reason).catch((error: unknown) => this.#fail(error, callId));
    if (this.engine.getCall(callId)?.state === 'incoming') {
      const [first] = await this.engine.store.readStream(callId);
      this.#timers.incoming(call, first?.at ?? this.#ctx.clock());
    }
    this.#timers.keepAlive(callId);
    const view = this.engine.getCall(callId);
    if (!view || view.state === 'terminated') return;
    try {
      this.emit('callResumed', call, view, how);
    } catch (error) {
      // a bot's handler that throws must not stop the runtime's own work
      this.#fail(error, callId);
    }
  }

  /**
   * The webhook's sink: resolves once the delivery is in the log (so the webhook may answer
   * 202), having folded it and emitted its events. A notification that does not decode is
   * stored quarantined (event `undecodable`) and the rest applied: the delivery still
   * resolves. Throws `DecodeError` for a body that cannot be a delivery or cannot be stored
   * (answer 400) and `SWB_STOPPED` after `stop()` (answer 503: Graph retries elsewhere).
   */
  readonly sink = async (delivery: Delivery): Promise<void> => {
    if (this.#stopped) throw new SwitchboardError('SWB_STOPPED', 'this switchboard is stopping; deliver elsewhere');
    const receivedAt = delivery.receivedAt ?? this.#ctx.clock();
    // what arrived, before the engine emits anything about it (so a reader never misses it)
    this.#exchanges.notification(delivery.body, receivedAt);
    const result = await this.engine.ingest(delivery.body, {
      receivedAt,
      ...(delivery.messageId !== undefined ? { messageId: delivery.messageId } : {}),
    });
    const onDemand = this.#onDemand;
    if (onDemand) {
      for (const callId of result.newCalls) {
        if (!this.engine.holds(callId)) void onDemand.heardFirst(callId, receivedAt).catch((error: unknown) => this.#fail(error, callId));
      }
    }
  };

  /**
   * Restores every live call from the log, resyncs it and reschedules its timers (with
   * leases: the calls this instance can own; the others are followed, and taken over when
   * their owner's lease lapses; owner-only, only the calls it owns are restored). With a
   * store that announces appends (PostgreSQL), also starts following what other instances
   * write. Resolves to the number of live calls restored.
   */
  async start(): Promise<number> {
    const store = this.engine.store;
    // a store that starts up in the background (SQLite's writer thread): ready before the first
    // call, whose append would otherwise wait for it out of the call's answer deadline
    if (hasReadiness(store)) await store.ready();
    const onDemand = this.#onDemand;
    if (onDemand) {
      // only the calls this instance owns are its to hold: those it held before a restart,
      // and those whose owner went away (the others stay with their owners)
      if (hasAppendNotifier(store) && !this.#unsubscribe) {
        this.#unsubscribe = await store.subscribe((streamId, version, carried) => {
          // the owner folds what others persisted, from the announcement when it carried the
          // entries; an announcement of any other call is dropped on its stream id, unparsed
          if (this.#stopped || !this.engine.holds(streamId)) return;
          void this.engine
            .refresh(streamId, carried ? { version, ifHeld: true, carried } : { version, ifHeld: true })
            .catch((error: unknown) => this.#fail(error, streamId));
        });
      }
      const restored = await onDemand.claim('rehydrated after a restart');
      this.#ownership.sweep(() => onDemand.claim('took over a call whose owner went away'));
      this.#snapshots.whenQuiet();
      this.#log.info({ calls: restored, instanceId: this.instanceId }, 'switchboard started');
      return restored;
    }
    await this.engine.hydrate();
    if (hasAppendNotifier(store) && !this.#unsubscribe) {
      this.#unsubscribe = await store.subscribe((streamId, version, carried) => {
        if (this.#stopped) return;
        void this.engine
          .refresh(streamId, carried ? { version, carried } : { version })
          .catch((error: unknown) => this.#fail(error, streamId));
      });
    }
    const live = this.engine.calls().filter((view) => view.state !== 'terminated');
    await Promise.all(
      live.map(async (view) => {
        this.#handle(view.id);
        if (await this.#ownership.own(view.id)) await this.#takeOver(view.id, 'rehydrated after a restart', 'restarted');
      }),
    );
    this.#ownership.sweep(() =>
      this.#ownership.takeOverLapsed(
        this.engine
          .calls()
          .filter((view) => view.state !== 'terminated')
          .map((view) => view.id),
        (callId) => this.#takeOver(callId, 'took over a call whose owner went away', 'takenOver'),
      ),
    );
    this.#snapshots.whenQuiet();
    this.#evictLater();
    this.#archiveLater();
    this.#log.info({ calls: live.length, instanceId: this.instanceId }, 'switchboard started');
    return live.length;
  }

  /**
   * Stops taking deliveries, clears every timer, snapshots the calls it owns (so the next
   * start restores them without replaying) and releases this instance's leases so another
   * instance takes its calls over at once. The log keeps everything.
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#ownership.stopSweep();
    this.#snapshots.stop();
    this.#cancelEviction?.();
    this.#cancelRetention?.();
    await this.#archiving;
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    this.#timers.clearAll();
    this.#onDemand?.stop();
    await Promise.allSettled([...this.#commands.inFlight(), ...this.#ownership.inFlight()]);
    await this.#snapshots.all();
    await this.#ownership.releaseAll();
  }

  /**
   * Places a call (`POST /communications/calls`); resolves to its handle once Graph answered
   * 201. `request` is the body, or a `CreateCallSpec` the Graph client builds into one (the
   * built body is what the log records).
   */
  async createCall(request: CreateCallBody | CallRequestBody | CreateCallSpec): Promise<Call> {
    const onDemand = this.#onDemand;
    // owner-only: the instance that placed the call owns it, and holds it from its first entry
    const callId = await this.#commands.create(request, onDemand && ((id) => onDemand.placed(id)));
    // the call's first notifications may have been folded before the lease was taken: start
    // its timers now (the state decides whether there is anything to keep alive yet)
    if (onDemand ? this.owns(callId) : await this.#ownership.own(callId)) this.#timers.keepAlive(callId);
    return this.#handle(callId);
  }

  /**
   * The handle of a call, loaded from the store if this instance does not hold it (with
   * several instances, a call another instance owns); undefined for a call the log does not
   * know. A call loaded for this is followed while held, and dropped again after
   * `onDemandHoldMs` unused (see `call` for the calls held already).
   */
  async getCall(id: string): Promise<Call | undefined> {
    const callId = canonicalId(id);
    if (this.#onDemand) return this.#onDemand.get(callId);
    // every call is followed once started; before, or for a call written since, load it
    if (!this.engine.holds(callId) && !(await this.engine.load(callId))) {
      if (!this.owns(callId) && !this.#ownership.acquiring(callId)) this.engine.forget(callId);
      return undefined;
    }
    return this.#handle(callId);
  }

  /** The handle of a call this switchboard holds (any spelling of its id); with several instances, see `getCall`. */
  call(callId: string): Call | undefined {
    const view = this.engine.getCall(callId);
    return view ? this.#handle(view.id) : undefined;
  }

  /**
   * The handle of a call, read from the store if this switchboard does not hold it (an ended
   * call evicted from memory, or one another instance runs): its snapshot and the entries after
   * it. Undefined for a call the store does not know.
   */
  async loadCall(callId: string): Promise<Call | undefined> {
    const view = this.engine.getCall(callId) ?? (await this.engine.load(callId));
    return view ? this.#handle(view.id) : undefined;
  }

  calls(): Call[] {
    return this.engine.calls().map((view) => this.#handle(view.id));
  }

  /**
   * GETs the call and its participants and records the answer as an authoritative `resync`
   * entry (a 404 ends the call). One resync per call at a time.
   */
  resync(id: string, reason: string): Promise<void> {
    return this.#commands.resync(id, reason);
  }

  #handle(callId: string): Call {
    let call = this.#calls.get(callId);
    if (!call) {
      call = new Call(callId, this.#host);
      this.#calls.set(callId, call);
    }
    return call;
  }

  #fail(error: unknown, callId: string): void {
    const err = error instanceof Error ? error : new Error(String(error));
    // background work refused because stop() ran: what stopping means, not a failure
    if (this.#stopped && (err as { code?: string }).code === 'SWB_STOPPED') return;
    this.#log.error({ callId, code: (err as { code?: string }).code, err: err.message }, 'background work failed');
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }
}

/**
 * Creates the runtime. Call `start()` to restore live calls from the store, and give
 * `switchboard.sink` to the webhook receiver.
 *
 * @example
 * ```ts
 * import { SqliteEventStore } from '@switchboard/adapters';
 * import { createSwitchboard } from '@switchboard/runtime';
 * import { createGraphClient, createWebhookReceiver } from '@switchboard/transport';
 *
 * const graph = createGraphClient({ tenantId, clientId, clientSecret });
 * const switchboard = createSwitchboard({ graph, store: new SqliteEventStore({ path: 'calls.db' }) });
 * switchboard.on('incomingCall', async (call) => {
 *   await call.answer({ callbackUri, mediaConfig: { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' }, acceptedModalities: ['audio'] });
 *   await call.playPrompt({ prompts: [prompt] }).completed;
 *   await call.hangUp();
 * });
 * const webhook = createWebhookReceiver({ appId: clientId, sink: switchboard.sink });
 * await switchboard.start();
 * ```
 */
export function createSwitchboard(config: SwitchboardConfig): Switchboard {
  return new Switchboard(config);
}
