import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'eventemitter3';
import {
  createEngine,
  InMemoryEventStore,
  SwitchboardError,
  type CallEvent,
  type CommandName,
  type Engine,
  type EventStore,
  type RosterMode,
  type TimerName,
} from '@switchboard/core';
import { Call, type CallHost } from './call.js';
import { silentLogger, type GraphPort, type GraphResponse, type Logger } from './ports.js';
import type { ExchangeLine, Recorder } from './recorder.js';

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

const COMMAND_METHOD: Partial<Record<CommandName, string>> = { get: 'GET', delete: 'DELETE', listParticipants: 'GET', deleteParticipant: 'DELETE', listAudioRoutingGroups: 'GET' };

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
 * Not here yet: the per-call lease that lets several instances share calls (the PostgreSQL
 * store has the lease; the runtime does not take it), and logging exchange recordings.
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
    });
    this.#host = {
      view: (id) => this.engine.getCall(id),
      command: (id, command, body, params) => this.#command(id, command, body, params),
      resync: (id, reason) => this.resync(id, reason),
      operationTimeoutMs: config.operationTimeoutMs ?? 5 * 60_000,
      setTimer: this.#setTimer,
    };
    this.engine.on('event', (event) => this.#onEvent(event));
  }

  /**
   * The webhook's sink: resolves once the delivery is in the log (so the webhook may answer
   * 202), having folded it and emitted its events. Throws `DecodeError` for a malformed body
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

  #record(kind: ExchangeLine['kind'], method: string | null, path: string | null, status: number | null, body: unknown, at = this.#clock()): void {
    if (!this.#recorder) return;
    try {
      this.#recorder.write({ kind, method, path, status, body: body ?? null, receivedAt: at });
    } catch (error) {
      this.#fail(error, '');
    }
  }

  /** Restores every live call from the log, resyncs it and reschedules its timers. Resolves to the number restored. */
  async start(): Promise<number> {
    await this.engine.hydrate();
    const live = this.engine.calls().filter((view) => view.state !== 'terminated');
    await Promise.all(
      live.map(async (view) => {
        const call = this.#handle(view.id);
        await this.resync(view.id, 'rehydrated after a restart').catch((error: unknown) => this.#fail(error, view.id));
        if (this.engine.getCall(view.id)?.state === 'incoming') {
          const [first] = await this.engine.store.readStream(view.id);
          this.#incoming(call, first?.at ?? this.#clock());
        }
        this.#schedule(view.id);
      }),
    );
    this.#log.info({ calls: live.length }, 'switchboard started');
    return live.length;
  }

  /** Stops taking deliveries and clears every timer. The log keeps everything. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const timers of this.#timers.values()) for (const cancel of timers.values()) cancel();
    this.#timers.clear();
    await Promise.allSettled([...this.#resyncs.values()]);
  }

  /** Places a call (`POST /communications/calls`); resolves to its handle once Graph answered 201. */
  async createCall(request: unknown): Promise<Call> {
    const commandId = this.#newId();
    const at = this.#clock();
    this.#record('request', 'POST', '/v1.0/communications/calls', null, request, at);
    const response = await this.#graph.send('create', { body: request, clientRequestId: commandId });
    this.#record('response', null, null, response.status, response.body);
    const body = response.body as { id?: unknown } | null;
    if (!body || typeof body.id !== 'string') {
      throw new SwitchboardError('SWB_GRAPH_UNEXPECTED', `create answered ${response.status} without a call id`);
    }
    const callId = body.id;
    await this.engine.record(callId, { kind: 'command', id: `cmd:${commandId}`, command: 'create', args: request, clientRequestId: commandId, at });
    await this.engine.record(callId, {
      kind: 'commandResult',
      id: `res:${commandId}`,
      commandId: `cmd:${commandId}`,
      command: 'create',
      outcome: 'succeeded',
      status: response.status,
      body: response.body,
    });
    return this.#handle(callId);
  }

  /** The handle of a call this switchboard knows. */
  call(callId: string): Call | undefined {
    return this.engine.getCall(callId) ? this.#handle(callId) : undefined;
  }

  calls(): Call[] {
    return this.engine.calls().map((view) => this.#handle(view.id));
  }

  /**
   * GETs the call and its participants and records the answer as an authoritative `resync`
   * entry (a 404 ends the call). One resync per call at a time.
   */
  resync(callId: string, reason: string): Promise<void> {
    const running = this.#resyncs.get(callId);
    if (running) return running;
    const work = (async () => {
      let call: unknown = null;
      let participants: unknown[] | undefined;
      try {
        call = (await this.#graph.send('get', { callId })).body;
        const list = (await this.#graph.send('listParticipants', { callId })).body as { value?: unknown } | null;
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

  async #command(callId: string, command: CommandName, body: unknown, params: { participantId?: string } = {}): Promise<GraphResponse> {
    const id = this.#newId();
    await this.engine.record(callId, {
      kind: 'command',
      id: `cmd:${id}`,
      command,
      clientRequestId: id,
      ...(body !== undefined ? { args: body } : {}),
    });
    let response: GraphResponse;
    this.#record('request', COMMAND_METHOD[command] ?? 'POST', commandPath(command, callId, params.participantId), null, body);
    try {
      response = await this.#graph.send(command, {
        callId,
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
        // events are emitted while the delivery is ingested: now is when it arrived
        if (event.to === 'incoming') this.#incoming(call, this.#clock());
        else if (event.to === 'terminated') {
          this.#clearTimers(call.id);
          this.emit('callEnded', call);
        } else this.#schedule(call.id);
        return;
      case 'resyncNeeded':
        void this.resync(event.callId, event.reason).catch((e: unknown) => this.#fail(e, event.callId));
        return;
      default:
        return;
    }
  }

  #incoming(call: Call, receivedAt: number): void {
    const deadline = receivedAt + this.#answerDeadlineMs;
    this.#timer(call.id, 'answerDeadline', Math.max(0, deadline - this.#marginMs - this.#clock()), () => void this.#deadline(call));
    this.emit('incomingCall', call, deadline);
  }

  async #deadline(call: Call): Promise<void> {
    const view = this.engine.getCall(call.id);
    if (!view || view.state !== 'incoming') return;
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
    if (this.#stopped) return;
    const view = this.engine.getCall(callId);
    if (!view || view.state === 'terminated' || view.state === 'incoming' || view.state === 'pending') return;
    if (this.#timers.get(callId)?.has('keepAliveDue')) return;
    const tick = async () => {
      this.#timers.get(callId)?.delete('keepAliveDue');
      if (this.engine.getCall(callId)?.state === 'terminated' || this.#stopped) return;
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
    this.#log.error({ callId, code: (err as { code?: string }).code, err: err.message }, 'background work failed');
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }
}

/** Creates the runtime. Call `start()` to restore live calls from the store. */
export function createSwitchboard(config: SwitchboardConfig): Switchboard {
  return new Switchboard(config);
}
