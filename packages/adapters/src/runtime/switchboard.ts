import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { EventEmitter } from 'eventemitter3';
import {
  canonicalId,
  createEngine,
  DEFAULT_EVICTION_GRACE_MS,
  InMemoryEventStore,
  SwitchboardError,
  type CallEvent,
  type UndecodableEvent,
  type CommandName,
  type Engine,
  type EventStore,
  type RosterMode,
  type TimerName,
} from '@switchboard/core';
import type { CallRequestBody, CreateCallSpec } from '@switchboard/transport';
import { Call, type CallHost } from './call.js';
import { silentLogger, type GraphPort, type GraphResponse, type Logger } from './ports.js';
import type { ExchangeLine, Recorder } from './recorder.js';
import type { CallLeases, Lease } from '../stores/postgres/leases.js';
import { archiveEndedCalls, isArchivable, type ArchivableStore } from '../archive/archive.js';
import type { AppendListener, Unsubscribe } from '../stores/postgres/notifications.js';

/** What to do with an incoming call nobody answered, rejected or redirected in time. */
export type AnswerDeadlinePolicy =
  | { readonly action: 'reject'; readonly reason?: 'none' | 'busy' | 'forbidden' }
  | { readonly action: 'redirect'; readonly targets: readonly unknown[] }
  | { readonly action: 'none' };

export interface SwitchboardConfig {
  /** The Graph client (`@switchboard/transport`'s GraphClient, or anything with its `send`). */
  readonly graph: GraphPort;
  /** The log. An in-memory store when omitted (fine for tests; use SQLite or PostgreSQL in a bot). */
  readonly store?: EventStore;
  readonly clock?: () => number;
  readonly newId?: () => string;
  readonly logger?: Logger;
  readonly rosterMode?: RosterMode;
  /** Graph drops an incoming call not answered within 15 s. */
  readonly answerDeadlineMs?: number;
  /** The policy acts this long before Graph's deadline. Default 2,000 ms. */
  readonly deadlineMarginMs?: number;
  readonly onAnswerDeadline?: AnswerDeadlinePolicy;
  /** Graph ends a call after 45 minutes without a keep-alive; default every 15 minutes. */
  readonly keepAliveIntervalMs?: number;
  /** An operation that has not settled by then rejects with SWB_OPERATION_TIMEOUT. Default 5 minutes. */
  readonly operationTimeoutMs?: number;
  /** Writes every exchange (notifications, commands and Graph's answers) as an exchange log `replay` reads. */
  readonly recorder?: Recorder;
  /** Timer source, injectable for tests. Default setTimeout (unref'd). */
  readonly setTimer?: (ms: number, fn: () => void) => () => void;
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
  /** How long a lease lasts unless renewed (renewed at a third of it). Default 30 s. */
  readonly leaseTtlMs?: number;
  /**
   * Snapshot a call once nothing new has arrived for it this long, so a restart restores it
   * from the snapshot instead of replaying the entries since its last one (the engine also
   * snapshots every 64 entries, and `stop()` snapshots every call it owns). Checked every
   * half of it. Default 2,000 ms; 0 turns quiet snapshots off.
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
  /** Every engine event, for every call. */
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

const ANSWER_COMMANDS = new Set<CommandName>(['answer', 'reject', 'redirect']);

function parseForRecord(body: unknown): unknown {
  if (typeof body !== 'string') return body;
  try {
    return JSON.parse(body);
  } catch {
    return { unparsed: body.slice(0, 256) };
  }
}

const COMMAND_METHOD: Partial<Record<CommandName, string>> = {
  get: 'GET',
  delete: 'DELETE',
  listParticipants: 'GET',
  deleteParticipant: 'DELETE',
  listAudioRoutingGroups: 'GET',
};

/** The v1.0 path a command goes to, for recordings (replay maps it back to the command). */
function commandPath(command: CommandName, callId: string, participantId: string | undefined): string {
  const base = `/v1.0/communications/calls/${callId}`;
  switch (command) {
    case 'get':
    case 'delete':
      return base;
    case 'listParticipants':
      return `${base}/participants`;
    case 'invite':
      return `${base}/participants/invite`;
    case 'muteAll':
      return `${base}/participants/muteAll`;
    case 'muteParticipant':
      return `${base}/participants/${participantId ?? ''}/mute`;
    case 'deleteParticipant':
      return `${base}/participants/${participantId ?? ''}`;
    case 'startHoldMusic':
    case 'stopHoldMusic':
      return `${base}/participants/${participantId ?? ''}/${command}`;
    case 'createAudioRoutingGroup':
    case 'listAudioRoutingGroups':
      return `${base}/audioRoutingGroups`;
    default:
      return `${base}/${command}`;
  }
}

/**
 * The runtime a bot embeds: the engine, a store, a Graph client and the webhook sink, with
 * call handles, operation promises, the incoming-call deadline, automatic keep-alive,
 * resync on demand and rehydration after a restart.
 *
 * Several instances can share one PostgreSQL store: each follows every call through the
 * store's append notifications, and a per-call lease decides which one runs the call's
 * timers, resyncs it and hears `incomingCall` (see `leases`).
 */
export class Switchboard extends EventEmitter<SwitchboardEvents> {
  readonly engine: Engine;
  readonly #graph: GraphPort;
  readonly #clock: () => number;
  readonly #newId: () => string;
  readonly #log: Logger;
  readonly #answerDeadlineMs: number;
  readonly #marginMs: number;
  readonly #policy: AnswerDeadlinePolicy;
  readonly #keepAliveMs: number;
  readonly #setTimer: (ms: number, fn: () => void) => () => void;
  readonly #recorder: Recorder | undefined;
  readonly #calls = new Map<string, Call>();
  readonly #timers = new Map<string, Map<string, () => void>>();
  readonly #resyncs = new Map<string, Promise<void>>();
  readonly #host: CallHost;
  /** This instance's name in leases. */
  readonly instanceId: string;
  readonly #leases: CallLeases | undefined;
  readonly #leaseTtlMs: number;
  /** Calls whose lease this instance holds, with the cancel of their renewal. */
  readonly #owned = new Map<string, { lease: Lease; cancel: () => void }>();
  readonly #acquiring = new Map<string, Promise<boolean>>();
  #unsubscribe: Unsubscribe | undefined;
  #cancelSweep: (() => void) | undefined;
  readonly #quietMs: number;
  #cancelQuiet: (() => void) | undefined;
  readonly #evictAfterMs: number;
  #cancelEviction: (() => void) | undefined;
  readonly #retention: RetentionPolicy | undefined;
  #cancelRetention: (() => void) | undefined;
  #archiving: Promise<unknown> | undefined;
  #stopped = false;

  constructor(config: SwitchboardConfig) {
    super();
    if (!config?.graph || typeof config.graph.send !== 'function') {
      throw new SwitchboardError('SWB_INVALID_ARGUMENT', 'createSwitchboard needs `graph`, a Graph client with send()');
    }
    this.#graph = config.graph;
    this.#clock = config.clock ?? Date.now;
    this.#newId = config.newId ?? randomUUID;
    this.#log = config.logger ?? silentLogger;
    this.#answerDeadlineMs = config.answerDeadlineMs ?? 15_000;
    this.#marginMs = config.deadlineMarginMs ?? 2_000;
    this.#policy = config.onAnswerDeadline ?? { action: 'reject' };
    this.#keepAliveMs = config.keepAliveIntervalMs ?? 15 * 60_000;
    this.#recorder = config.recorder;
    this.#setTimer =
      config.setTimer ??
      ((ms, fn) => {
        const t = setTimeout(fn, ms);
        t.unref();
        return () => clearTimeout(t);
      });
    this.engine = createEngine({
      store: config.store ?? new InMemoryEventStore(),
      clock: this.#clock,
      ...(config.rosterMode ? { rosterMode: config.rosterMode } : {}),
      ...(config.evictEndedAfterMs !== undefined ? { evictAfterMs: config.evictEndedAfterMs } : {}),
    });
    this.#evictAfterMs = config.evictEndedAfterMs ?? DEFAULT_EVICTION_GRACE_MS;
    this.#retention = config.retention;
    if (this.#retention !== undefined && !isArchivable(this.engine.store)) {
      throw new SwitchboardError('SWB_INVALID_ARGUMENT', 'retention needs a store with a live index (SqliteEventStore, PgEventStore)');
    }
    this.#host = {
      view: (id) => this.engine.getCall(id),
      command: (id, command, body, params) => this.#command(id, command, body, params),
      resync: (id, reason) => this.resync(id, reason),
      operationTimeoutMs: config.operationTimeoutMs ?? 5 * 60_000,
      setTimer: this.#setTimer,
    };
    this.instanceId = config.instanceId ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
    const store = this.engine.store as Partial<CallLeases> & { subscribe?: (l: AppendListener) => Promise<Unsubscribe> };
    this.#leases =
      config.leases === false
        ? undefined
        : (config.leases ??
          (typeof store.acquireLease === 'function' && typeof store.renewLease === 'function' && typeof store.releaseLease === 'function'
            ? (store as CallLeases)
            : undefined));
    this.#leaseTtlMs = config.leaseTtlMs ?? 30_000;
    if (!(this.#leaseTtlMs > 0))
      throw new SwitchboardError('SWB_INVALID_ARGUMENT', `leaseTtlMs must be positive, got ${String(config.leaseTtlMs)}`);
    this.#quietMs = config.snapshotWhenQuietMs ?? 2_000;
    if (!(this.#quietMs >= 0)) {
      throw new SwitchboardError(
        'SWB_INVALID_ARGUMENT',
        `snapshotWhenQuietMs must be a number >= 0, got ${String(config.snapshotWhenQuietMs)}`,
      );
    }
    this.engine.on('event', (event) => this.#onEvent(event));
    this.engine.on('undecodable', (event) => this.#onUndecodable(event));
    this.engine.on('evicted', ({ callId }) => {
      this.#calls.delete(callId);
      this.#clearTimers(callId);
    });
  }

  /** Every `retention.everyMs`: the calls ended more than `afterDays` ago go to the archive. */
  #archiveLater(): void {
    const policy = this.#retention;
    if (policy === undefined || this.#stopped) return;
    this.#cancelRetention = this.#setTimer(policy.everyMs ?? 3_600_000, () => {
      const store = this.engine.store as EventStore & ArchivableStore;
      this.#archiving = archiveEndedCalls(store, {
        dir: policy.archiveDir,
        olderThanDays: policy.afterDays,
        now: this.#clock(),
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

  /** Every half of `evictEndedAfterMs` (at most a minute): ended calls quiet that long leave memory. */
  #evictLater(): void {
    if (this.#stopped) return;
    this.#cancelEviction = this.#setTimer(Math.min(60_000, Math.max(50, this.#evictAfterMs / 2)), () => {
      void this.engine
        .evictEnded()
        .catch((error: unknown) => this.#fail(error, ''))
        .finally(() => this.#evictLater());
    });
  }

  /** The calls whose snapshots are this instance's to write: the ones it owns (all, without leases). */
  #ownedIds(): Iterable<string> | undefined {
    return this.#leases ? [...this.#owned.keys()] : undefined;
  }

  /** Every half of `snapshotWhenQuietMs`: snapshot the owned calls that went quiet since their last snapshot. */
  #snapshotQuiet(): void {
    if (this.#quietMs === 0 || this.#stopped) return;
    this.#cancelQuiet = this.#setTimer(Math.max(50, this.#quietMs / 2), () => {
      const ids = this.#ownedIds();
      void this.engine
        .snapshot({ quietForMs: this.#quietMs, ...(ids ? { callIds: ids } : {}) })
        .catch((error: unknown) => this.#fail(error, ''))
        .finally(() => this.#snapshotQuiet());
    });
  }

  /** Whether this instance runs the call's timers and automatic commands (always, without leases). */
  owns(callId: string): boolean {
    return !this.#leases || this.#owned.has(callId);
  }

  /** Takes the call's lease if it is free or lapsed; resolves to whether this instance owns the call. */
  #own(callId: string): Promise<boolean> {
    const leases = this.#leases;
    if (!leases) return Promise.resolve(true);
    if (this.#owned.has(callId)) return Promise.resolve(true);
    if (this.#stopped) return Promise.resolve(false);
    const running = this.#acquiring.get(callId);
    if (running) return running;
    const work = (async () => {
      const result = await leases.acquireLease(callId, this.instanceId, this.#leaseTtlMs);
      if (!result.acquired || this.#stopped) return false;
      this.#owned.set(callId, { lease: result.lease, cancel: this.#renewLater(callId, result.lease.remainingMs) });
      this.#log.debug({ callId, token: result.lease.token }, 'lease acquired');
      return true;
    })()
      .catch((error: unknown) => {
        this.#fail(error, callId);
        return false;
      })
      .finally(() => this.#acquiring.delete(callId));
    this.#acquiring.set(callId, work);
    return work;
  }

  #renewLater(callId: string, remainingMs: number): () => void {
    return this.#setTimer(Math.max(10, remainingMs / 3), () => {
      void (async () => {
        const held = this.#owned.get(callId);
        if (!held || !this.#leases) return;
        const lease = await this.#leases.renewLease(callId, this.instanceId, this.#leaseTtlMs).catch((error: unknown) => {
          this.#fail(error, callId);
          return undefined;
        });
        if (!this.#owned.has(callId)) return;
        if (!lease) {
          // lapsed and taken by another instance (or the database is unreachable): stop acting for the call
          this.#owned.delete(callId);
          this.#clearTimers(callId);
          this.#log.warn({ callId }, 'lease lost: another instance runs this call now');
          return;
        }
        this.#owned.set(callId, { lease, cancel: this.#renewLater(callId, lease.remainingMs) });
      })();
    });
  }

  async #disown(callId: string): Promise<void> {
    const held = this.#owned.get(callId);
    if (!held) return;
    held.cancel();
    this.#owned.delete(callId);
    await this.#leases?.releaseLease(callId, this.instanceId).catch((error: unknown) => this.#fail(error, callId));
  }

  /**
   * With leases: take over live calls whose owner went away (its lease lapsed), resync them
   * and restart their timers. Runs every half lease.
   */
  #sweep(): void {
    if (!this.#leases || this.#stopped) return;
    this.#cancelSweep = this.#setTimer(this.#leaseTtlMs / 2, () => {
      void (async () => {
        for (const view of this.engine.calls()) {
          if (view.state === 'terminated' || this.#owned.has(view.id)) continue;
          if (await this.#own(view.id)) await this.#takeOver(view.id, 'took over a call whose owner went away');
        }
      })()
        .catch((error: unknown) => this.#fail(error, ''))
        .finally(() => this.#sweep());
    });
  }

  /** Starts acting for a call this instance now owns: resync, then its timers (and the answer deadline). */
  async #takeOver(callId: string, reason: string): Promise<void> {
    const call = this.#handle(callId);
    await this.resync(callId, reason).catch((error: unknown) => this.#fail(error, callId));
    if (this.engine.getCall(callId)?.state === 'incoming') {
      const [first] = await this.engine.store.readStream(callId);
      this.#incoming(call, first?.at ?? this.#clock(), true);
    }
    this.#schedule(callId);
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
    const receivedAt = delivery.receivedAt ?? this.#clock();
    // what arrived, before the engine emits anything about it (so a reader never misses it)
    if (this.#recorder) this.#record('notification', 'POST', null, null, parseForRecord(delivery.body), receivedAt);
    await this.engine.ingest(delivery.body, {
      receivedAt,
      ...(delivery.messageId !== undefined ? { messageId: delivery.messageId } : {}),
    });
  };

  #record(
    kind: ExchangeLine['kind'],
    method: string | null,
    path: string | null,
    status: number | null,
    body: unknown,
    at = this.#clock(),
  ): void {
    if (!this.#recorder) return;
    try {
      this.#recorder.write({ kind, method, path, status, body: body ?? null, receivedAt: at });
    } catch (error) {
      this.#fail(error, '');
    }
  }

  /**
   * Restores every live call from the log, resyncs it and reschedules its timers (with
   * leases: the calls this instance can own; the others are followed, and taken over when
   * their owner's lease lapses). With a store that announces appends (PostgreSQL), also
   * starts following what other instances write. Resolves to the number of live calls restored.
   */
  async start(): Promise<number> {
    const store = this.engine.store as { subscribe?: (l: AppendListener) => Promise<Unsubscribe>; ready?: () => Promise<void> };
    // a store that starts up in the background (SQLite's writer thread): ready before the first
    // call, whose append would otherwise wait for it out of the call's answer deadline
    if (typeof store.ready === 'function') await store.ready();
    await this.engine.hydrate();
    if (typeof store.subscribe === 'function' && !this.#unsubscribe) {
      this.#unsubscribe = await store.subscribe((streamId, version) => {
        if (this.#stopped) return;
        void this.engine.refresh(streamId, { version }).catch((error: unknown) => this.#fail(error, streamId));
      });
    }
    const live = this.engine.calls().filter((view) => view.state !== 'terminated');
    await Promise.all(
      live.map(async (view) => {
        this.#handle(view.id);
        if (await this.#own(view.id)) await this.#takeOver(view.id, 'rehydrated after a restart');
      }),
    );
    this.#sweep();
    this.#snapshotQuiet();
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
    this.#cancelSweep?.();
    this.#cancelQuiet?.();
    this.#cancelEviction?.();
    this.#cancelRetention?.();
    await this.#archiving;
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    for (const timers of this.#timers.values()) for (const cancel of timers.values()) cancel();
    this.#timers.clear();
    await Promise.allSettled([...this.#resyncs.values(), ...this.#acquiring.values()]);
    const ids = this.#ownedIds();
    await this.engine.snapshot(ids ? { callIds: ids } : {}).catch((error: unknown) => this.#fail(error, ''));
    await Promise.allSettled([...this.#owned.keys()].map((id) => this.#disown(id)));
  }

  /**
   * Places a call (`POST /communications/calls`); resolves to its handle once Graph answered
   * 201. `request` is the body, or a `CreateCallSpec` the Graph client builds into one (the
   * built body is what the log records).
   */
  async createCall(request: CallRequestBody | CreateCallSpec): Promise<Call> {
    this.#refuseIfStopped('createCall');
    if (isCreateCallSpec(request)) {
      if (typeof this.#graph.buildCreateCall !== 'function') {
        throw new SwitchboardError(
          'SWB_INVALID_ARGUMENT',
          'createCall got a CreateCallSpec, but this GraphPort has no buildCreateCall(): pass the request body',
        );
      }
      request = this.#graph.buildCreateCall(request);
    }
    const commandId = this.#newId();
    const at = this.#clock();
    this.#record('request', 'POST', '/v1.0/communications/calls', null, request, at);
    const response = await this.#graph.send('create', { body: request, clientRequestId: commandId });
    this.#record('response', null, null, response.status, response.body);
    const body = response.body as { id?: unknown } | null;
    if (!body || typeof body.id !== 'string') {
      throw new SwitchboardError('SWB_GRAPH_UNEXPECTED', `create answered ${response.status} without a call id`);
    }
    // the call's key: its notifications may spell Graph's id another way, and land on one stream
    const callId = canonicalId(body.id);
    await this.engine.record(callId, {
      kind: 'command',
      id: `cmd:${commandId}`,
      command: 'create',
      args: request,
      clientRequestId: commandId,
      at,
    });
    await this.engine.record(callId, {
      kind: 'commandResult',
      id: `res:${commandId}`,
      commandId: `cmd:${commandId}`,
      command: 'create',
      outcome: 'succeeded',
      status: response.status,
      body: response.body,
    });
    // the call's first notifications may have been folded before the lease was taken: start
    // its timers now (the state decides whether there is anything to keep alive yet)
    if (await this.#own(callId)) this.#schedule(callId);
    return this.#handle(callId);
  }

  /** The handle of a call this switchboard knows (any spelling of its id). */
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
    const callId = canonicalId(id);
    const running = this.#resyncs.get(callId);
    if (running) return running;
    if (this.#stopped) return Promise.reject(stoppedError('resync'));
    const work = (async () => {
      let call: unknown = null;
      let participants: unknown[] | undefined;
      const graphId = this.#graphId(callId);
      try {
        call = (await this.#graph.send('get', { callId: graphId })).body;
        const list = (await this.#graph.send('listParticipants', { callId: graphId })).body as { value?: unknown } | null;
        participants = Array.isArray(list?.value) ? list.value : undefined;
      } catch (error) {
        if ((error as { code?: string }).code !== 'SWB_GRAPH_NOT_FOUND') throw error;
        call = null;
      }
      await this.engine.record(callId, {
        kind: 'resync',
        id: `rs:${this.#newId()}`,
        call,
        ...(participants ? { participants } : {}),
        reason,
      });
      this.#log.info({ callId, reason, found: call !== null }, 'resynced');
    })().finally(() => this.#resyncs.delete(callId));
    this.#resyncs.set(callId, work);
    return work;
  }

  /** After `stop()`, every command is refused before anything is logged or sent. */
  #refuseIfStopped(command: string): void {
    if (this.#stopped) throw stoppedError(command);
  }

  async #command(callId: string, command: CommandName, body: unknown, params: { participantId?: string } = {}): Promise<GraphResponse> {
    this.#refuseIfStopped(command);
    const id = this.#newId();
    await this.engine.record(callId, {
      kind: 'command',
      id: `cmd:${id}`,
      command,
      clientRequestId: id,
      ...(body !== undefined ? { args: body } : {}),
    });
    let response: GraphResponse;
    const graphId = this.#graphId(callId);
    this.#record('request', COMMAND_METHOD[command] ?? 'POST', commandPath(command, graphId, params.participantId), null, body);
    try {
      response = await this.#graph.send(command, {
        callId: graphId,
        clientRequestId: id,
        ...(body !== undefined ? { body } : {}),
        ...(params.participantId !== undefined ? { participantId: params.participantId } : {}),
      });
    } catch (error) {
      const code = (error as { code?: string }).code ?? 'SWB_GRAPH_HTTP';
      const status = (error as { status?: unknown }).status;
      const outcome = code === 'SWB_GRAPH_AMBIGUOUS' ? 'ambiguous' : 'failed';
      this.#record('response', null, null, typeof status === 'number' ? status : 0, { error: { code, message: (error as Error).message } });
      await this.engine.record(callId, {
        kind: 'commandResult',
        id: `res:${id}`,
        commandId: `cmd:${id}`,
        command,
        outcome,
        ...(typeof status === 'number' ? { status } : {}),
        error: { code, message: (error as Error).message },
      });
      // Graph may have acted, or the call is gone: ask Graph instead of guessing or re-sending.
      if (outcome === 'ambiguous' || code === 'SWB_GRAPH_NOT_FOUND') {
        void this.resync(callId, `${command} ${outcome === 'ambiguous' ? 'may or may not have been carried out' : 'found no call'}`).catch(
          (e: unknown) => this.#fail(e, callId),
        );
      }
      throw error;
    }
    this.#record('response', null, null, response.status, response.body);
    await this.engine.record(callId, {
      kind: 'commandResult',
      id: `res:${id}`,
      commandId: `cmd:${id}`,
      command,
      outcome: 'succeeded',
      status: response.status,
      ...(response.body !== undefined && response.body !== null && response.body !== '' ? { body: response.body } : {}),
    });
    return response;
  }

  /** The call id as Graph spelled it (what commands are sent with); the key when Graph has not named the call yet. */
  #graphId(callId: string): string {
    return this.engine.getCall(callId)?.graphId ?? callId;
  }

  /**
   * Tells the bot, and when the notification names a live call this instance owns and has
   * heard from before, asks Graph for the call (the notification may have said it ended).
   */
  #onUndecodable(event: UndecodableEvent): void {
    this.#log.warn(
      { callId: event.callId, reason: event.error.reason, path: event.error.path },
      'notification quarantined: it does not decode',
    );
    this.emit('undecodable', event);
    const callId = event.callId;
    if (callId === null || this.#stopped || !this.owns(callId)) return;
    const state = this.engine.getCall(callId)?.state;
    if (state === undefined || state === 'pending' || state === 'terminated') return;
    void this.resync(callId, `a notification did not decode (${event.error.reason} at ${event.error.path})`).catch((e: unknown) =>
      this.#fail(e, callId),
    );
  }

  #handle(callId: string): Call {
    let call = this.#calls.get(callId);
    if (!call) {
      call = new Call(callId, this.#host);
      this.#calls.set(callId, call);
    }
    return call;
  }

  #onEvent(event: CallEvent): void {
    const call = this.#handle(event.callId);
    this.emit('event', event);
    call.deliver(event);
    switch (event.type) {
      case 'stateChanged':
        if (event.to === 'incoming') {
          // (a handler of incomingCall that throws must not become an unhandled rejection)
          void this.#own(call.id)
            .then(async (owned) => owned && this.#incoming(call, await this.#arrivedAt(call.id, event.cause.position)))
            .catch((error: unknown) => this.#fail(error, call.id));
        } else if (event.to === 'terminated') {
          this.#clearTimers(call.id);
          void this.#disown(call.id);
          this.emit('callEnded', call);
        } else if (this.owns(call.id)) this.#schedule(call.id);
        // else: another instance placed the call or heard it ring, and owns it; if it never
        // took the lease or lost it, the sweep takes the call over
        return;
      case 'resyncNeeded':
        if (this.owns(event.callId)) void this.resync(event.callId, event.reason).catch((e: unknown) => this.#fail(e, event.callId));
        return;
      default:
        return;
    }
  }

  /**
   * When the entry at `position` arrived (its `at`: a notification's `receivedAt`). Graph's 15 s
   * run from then, not from when the entry was folded, which a slow store append delays.
   */
  async #arrivedAt(callId: string, position: number): Promise<number> {
    const entries = await this.engine.store.readStream(callId, { after: position - 1 });
    return entries.find((e) => e.position === position)?.at ?? this.#clock();
  }

  /** Starts the answer deadline and tells the bot (only the owner does, so only one instance answers). */
  #incoming(call: Call, receivedAt: number, restored = false): void {
    if (this.engine.getCall(call.id)?.state !== 'incoming') return;
    if (this.#timers.get(call.id)?.has('answerDeadline') && !restored) return;
    const deadline = receivedAt + this.#answerDeadlineMs;
    this.#timer(
      call.id,
      'answerDeadline',
      Math.max(0, deadline - this.#marginMs - this.#clock()),
      () =>
        // a timer entry the store refuses fails here, outside any caller: report it, do not leave it unhandled
        void this.#deadline(call).catch((error: unknown) => this.#fail(error, call.id)),
    );
    this.emit('incomingCall', call, deadline);
  }

  async #deadline(call: Call): Promise<void> {
    const view = this.engine.getCall(call.id);
    if (view?.state !== 'incoming' || !this.owns(call.id)) return;
    if (Object.values(view.commands).some((c) => ANSWER_COMMANDS.has(c.command))) return;
    await this.engine.record(call.id, { kind: 'timer', id: `t:answerDeadline:${this.#newId()}`, timer: 'answerDeadline' });
    this.#log.warn({ callId: call.id, policy: this.#policy.action }, 'incoming call not handled in time');
    try {
      if (this.#policy.action === 'reject') await call.reject({ reason: this.#policy.reason ?? 'none' });
      else if (this.#policy.action === 'redirect') await call.redirect({ targets: [...this.#policy.targets] });
    } catch (error) {
      this.#fail(error, call.id);
    }
  }

  /** Keeps a live call alive: a keep-alive every interval, from the first state past `incoming`. */
  #schedule(callId: string): void {
    if (this.#stopped || !this.owns(callId)) return;
    const view = this.engine.getCall(callId);
    if (!view || view.state === 'terminated' || view.state === 'incoming' || view.state === 'pending') return;
    if (this.#timers.get(callId)?.has('keepAliveDue')) return;
    const tick = async () => {
      this.#timers.get(callId)?.delete('keepAliveDue');
      if (this.engine.getCall(callId)?.state === 'terminated' || this.#stopped || !this.owns(callId)) return;
      try {
        await this.engine.record(callId, { kind: 'timer', id: `t:keepAliveDue:${this.#newId()}`, timer: 'keepAliveDue' });
        await this.#command(callId, 'keepAlive', undefined);
      } catch (error) {
        this.#fail(error, callId);
      }
      this.#schedule(callId);
    };
    this.#timer(callId, 'keepAliveDue', this.#keepAliveMs, () => void tick());
  }

  #timer(callId: string, name: TimerName, ms: number, fn: () => void): void {
    let timers = this.#timers.get(callId);
    if (!timers) {
      timers = new Map();
      this.#timers.set(callId, timers);
    }
    timers.get(name)?.();
    timers.set(name, this.#setTimer(ms, fn));
  }

  #clearTimers(callId: string): void {
    const timers = this.#timers.get(callId);
    if (!timers) return;
    for (const cancel of timers.values()) cancel();
    this.#timers.delete(callId);
  }

  #fail(error: unknown, callId: string): void {
    const err = error instanceof Error ? error : new Error(String(error));
    // background work refused because stop() ran: what stopping means, not a failure
    if (this.#stopped && (err as { code?: string }).code === 'SWB_STOPPED') return;
    this.#log.error({ callId, code: (err as { code?: string }).code, err: err.message }, 'background work failed');
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }
}

function stoppedError(command: string): SwitchboardError {
  return new SwitchboardError('SWB_STOPPED', `${command} refused: this switchboard was stopped (nothing was sent to Graph)`);
}

/** A scenario to build, as opposed to a request body (which has `mediaConfig`). */
function isCreateCallSpec(request: CallRequestBody | CreateCallSpec): request is CreateCallSpec {
  return (
    typeof request === 'object' &&
    request !== null &&
    typeof (request as { kind?: unknown }).kind === 'string' &&
    !('mediaConfig' in request)
  );
}

/** Creates the runtime. Call `start()` to restore live calls from the store. */
export function createSwitchboard(config: SwitchboardConfig): Switchboard {
  return new Switchboard(config);
}
