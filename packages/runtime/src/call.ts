import type { Writable } from 'node:stream';
import { EventEmitter } from 'eventemitter3';
import {
  COMMAND_NAMES,
  COMMANDS,
  canonicalId,
  SwitchboardError,
  type CallEvent,
  type CallEventType,
  type CallMethodCommand,
  type CallState,
  type CallView,
  type CommandBodyArgs,
  type CommandName,
  type CommandResponse,
  type GraphParticipant,
  type GraphResponse,
  type Logger,
  type OperationView,
  type ParticipantMethodCommand,
} from '@switchboard/core';
import { downloadRecording, type RecordingDownload, type RecordingDownloadOptions } from '@switchboard/transport';

/** The runtime services a call handle uses; the switchboard implements them. */
export interface CallHost {
  view(callId: string): CallView | undefined;
  command(callId: string, command: CommandName, body?: unknown, params?: { participantId?: string }): Promise<GraphResponse>;
  resync(callId: string, reason: string): Promise<void>;
  operationTimeoutMs: number;
  setTimer(ms: number, fn: () => void): () => void;
  /** The switchboard's logger (a handle's lines add the call's id). */
  readonly log: Logger;
}

/**
 * A call handle's events: every engine event of the call under its own name (typed by it),
 * every one as `event`, and `updated` with the views before and after whenever the call's view
 * changed between two events.
 */
export type CallHandleEvents = { [T in CallEventType]: [Extract<CallEvent, { type: T }>] } & {
  event: [CallEvent];
  /**
   * The call's view changed: `before` is the view at the previous event (undefined for the
   * first), `after` the view now. Emitted with the events, so a change that came with no event
   * of its own (a media state, an unknown property) shows at the next event.
   */
  updated: [change: { readonly before: CallView | undefined; readonly after: CallView; readonly cause: CallEvent }];
};

/**
 * How an operation of command `C` ended, as the view has it: the view's bookkeeping and the
 * operation's own properties (`recordingLocation` and `recordingAccessToken` for `record`).
 */
export type OperationOutcome<C extends CommandName> = OperationView &
  Readonly<Omit<Exclude<CommandResponse<C>, null>, 'id' | 'status' | '@odata.type'>>;

/** What a command of the table resolves to on a handle: an operation handle, or Graph's answer. */
export type CommandOutcome<C extends CommandName> = (typeof COMMANDS)[C]['result'] extends 'operation'
  ? OperationHandle<OperationOutcome<C>>
  : GraphResponse<CommandResponse<C>>;

/**
 * The `Call` handle's command methods, one per row of core's command table that names one: a
 * participant-scoped command takes the participant id first (it cannot be called without
 * one), then the body when the command has one.
 */
export type CallCommands = {
  readonly [M in keyof CallMethodCommand]: (
    ...args: (typeof COMMANDS)[CallMethodCommand[M]]['scope'] extends 'participant'
      ? [participantId: string, ...CommandBodyArgs<CallMethodCommand[M]>]
      : CommandBodyArgs<CallMethodCommand[M]>
  ) => Promise<CommandOutcome<CallMethodCommand[M]>>;
};

/** A participant handle's command methods: the participant-scoped rows of the command table. */
export type ParticipantCommands = {
  readonly [M in keyof ParticipantMethodCommand]: (
    ...args: CommandBodyArgs<ParticipantMethodCommand[M]>
  ) => Promise<CommandOutcome<ParticipantMethodCommand[M]>>;
};

/** An operation Graph runs for a while (playPrompt, record, invite, ...). */
export interface OperationHandle<R extends OperationView = OperationView> {
  readonly id: string;
  /** The status in Graph's first answer. */
  readonly status: string | undefined;
  /**
   * Settles when the notification that ends the operation arrives (or at once when Graph's
   * answer, or a notification that beat it, already says so): resolves on `completed`,
   * rejects with an `OperationFailedError` on `failed`, with an `OperationOutcomeUnknownError`
   * (`SWB_OPERATION_OUTCOME_UNKNOWN`) when Graph deleted the operation without a status (the
   * view says `ended`), or `SWB_OPERATION_TIMEOUT`. Leaving it unawaited is fine: its
   * rejection is then no unhandled rejection.
   */
  readonly completed: Promise<R>;
}

/** The operation ended `failed`: `resultInfo` says why. */
export class OperationFailedError extends SwitchboardError {
  readonly operation: OperationView;
  constructor(operation: OperationView) {
    const info = operation['resultInfo'] as { code?: unknown; subcode?: unknown; message?: unknown } | undefined;
    super(
      'SWB_OPERATION_FAILED',
      `operation ${operation.id} (${operation.type ?? 'operation'}) failed${info ? `: ${String(info.code)}/${String(info.subcode)} ${String(info.message ?? '')}` : ''}`,
    );
    this.name = 'OperationFailedError';
    this.operation = operation;
  }
}

/**
 * Graph deleted the operation without saying how it ended (an invite whose invitee declined
 * ends this way): it is over, and its outcome is unknown. The view's status is `ended`.
 */
export class OperationOutcomeUnknownError extends SwitchboardError {
  readonly operation: OperationView;
  constructor(operation: OperationView) {
    super(
      'SWB_OPERATION_OUTCOME_UNKNOWN',
      `operation ${operation.id} (${operation.type ?? 'operation'}) ended without a status: Graph deleted it and did not say how it ended`,
    );
    this.name = 'OperationOutcomeUnknownError';
    this.operation = operation;
  }
}

/**
 * A handle on one call: its current view, every command of the call resource (from core's
 * command table: `answer`, `playPrompt`, `record`, `get`, `hangUp`, `muteParticipant(id)`...),
 * operations as promises, and its events. Commands are recorded in the log before and after
 * they are sent; on a terminated call they are refused without a request
 * (`SWB_CALL_TERMINATED`).
 */
// The command methods are installed from the table (the static block below); this interface
// gives them their types.
export interface Call extends CallCommands {}
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: see the interface above
export class Call extends EventEmitter<CallHandleEvents> {
  readonly id: string;
  readonly #host: CallHost;
  readonly #waiters = new Set<() => void>();
  /** The view at the last event delivered (views are frozen: a new object is a change). */
  #lastView: CallView | undefined;

  constructor(id: string, host: CallHost) {
    super();
    this.id = id;
    this.#host = host;
  }

  /** The call's current projection. */
  get view(): CallView {
    const view = this.#host.view(this.id);
    if (!view) throw new SwitchboardError('SWB_UNKNOWN_CALL', `call ${this.id} is not known to this switchboard`);
    return view;
  }

  get state(): CallView['state'] {
    return this.#host.view(this.id)?.state ?? 'pending';
  }

  /**
   * @internal whether anything awaits the call (a `waitFor`, an operation's end): an instance
   * that does not own the call keeps it loaded while something does.
   */
  get awaited(): boolean {
    return this.#waiters.size > 0;
  }

  /** @internal the switchboard forwards the engine's events for this call. */
  deliver(event: CallEvent): void {
    this.emit('event', event);
    this.emit(event.type, event as never);
    const after = this.#host.view(this.id);
    if (after && after !== this.#lastView) {
      const before = this.#lastView;
      this.#lastView = after;
      this.emit('updated', { before, after, cause: event });
    }
    for (const wake of [...this.#waiters]) wake();
  }

  /**
   * Resolves when the call is in `state` (at once if it already is); rejects when the call
   * terminates first or `timeoutMs` passes (`SWB_WAIT_TIMEOUT`).
   */
  waitFor(state: CallState, options: { timeoutMs?: number } = {}): Promise<CallView> {
    return new Promise((resolve, reject) => {
      let cancelTimer = () => {};
      const check = () => {
        const view = this.#host.view(this.id);
        if (view?.state === state) {
          done();
          resolve(view);
        } else if (view?.state === 'terminated') {
          done();
          reject(new SwitchboardError('SWB_CALL_TERMINATED', `call ${this.id} terminated before reaching ${state}`));
        }
      };
      const done = () => {
        this.#waiters.delete(check);
        cancelTimer();
      };
      this.#waiters.add(check);
      if (options.timeoutMs !== undefined) {
        cancelTimer = this.#host.setTimer(options.timeoutMs, () => {
          done();
          reject(
            new SwitchboardError(
              'SWB_WAIT_TIMEOUT',
              `call ${this.id} did not reach ${state} within ${options.timeoutMs} ms (it is ${this.state})`,
            ),
          );
        });
      }
      check();
    });
  }

  /**
   * A handle on an operation the log knows, whoever started it: one started before a restart
   * (its earlier promise went with the old process), or by another instance. `completed`
   * settles as for a fresh handle (at once when it has already ended). Undefined for an id
   * the call's log has not seen.
   */
  operation(operationId: string): OperationHandle | undefined {
    const op = this.#host.view(this.id)?.operations[canonicalId(operationId)];
    if (!op) return undefined;
    return { id: operationId, status: op.status, completed: this.#settled(operationId) };
  }

  /**
   * Downloads what a completed `record` operation of this call recorded, from its
   * `recordingLocation` with its `recordingAccessToken` (transport's `downloadRecording`: a
   * size limit, a timeout, an abort signal, redirects that never carry the token to another
   * host), into `to`, a file path or a writable stream. `operation` is the operation's id or
   * what its `completed` resolved to.
   *
   * Rejects with `SWB_RECORDING_UNAVAILABLE` when the operation is not a completed record
   * operation with a location and a token (still running, failed, cancelled: nothing is
   * sent), else as `downloadRecording` does (`SWB_RECORDING_UNAUTHORIZED` for an expired
   * token, `SWB_RECORDING_TOO_LARGE`, ...). The token is never logged; the download's debug
   * lines carry the call's id.
   *
   * @example
   * ```ts
   * const op = await call.record({ maxRecordDurationInSeconds: 10, stopTones: ['#'] });
   * await op.completed;
   * await call.downloadRecording(op.id, `recordings/${op.id}.wav`);
   * ```
   */
  async downloadRecording(
    operation: string | OperationView,
    to: string | Writable,
    options: RecordingDownloadOptions = {},
  ): Promise<RecordingDownload> {
    const id = typeof operation === 'string' ? operation : operation?.id;
    if (typeof id !== 'string' || id === '')
      throw new SwitchboardError('SWB_INVALID_ARGUMENT', 'downloadRecording needs an operation or its id');
    // the view's (the latest), else the outcome given (a call no longer held)
    const op = this.#host.view(this.id)?.operations[canonicalId(id)] ?? (typeof operation === 'string' ? undefined : operation);
    const location = op?.['recordingLocation'];
    const accessToken = op?.['recordingAccessToken'];
    if (
      op?.status !== 'completed' ||
      typeof location !== 'string' ||
      location === '' ||
      typeof accessToken !== 'string' ||
      accessToken === ''
    ) {
      throw new SwitchboardError(
        'SWB_RECORDING_UNAVAILABLE',
        op === undefined
          ? `call ${this.id} has no operation ${id}`
          : `operation ${id} (${op.type ?? 'operation'}, ${String(op.status ?? 'no status')}) has no recording to download: a completed record operation has a recordingLocation and a recordingAccessToken`,
      );
    }
    const log = options.logger ?? this.#host.log;
    const callId = this.id;
    const withCall: Logger = {
      debug: (obj, msg) => log.debug({ callId, operationId: id, ...obj }, msg),
      info: (obj, msg) => log.info({ callId, operationId: id, ...obj }, msg),
      warn: (obj, msg) => log.warn({ callId, operationId: id, ...obj }, msg),
      error: (obj, msg) => log.error({ callId, operationId: id, ...obj }, msg),
    };
    return downloadRecording({ location, accessToken }, to, { ...options, logger: withCall });
  }

  static {
    for (const command of COMMAND_NAMES) {
      const name = COMMANDS[command].call;
      if (name === null) continue;
      Object.defineProperty(Call.prototype, name, {
        value(this: Call, ...args: unknown[]) {
          return this.#invoke(command, args);
        },
        writable: true,
        configurable: true,
      });
    }
  }

  /**
   * A handle on one participant of the call: its view and the participant-scoped commands
   * (`mute`, `remove`, `startHoldMusic`, `stopHoldMusic`). The id is not checked against the
   * roster (Graph answers 404 for a participant it does not know).
   */
  participant(participantId: string): ParticipantHandle {
    if (typeof participantId !== 'string' || participantId.length === 0) {
      throw new SwitchboardError('SWB_INVALID_ARGUMENT', 'participant() needs a participant id');
    }
    return new ParticipantHandle(this, participantId, (command, args) => this.#invoke(command, [participantId, ...args]));
  }

  /** A command of the table, its arguments as the handle method took them. */
  #invoke(command: CommandName, args: readonly unknown[]): Promise<unknown> {
    const spec = COMMANDS[command];
    let params: { participantId?: string } = {};
    let rest = args;
    if (spec.scope === 'participant') {
      const [participantId] = args;
      if (typeof participantId !== 'string' || participantId.length === 0) {
        return Promise.reject(
          new SwitchboardError(
            'SWB_INVALID_ARGUMENT',
            `${spec.call ?? command} needs a participant id first, got ${JSON.stringify(participantId)}`,
          ),
        );
      }
      params = { participantId };
      rest = args.slice(1);
    }
    const body = spec.body === 'none' ? undefined : (rest[0] ?? (spec.body === 'optional' ? {} : undefined));
    if (spec.result === 'operation') return this.#operation(command, body, params);
    return this.#host.command(this.id, command, body, params);
  }

  /** Asks Graph for the call and its roster now, and records the answer as authoritative. */
  resync(reason = 'requested'): Promise<void> {
    return this.#host.resync(this.id, reason);
  }

  async #operation(command: CommandName, body: unknown, params: { participantId?: string } = {}): Promise<OperationHandle> {
    const response = await this.#host.command(this.id, command, body, params);
    const answer = response.body as { id?: unknown; status?: unknown } | null;
    if (!answer || typeof answer.id !== 'string') {
      throw new SwitchboardError('SWB_GRAPH_UNEXPECTED', `${command} answered without an operation id`);
    }
    const id = answer.id;
    return { id, status: typeof answer.status === 'string' ? answer.status : undefined, completed: this.#settled(id) };
  }

  /**
   * The operation's end, from the log: already there, or a later `operationSettled`. A bot
   * may leave it alone (the view and `operationSettled` say the same): its failure or
   * timeout then rejects for nobody, so it is marked handled here; whoever awaits it still
   * gets the rejection.
   */
  #settled(operationId: string): Promise<OperationView> {
    const settled = new Promise<OperationView>((resolve, reject) => {
      let cancelTimer = () => {};
      const check = () => {
        const op = this.#host.view(this.id)?.operations[canonicalId(operationId)];
        if (op?.status === 'completed') {
          done();
          resolve(op);
        } else if (op?.status === 'failed') {
          done();
          reject(new OperationFailedError(op));
        } else if (op?.status === 'ended') {
          done();
          reject(new OperationOutcomeUnknownError(op));
        }
      };
      const done = () => {
        this.#waiters.delete(check);
        cancelTimer();
      };
      this.#waiters.add(check);
      cancelTimer = this.#host.setTimer(this.#host.operationTimeoutMs, () => {
        done();
        reject(
          new SwitchboardError(
            'SWB_OPERATION_TIMEOUT',
            `operation ${operationId} did not settle within ${this.#host.operationTimeoutMs} ms`,
          ),
        );
      });
      check();
    });
    settled.catch(() => undefined);
    return settled;
  }
}

/**
 * A handle on one participant of a call: `call.participant(id)`. Its command methods are the
 * participant-scoped rows of core's command table, recorded in the call's log like every
 * command.
 */
export interface ParticipantHandle extends ParticipantCommands {}
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: see the interface above
export class ParticipantHandle {
  readonly id: string;
  readonly call: Call;
  readonly #invoke: (command: CommandName, args: readonly unknown[]) => Promise<unknown>;

  constructor(call: Call, id: string, invoke: (command: CommandName, args: readonly unknown[]) => Promise<unknown>) {
    this.call = call;
    this.id = id;
    this.#invoke = invoke;
  }

  /** The participant as the call's view has it; undefined when the roster has no such participant. */
  get view(): GraphParticipant | undefined {
    return this.call.view.participants[this.id];
  }

  static {
    for (const command of COMMAND_NAMES) {
      const name = COMMANDS[command].participant;
      if (name === null) continue;
      Object.defineProperty(ParticipantHandle.prototype, name, {
        value(this: ParticipantHandle, ...args: unknown[]) {
          return this.#invoke(command, args);
        },
        writable: true,
        configurable: true,
      });
    }
  }
}
