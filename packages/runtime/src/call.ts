import { EventEmitter } from 'eventemitter3';
import {
  canonicalId,
  SwitchboardError,
  type CallEvent,
  type CallState,
  type CallView,
  type CommandName,
  type GraphResponse,
  type OperationView,
} from '@switchboard/core';
import type { Modality } from '@switchboard/transport';

/** The runtime services a call handle uses; the switchboard implements them. */
export interface CallHost {
  view(callId: string): CallView | undefined;
  command(callId: string, command: CommandName, body?: unknown, params?: { participantId?: string }): Promise<GraphResponse>;
  resync(callId: string, reason: string): Promise<void>;
  operationTimeoutMs: number;
  setTimer(ms: number, fn: () => void): () => void;
}

export type CallHandleEvents = {
  event: [CallEvent];
  stateChanged: [Extract<CallEvent, { type: 'stateChanged' }>];
  participantJoined: [Extract<CallEvent, { type: 'participantJoined' }>];
  participantLeft: [Extract<CallEvent, { type: 'participantLeft' }>];
  participantAdmitted: [Extract<CallEvent, { type: 'participantAdmitted' }>];
  toneReceived: [Extract<CallEvent, { type: 'toneReceived' }>];
  operationSettled: [Extract<CallEvent, { type: 'operationSettled' }>];
};

/** An operation Graph runs for a while (playPrompt, record, invite, ...). */
export interface OperationHandle {
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
  readonly completed: Promise<OperationView>;
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
 * A handle on one call: its current view, every command of the call resource, operations as
 * promises, and its events. Commands are recorded in the log before and after they are sent.
 */
export class Call extends EventEmitter<CallHandleEvents> {
  readonly id: string;
  readonly #host: CallHost;
  readonly #waiters = new Set<() => void>();

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

  /** @internal the switchboard forwards the engine's events for this call. */
  deliver(event: CallEvent): void {
    this.emit('event', event);
    if (event.type in CALL_EVENT_CHANNELS) this.emit(event.type as keyof CallHandleEvents, event as never);
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

  // Call handling
  /** Answers an incoming call; Graph requires `acceptedModalities` (`['audio']` at least). */
  answer(body: {
    callbackUri: string;
    mediaConfig: unknown;
    acceptedModalities: readonly Modality[];
    [k: string]: unknown;
  }): Promise<GraphResponse> {
    return this.#host.command(this.id, 'answer', body);
  }
  reject(body: { reason?: 'none' | 'busy' | 'forbidden'; callbackUri?: string } = {}): Promise<GraphResponse> {
    return this.#host.command(this.id, 'reject', body);
  }
  redirect(body: { targets: unknown[]; timeout?: number; callbackUri?: string; [k: string]: unknown }): Promise<GraphResponse> {
    return this.#host.command(this.id, 'redirect', body);
  }
  transfer(body: { transferTarget: unknown; transferee?: unknown; [k: string]: unknown }): Promise<GraphResponse> {
    return this.#host.command(this.id, 'transfer', body);
  }
  /** Hangs up (DELETE the call). */
  hangUp(): Promise<GraphResponse> {
    return this.#host.command(this.id, 'delete');
  }
  keepAlive(): Promise<GraphResponse> {
    return this.#host.command(this.id, 'keepAlive');
  }

  // Group calls
  invite(body: { participants: unknown[]; clientContext?: string }): Promise<OperationHandle> {
    return this.#operation('invite', body);
  }
  muteAll(body: { participants?: string[]; clientContext?: string } = {}): Promise<OperationHandle> {
    return this.#operation('muteAll', body);
  }
  muteParticipant(participantId: string, body: { clientContext?: string } = {}): Promise<OperationHandle> {
    return this.#operation('muteParticipant', body, { participantId });
  }
  removeParticipant(participantId: string): Promise<GraphResponse> {
    return this.#host.command(this.id, 'deleteParticipant', undefined, { participantId });
  }
  listParticipants(): Promise<GraphResponse> {
    return this.#host.command(this.id, 'listParticipants');
  }

  // Interactive voice response
  playPrompt(body: { prompts: unknown[]; clientContext?: string; [k: string]: unknown }): Promise<OperationHandle> {
    return this.#operation('playPrompt', body);
  }
  record(body: { [k: string]: unknown } = {}): Promise<OperationHandle> {
    return this.#operation('record', body);
  }
  cancelMediaProcessing(body: { clientContext?: string } = {}): Promise<OperationHandle> {
    return this.#operation('cancelMediaProcessing', body);
  }
  subscribeToTone(body: { clientContext?: string } = {}): Promise<OperationHandle> {
    return this.#operation('subscribeToTone', body);
  }
  sendDtmfTones(body: { tones: string[]; delayBetweenTonesMs?: number; clientContext?: string }): Promise<OperationHandle> {
    return this.#operation('sendDtmfTones', body);
  }

  // Self participant, recording, hold music
  mute(body: { clientContext?: string } = {}): Promise<OperationHandle> {
    return this.#operation('mute', body);
  }
  unmute(body: { clientContext?: string } = {}): Promise<OperationHandle> {
    return this.#operation('unmute', body);
  }
  changeScreenSharingRole(body: { role: 'viewer' | 'sharer' }): Promise<GraphResponse> {
    return this.#host.command(this.id, 'changeScreenSharingRole', body);
  }
  updateRecordingStatus(body: { status: string; clientContext?: string }): Promise<OperationHandle> {
    return this.#operation('updateRecordingStatus', body);
  }
  /**
   * Puts a participant on hold with music
   * (`POST /communications/calls/{id}/participants/{participantId}/startHoldMusic`).
   */
  startHoldMusic(participantId: string, body: { customPrompt?: unknown; clientContext?: string } = {}): Promise<OperationHandle> {
    return this.#operation('startHoldMusic', body, { participantId });
  }
  /** Takes a participant off hold (`POST .../participants/{participantId}/stopHoldMusic`). */
  stopHoldMusic(participantId: string, body: { clientContext?: string } = {}): Promise<OperationHandle> {
    return this.#operation('stopHoldMusic', body, { participantId });
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

const CALL_EVENT_CHANNELS = {
  stateChanged: true,
  participantJoined: true,
  participantLeft: true,
  participantAdmitted: true,
  toneReceived: true,
  operationSettled: true,
} as const;
