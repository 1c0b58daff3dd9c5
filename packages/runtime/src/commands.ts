import {
  canonicalId,
  commandPathOf,
  COMMANDS,
  SwitchboardError,
  type CommandName,
  type CreateCallBody,
  type GraphPort,
  type GraphResponse,
} from '@switchboard/core';
import type { CallRequestBody, CreateCallSpec, GraphClient } from '@switchboard/transport';
import { stoppedError, type RuntimeContext } from './context.js';
import type { Exchanges } from './recorder.js';

/** The Graph client the runtime takes: a `GraphPort`, and `buildCreateCall` for `createCall(spec)`. */
export type RuntimeGraph = GraphPort & Partial<Pick<GraphClient, 'buildCreateCall'>>;

/** The commands that settle an incoming call: it is sent at most one of them. */
export const ANSWER_COMMANDS: ReadonlySet<CommandName> = new Set<CommandName>(['answer', 'reject', 'redirect']);

/** The v1.0 path a command goes to, for recordings (replay maps it back to the command): the command table's. */
function commandPath(command: CommandName, callId: string, participantId: string | undefined): string {
  return `/v1.0/communications/calls${commandPathOf(command, { callId, participantId: participantId ?? '' })}`;
}

/**
 * The command protocol: every command is recorded in the log (a `command` entry), sent, and
 * Graph's answer recorded (a `commandResult` entry) before the caller hears it. A command that
 * may or may not have been carried out, or that found no call, is followed by a resync rather
 * than sent again. Every exchange also goes to the recorder, when there is one.
 */
export class Commands {
  readonly #ctx: RuntimeContext;
  readonly #graph: RuntimeGraph;
  readonly #exchanges: Exchanges;
  readonly #resyncs = new Map<string, Promise<void>>();
  /** Answer, reject or redirect entries this process sent and has not heard back on. */
  readonly #answering = new Set<string>();

  constructor(ctx: RuntimeContext, graph: RuntimeGraph, exchanges: Exchanges) {
    this.#ctx = ctx;
    this.#graph = graph;
    this.#exchanges = exchanges;
  }

  /** The resyncs in flight. */
  inFlight(): Promise<unknown>[] {
    return [...this.#resyncs.values()];
  }

  /**
   * Places a call (`POST /communications/calls`) and records it; resolves to the call's key
   * once Graph answered 201. `beforeRecord` runs once the key is known, before the first entry.
   */
  async create(
    request: CreateCallBody | CallRequestBody | CreateCallSpec,
    beforeRecord?: (callId: string) => Promise<unknown>,
  ): Promise<string> {
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
    const commandId = this.#ctx.newId();
    const at = this.#ctx.clock();
    this.#exchanges.write('request', 'POST', '/v1.0/communications/calls', null, request, at);
    const response = await this.#graph.send('create', { body: request, clientRequestId: commandId });
    this.#exchanges.write('response', null, null, response.status, response.body);
    const body = response.body as { id?: unknown } | null;
    if (!body || typeof body.id !== 'string') {
      throw new SwitchboardError('SWB_GRAPH_UNEXPECTED', `create answered ${response.status} without a call id`);
    }
    // the call's key: its notifications may spell Graph's id another way, and land on one stream
    const callId = canonicalId(body.id);
    await beforeRecord?.(callId);
    await this.#ctx.engine.record(callId, {
      kind: 'command',
      id: `cmd:${commandId}`,
      command: 'create',
      args: request,
      clientRequestId: commandId,
      at,
    });
    await this.#ctx.engine.record(callId, {
      kind: 'commandResult',
      id: `res:${commandId}`,
      commandId: `cmd:${commandId}`,
      command: 'create',
      outcome: 'succeeded',
      status: response.status,
      body: response.body,
    });
    return callId;
  }

  /**
   * GETs the call and its participants and records the answer as an authoritative `resync`
   * entry (a 404 ends the call). One resync per call at a time.
   */
  resync(id: string, reason: string): Promise<void> {
    const callId = canonicalId(id);
    const running = this.#resyncs.get(callId);
    if (running) return running;
    if (this.#ctx.stopped()) return Promise.reject(stoppedError('resync'));
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
      await this.#ctx.engine.record(callId, {
        kind: 'resync',
        id: `rs:${this.#ctx.newId()}`,
        call,
        ...(participants ? { participants } : {}),
        reason,
      });
      this.#ctx.log.info({ callId, reason, found: call !== null }, 'resynced');
    })().finally(() => this.#resyncs.delete(callId));
    this.#resyncs.set(callId, work);
    return work;
  }

  /**
   * A terminated call takes no more commands: Graph would answer 404, so the command is
   * refused here, before anything is logged or sent.
   */
  #refuseIfTerminated(callId: string, command: CommandName): void {
    if (this.#ctx.engine.getCall(callId)?.state !== 'terminated') return;
    throw new SwitchboardError('SWB_CALL_TERMINATED', `${command} refused: call ${callId} has terminated (nothing was sent to Graph)`);
  }

  /** After `stop()`, every command is refused before anything is logged or sent. */
  #refuseIfStopped(command: string): void {
    if (this.#ctx.stopped()) throw stoppedError(command);
  }

  /**
   * An incoming call is answered, rejected or redirected at most once: refused while such a
   * command this process sent is in flight, and once one succeeded. (One a previous process
   * logged without a result does not count: after a restart, Graph's GET decides, and the
   * call is offered again only if Graph says it still rings.)
   */
  #refuseIfHandled(callId: string, command: CommandName): void {
    if (!ANSWER_COMMANDS.has(command)) return;
    const commands = Object.values(this.#ctx.engine.getCall(callId)?.commands ?? {});
    const taken = commands.find(
      (c) => ANSWER_COMMANDS.has(c.command) && (c.outcome === 'succeeded' || (c.outcome === undefined && this.#answering.has(c.id))),
    );
    if (taken) {
      throw new SwitchboardError(
        'SWB_CALL_ALREADY_HANDLED',
        `${command} refused: this call was already sent ${taken.command} (${taken.outcome ?? 'awaiting Graph'}); nothing was sent to Graph`,
      );
    }
  }

  /** Sends a call command through the protocol: record, send, record the answer. */
  async send(callId: string, command: CommandName, body: unknown, params: { participantId?: string } = {}): Promise<GraphResponse> {
    this.#refuseIfStopped(command);
    this.#refuseIfTerminated(callId, command);
    this.#refuseIfHandled(callId, command);
    const id = this.#ctx.newId();
    if (ANSWER_COMMANDS.has(command)) this.#answering.add(`cmd:${id}`);
    try {
      return await this.#send(callId, command, body, params, id);
    } finally {
      this.#answering.delete(`cmd:${id}`);
    }
  }

  async #send(callId: string, command: CommandName, body: unknown, params: { participantId?: string }, id: string): Promise<GraphResponse> {
    await this.#ctx.engine.record(callId, {
      kind: 'command',
      id: `cmd:${id}`,
      command,
      clientRequestId: id,
      ...(body !== undefined ? { args: body } : {}),
    });
    let response: GraphResponse;
    const graphId = this.#graphId(callId);
    this.#exchanges.write('request', COMMANDS[command].method, commandPath(command, graphId, params.participantId), null, body);
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
      this.#exchanges.write('response', null, null, typeof status === 'number' ? status : 0, {
        error: { code, message: (error as Error).message },
      });
      await this.#ctx.engine.record(callId, {
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
          (e: unknown) => this.#ctx.fail(e, callId),
        );
      }
      throw error;
    }
    this.#exchanges.write('response', null, null, response.status, response.body);
    await this.#ctx.engine.record(callId, {
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
    return this.#ctx.engine.getCall(callId)?.graphId ?? callId;
  }
}

/** A scenario to build, as opposed to a request body (which has `mediaConfig`). */
function isCreateCallSpec(request: CreateCallBody | CallRequestBody | CreateCallSpec): request is CreateCallSpec {
  return (
    typeof request === 'object' &&
    request !== null &&
    typeof (request as { kind?: unknown }).kind === 'string' &&
    !('mediaConfig' in request)
  );
}
