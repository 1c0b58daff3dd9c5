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
  type CommandBody,
  type CommandBodyArgs,
  type CommandName,
  type CommandResponse,
  type GraphParticipant,
  type GraphResponse,
  type InvitationTarget,
  type Logger,
  type OperationView,
  type ParticipantInfoBody,
  type ParticipantMethodCommand,
  type StoredEntry,
} from '@switchboard/core';
import { downloadRecording, type RecordingDownload, type RecordingDownloadOptions } from '@switchboard/transport';
import { collectProgress, isDtmfKey, type CollectDigitsOptions, type CollectedDigits } from './digits.js';
import { transferProof, transferTracker, type TransferHandle, type TransferOutcome } from './transfer.js';

/** The runtime services a call handle uses; the switchboard implements them. */
export interface CallHost {
  view(callId: string): CallView | undefined;
  command(callId: string, command: CommandName, body?: unknown, params?: { participantId?: string }): Promise<GraphResponse>;
  resync(callId: string, reason: string): Promise<void>;
  /** The call's log entries after `position`. */
  entries(callId: string, position: number): Promise<readonly StoredEntry[]>;
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
 * one), then the body when the command has one. `Call` has each of them but `transfer`, its
 * own method, which resolves to a `TransferHandle` (Graph's answer and the transfer's outcome).
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
 * How long a transfer's outcome waits, after the call ended by a GET that found no call, for
 * the notifications that say how the transfer ended (they may be on their way).
 */
const TRANSFER_PROOF_WAIT_MS = 2_000;

/** A call's `#until`, for its participant handles (set by `Call`'s static block). */
let untilOf: (call: Call) => <T>(wait: Wait<T>) => Promise<T>;

/** What every wait of a handle takes besides its condition. */
export interface WaitOptions {
  /** Reject with `SWB_WAIT_TIMEOUT` after this long (ms). Default: no limit. */
  readonly timeoutMs?: number;
  /** Reject with `SWB_ABORTED` when it fires. */
  readonly signal?: AbortSignal;
}

/** A wait's verdict: a value settles it, an error rejects it, undefined waits on. */
type Verdict<T> = { readonly value: T } | { readonly error: Error } | undefined;

/** One wait on a call, as the handle runs it (`Call.#until`). */
interface Wait<T> {
  /**
   * Asked at once and again at every event of the call (with the event), and when the wait
   * calls `recheck`: the call's current view decides.
   */
  check(view: CallView | undefined, event: CallEvent | undefined, recheck: () => void): Verdict<T>;
  readonly timeoutMs?: number | undefined;
  /** The verdict when the time is up (a collection resolves with what it has). */
  onTimeout(): NonNullable<Verdict<T>>;
  readonly signal?: AbortSignal | undefined;
  /** What is waited for, for the abort message. */
  readonly what: string;
  /** Runs once the wait has settled. */
  cleanup?(): void;
  /** Gets the wait's own settle, for a caller that must end it from outside (a command that failed). */
  started?(settle: (verdict: NonNullable<Verdict<T>>) => void): void;
}

function abortedError(callId: string, what: string, signal: AbortSignal): SwitchboardError {
  return new SwitchboardError('SWB_ABORTED', `call ${callId}: ${what} was aborted`, { cause: signal.reason });
}

function terminatedError(callId: string, what: string): SwitchboardError {
  return new SwitchboardError('SWB_CALL_TERMINATED', `call ${callId} terminated before ${what}`);
}

/** The argument error of a wait's options, if they have one. */
function checkWaitOptions(options: WaitOptions, method: string): SwitchboardError | undefined {
  return badDuration(method, 'timeoutMs', options.timeoutMs);
}

/** The error for a duration option (ms) that is not a number >= 0 (or, unless `required`, absent); undefined when it is fine. */
function badDuration(method: string, name: string, value: unknown, required = false): SwitchboardError | undefined {
  if ((value === undefined && !required) || (typeof value === 'number' && value >= 0)) return undefined;
  return new SwitchboardError('SWB_INVALID_ARGUMENT', `${method}: ${name} must be a number >= 0, got ${String(value)}`);
}

/**
 * A handle on one call: its current view, every command of the call resource (from core's
 * command table: `answer`, `playPrompt`, `record`, `get`, `hangUp`, `muteParticipant(id)`...),
 * operations as promises, and its events. Commands are recorded in the log before and after
 * they are sent; on a terminated call they are refused without a request
 * (`SWB_CALL_TERMINATED`).
 */
// The command methods are installed from the table (the static block below); this interface
// gives them their types. `transfer` is the class's own: it resolves to a `TransferHandle`.
export interface Call extends Omit<CallCommands, 'transfer'> {}
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: see the interface above
export class Call extends EventEmitter<CallHandleEvents> {
  readonly id: string;
  readonly #host: CallHost;
  readonly #waiters = new Set<(event?: CallEvent) => void>();
  /** The view at the last event delivered (views are frozen: a new object is a change). */
  #lastView: CallView | undefined;
  /** A `subscribeToTone` this handle sent for `collectDigits` and has not heard back on. */
  #subscribing: Promise<unknown> | undefined;

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
    for (const wake of [...this.#waiters]) wake(event);
  }

  /**
   * Every wait of the handle (`waitFor`, an operation's end, `collectDigits`, a transfer's
   * outcome, a participant's `waitFor`): its check is asked at once and at each event of the
   * call, as `updated` is emitted; a timeout and an abort signal end it too.
   */
  #until<T>(wait: Wait<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let finished = false;
      let cancelTimer = () => {};
      const settle = (verdict: NonNullable<Verdict<T>>) => {
        if (finished) return;
        finished = true;
        this.#waiters.delete(check);
        cancelTimer();
        wait.signal?.removeEventListener('abort', onAbort);
        wait.cleanup?.();
        if ('value' in verdict) resolve(verdict.value);
        else reject(verdict.error);
      };
      const check = (event?: CallEvent) => {
        if (finished) return;
        let verdict: Verdict<T>;
        try {
          verdict = wait.check(this.#host.view(this.id), event, () => check());
        } catch (error) {
          verdict = { error: error instanceof Error ? error : new Error(String(error)) };
        }
        if (verdict) settle(verdict);
      };
      const onAbort = () => settle({ error: abortedError(this.id, wait.what, wait.signal!) });
      if (wait.signal?.aborted) return onAbort();
      wait.signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.add(check);
      if (wait.timeoutMs !== undefined) cancelTimer = this.#host.setTimer(wait.timeoutMs, () => settle(wait.onTimeout()));
      wait.started?.(settle);
      check();
    });
  }

  /**
   * Resolves when the call is in `state` (at once if it already is); rejects when the call
   * terminates first (`SWB_CALL_TERMINATED`), `timeoutMs` passes (`SWB_WAIT_TIMEOUT`) or
   * `signal` fires (`SWB_ABORTED`).
   */
  waitFor(state: CallState, options: WaitOptions = {}): Promise<CallView> {
    const invalid = checkWaitOptions(options, 'waitFor');
    if (invalid) return Promise.reject(invalid);
    return this.#until<CallView>({
      what: `waiting for ${state}`,
      check: (view) => {
        if (view?.state === state) return { value: view };
        if (view?.state === 'terminated') return { error: terminatedError(this.id, `reaching ${state}`) };
        return undefined;
      },
      timeoutMs: options.timeoutMs,
      onTimeout: () => ({
        error: new SwitchboardError(
          'SWB_WAIT_TIMEOUT',
          `call ${this.id} did not reach ${state} within ${options.timeoutMs} ms (it is ${this.state})`,
        ),
      }),
      signal: options.signal,
    });
  }

  /**
   * Collects the DTMF keys the caller presses, from the call's tones (Graph's `toneInfo`
   * notifications), subscribing to them first when the call's log has no successful
   * `subscribeToTone` (the command is recorded like every other).
   *
   * Which tones count: those whose `sequenceId` is greater than the start point, by default
   * the highest `sequenceId` the call's view holds when `collectDigits` is called (0 when it
   * holds none; `afterSequenceId` sets it). The start point is a sequence id, not a moment:
   * a key pressed before the call whose notification had not arrived yet counts, and a
   * notification that arrives late, reordered or twice is taken once, in its place by
   * `sequenceId`. A stop key (the `terminator`, or the key that makes `maxDigits`) ends the
   * collection once no sequence id before it is missing (see `gapWaitMs`).
   *
   * Resolves with the digits (without the terminator) and why it stopped: `terminator`,
   * `maxDigits`, `timeout` (with what arrived by then, in sequence order), or
   * `interDigitTimeout` (no key for `interDigitTimeoutMs` after the last one, with what arrived). Rejects with
   * `SWB_CALL_TERMINATED` when the call ends first, `SWB_ABORTED` when `signal` fires, or the
   * error of a `subscribeToTone` Graph refused.
   */
  collectDigits(options: CollectDigitsOptions): Promise<CollectedDigits> {
    try {
      return this.#collect(options);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #collect(options: CollectDigitsOptions): Promise<CollectedDigits> {
    const { maxDigits, terminator, timeoutMs } = options ?? ({} as CollectDigitsOptions);
    const badTime =
      badDuration('collectDigits', 'timeoutMs', timeoutMs, true) ??
      badDuration('collectDigits', 'gapWaitMs', options.gapWaitMs) ??
      badDuration('collectDigits', 'interDigitTimeoutMs', options.interDigitTimeoutMs);
    if (badTime) throw badTime;
    if (maxDigits !== undefined && !(Number.isInteger(maxDigits) && maxDigits > 0)) {
      throw new SwitchboardError('SWB_INVALID_ARGUMENT', `collectDigits: maxDigits must be a positive integer, got ${String(maxDigits)}`);
    }
    if (terminator !== undefined && !isDtmfKey(terminator)) {
      throw new SwitchboardError(
        'SWB_INVALID_ARGUMENT',
        `collectDigits: terminator must be a DTMF key (0-9, *, #, A-D), got ${String(terminator)}`,
      );
    }
    const interDigitMs = options.interDigitTimeoutMs;
    const after = options.afterSequenceId;
    if (after !== undefined && !(Number.isSafeInteger(after) && after >= 0)) {
      throw new SwitchboardError('SWB_INVALID_ARGUMENT', `collectDigits: afterSequenceId must be an integer >= 0, got ${String(after)}`);
    }
    const gapWaitMs = Math.min(options.gapWaitMs ?? 1_000, timeoutMs);
    const view = this.view;
    const start = {
      afterSequenceId: after ?? view.tones.reduce((max, t) => Math.max(max, t.sequenceId ?? 0), 0),
      afterPosition: view.version,
    };
    const accepted = new Set<number>();
    const gapTimers = new Map<number, () => void>();
    let refused: Error | undefined;
    // the inter-digit clock: restarted whenever the count of keys collected grows
    let keysSeen = 0;
    let interDigitTimer: (() => void) | undefined;
    let interDigitExpired = false;
    /** What was collected by now, every hole accepted (as at the time limit). */
    const sofar = (tones: CallView['tones']) => collectProgress(tones, start, options, () => true, true).done!;
    return this.#until<CollectedDigits>({
      what: 'collecting digits',
      check: (now, _event, recheck) => {
        if (refused) return { error: refused };
        if (!now) return undefined;
        const progress = collectProgress(now.tones, start, options, (seq) => accepted.has(seq));
        if (progress.done) return { value: progress.done };
        if (now.state === 'terminated') return { error: terminatedError(this.id, 'the digits were collected') };
        if (interDigitMs !== undefined) {
          const collected = sofar(now.tones);
          if (interDigitExpired) {
            return { value: collected.reason === 'timeout' ? { ...collected, reason: 'interDigitTimeout' } : collected };
          }
          if (collected.tones.length > keysSeen) {
            keysSeen = collected.tones.length;
            interDigitTimer?.();
            interDigitTimer = this.#host.setTimer(interDigitMs, () => {
              interDigitExpired = true;
              recheck();
            });
          }
        }
        const hole = progress.holeBefore;
        if (hole !== undefined && !gapTimers.has(hole)) {
          gapTimers.set(
            hole,
            this.#host.setTimer(gapWaitMs, () => {
              accepted.add(hole);
              recheck();
            }),
          );
        }
        return undefined;
      },
      timeoutMs,
      onTimeout: () => {
        const now = this.#host.view(this.id);
        return { value: sofar(now?.tones ?? []) };
      },
      signal: options.signal,
      cleanup: () => {
        for (const cancel of gapTimers.values()) cancel();
        interDigitTimer?.();
      },
      started: (settle) => {
        if (view.state === 'terminated' || this.#subscribed(view)) return;
        this.#subscribing ??= this.#invoke('subscribeToTone', [{}]).finally(() => (this.#subscribing = undefined));
        this.#subscribing.catch((error: unknown) => {
          refused = error instanceof Error ? error : new Error(String(error));
          settle({ error: refused });
        });
      },
    });
  }

  /** Whether the call's log has tones, or a `subscribeToTone` Graph accepted. */
  #subscribed(view: CallView): boolean {
    return (
      view.tones.length > 0 ||
      Object.values(view.commands).some((c) => c.command === 'subscribeToTone' && c.outcome === 'succeeded') ||
      Object.values(view.operations).some((op) => op.type === 'subscribeToToneOperation' && op.status !== 'failed')
    );
  }

  /**
   * Transfers the call (`POST /calls/{id}/transfer`): resolves once Graph accepted the request
   * (202), with Graph's answer and `outcome`, which settles when the call's notifications say
   * how the transfer ended: `transferred` (the call ended after `transferAccepted`, or with
   * Graph's transfer-completed result) or `failed` (back to `established` with Graph's
   * failure `resultInfo`). A request Graph refused rejects here, as every command does. See
   * `TransferHandle`; `consultativeTransfer` for a consultative transfer.
   */
  async transfer(body: CommandBody<'transfer'>, options: { readonly signal?: AbortSignal } = {}): Promise<TransferHandle> {
    const before = this.#host.view(this.id);
    // follow the call from before the command: its notifications may beat Graph's 202
    const followed = this.#followTransfer({ version: before?.version ?? 0, resultInfo: before?.resultInfo }, options.signal);
    try {
      const response = (await this.#invoke('transfer', [body])) as GraphResponse<null>;
      return { ...response, outcome: followed.outcome };
    } catch (error) {
      followed.fail(error instanceof Error ? error : new Error(String(error)));
      throw error;
    }
  }

  /**
   * The outcome of the latest transfer of this call that Graph accepted (202), as the log holds
   * it, however it was sent: by this process before a restart (a `callResumed` handler picks its
   * flow up with it), or by another instance. Settles as `TransferHandle.outcome` does: at once
   * when the log already says how it ended, else when the call's notifications do. Undefined
   * when the call's log holds no transfer Graph accepted.
   */
  transferOutcome(options: { readonly signal?: AbortSignal } = {}): Promise<TransferOutcome> | undefined {
    const view = this.#host.view(this.id);
    let sent: CallView['commands'][string] | undefined;
    for (const c of Object.values(view?.commands ?? {})) {
      if (c.command === 'transfer' && c.outcome === 'succeeded' && (sent === undefined || c.position > sent.position)) sent = c;
    }
    if (!view || !sent) return undefined;
    const from = sent.position;
    const outcome = this.#host.entries(this.id, from).then((entries) => {
      // what the log says from the transfer on; then, for a call still up, its notifications
      const proof = transferProof(entries, from, view);
      if (view.state === 'terminated') {
        if (proof) return proof.outcome;
        throw terminatedError(this.id, 'Graph said the transfer was accepted or completed');
      }
      if (proof?.outcome.result === 'failed' && view.state === 'established') return proof.outcome;
      const accepted = proof?.outcome.result === 'transferred' || this.#host.view(this.id)?.state === 'transferAccepted';
      return this.#followTransfer({ version: view.version, resultInfo: view.resultInfo, accepted }, options.signal).outcome;
    });
    outcome.catch(() => undefined);
    return outcome;
  }

  /**
   * Follows a transfer through the call's events from `start` (the view's version and
   * `resultInfo` then, and whether Graph had already accepted it): `outcome` settles as
   * `TransferHandle.outcome` says; `fail` rejects it (the command itself failed).
   */
  #followTransfer(
    start: { readonly version: number; readonly resultInfo: unknown; readonly accepted?: boolean },
    signal: AbortSignal | undefined,
  ): { readonly outcome: Promise<TransferOutcome>; fail(error: Error): void } {
    const track = transferTracker(start);
    let settle: ((verdict: { value: TransferOutcome } | { error: Error }) => void) | undefined;
    let reading = false;
    let cancelGrace: (() => void) | undefined;
    /**
     * The call ended by a GET that found no call: its notifications may still come (logged
     * as stale after the end), and say how the transfer ended. Read the log at each event,
     * for at most `TRANSFER_PROOF_WAIT_MS`.
     */
    const readProof = (view: CallView, last: boolean) => {
      if (reading) return;
      reading = true;
      void this.#host
        .entries(this.id, start.version)
        .then((entries) => {
          const proof = transferProof(entries, start.version, view);
          if (proof) settle?.({ value: proof.outcome });
          else if (last)
            settle?.({ error: terminatedError(this.id, 'any notification said how the transfer ended (Graph no longer knows the call)') });
        })
        .catch((error: unknown) => settle?.({ error: error instanceof Error ? error : new Error(String(error)) }))
        .finally(() => (reading = false));
    };
    const outcome = this.#until<TransferOutcome>({
      what: 'the transfer',
      check: (view, event) => {
        const verdict = track(view, event);
        if (verdict === 'ended') {
          const info = view?.resultInfo;
          const why = info ? ` (resultInfo ${String(info.code)}/${String(info.subcode)})` : '';
          return { error: terminatedError(this.id, `Graph said the transfer was accepted or completed${why}`) };
        }
        if (verdict === 'unknown') {
          if (view) {
            cancelGrace ??= this.#host.setTimer(TRANSFER_PROOF_WAIT_MS, () => readProof(view, true));
            readProof(view, false);
          }
          return undefined;
        }
        return verdict ? { value: verdict.outcome } : undefined;
      },
      timeoutMs: this.#host.operationTimeoutMs,
      onTimeout: () => ({
        error: new SwitchboardError(
          'SWB_OPERATION_TIMEOUT',
          `the transfer of call ${this.id} did not end within ${this.#host.operationTimeoutMs} ms`,
        ),
      }),
      signal,
      started: (s) => (settle = s),
      cleanup: () => cancelGrace?.(),
    });
    outcome.catch(() => undefined);
    return { outcome, fail: (error) => settle?.({ error }) };
  }

  /**
   * A consultative transfer: the caller on this call is transferred to the party of
   * `consultation`, another call of this bot (the one it placed to consult the target), which
   * the transfer replaces (`transferTarget.replacesCallId`). Graph ends both calls when it
   * succeeds. Resolves as `transfer` does; the outcome is this call's.
   */
  consultativeTransfer(
    consultation: Call | string,
    transferTarget: InvitationTarget,
    options: { readonly transferee?: ParticipantInfoBody; readonly signal?: AbortSignal } = {},
  ): Promise<TransferHandle> {
    const replaces =
      typeof consultation === 'string' ? consultation : (consultation.#host.view(consultation.id)?.graphId ?? consultation.id);
    return this.transfer(
      {
        transferTarget: { ...transferTarget, replacesCallId: replaces },
        ...(options.transferee ? { transferee: options.transferee } : {}),
      },
      options.signal ? { signal: options.signal } : {},
    );
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
    untilOf = (call) => (wait) => call.#until(wait);
    for (const command of COMMAND_NAMES) {
      const name = COMMANDS[command].call;
      // (a method the class defines itself, `transfer`, stays)
      if (name === null || Object.hasOwn(Call.prototype, name)) continue;
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
    const settled = this.#until<OperationView>({
      what: `operation ${operationId}`,
      check: (view) => {
        const op = view?.operations[canonicalId(operationId)];
        if (op?.status === 'completed') return { value: op };
        if (op?.status === 'failed') return { error: new OperationFailedError(op) };
        if (op?.status === 'ended') return { error: new OperationOutcomeUnknownError(op) };
        return undefined;
      },
      timeoutMs: this.#host.operationTimeoutMs,
      onTimeout: () => ({
        error: new SwitchboardError(
          'SWB_OPERATION_TIMEOUT',
          `operation ${operationId} did not settle within ${this.#host.operationTimeoutMs} ms`,
        ),
      }),
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

  /**
   * Resolves when the participant reaches `condition` in the call's view (at once if it
   * already has), with its view: `joined` (in the roster), `inLobby` (in the roster and
   * `isInLobby`), `admitted` (in the roster and not in the lobby: one who joined without a
   * lobby counts), `muted` / `unmuted` (`isMuted` true / not true), or a predicate over the
   * participant's view (asked while it is in the roster). `left` resolves once the roster no
   * longer has a participant it had, with the participant's last view (undefined when the wait
   * began after it left: the roster keeps no view of those who left). Checked at once and at every event of the call, as the call's
   * `waitFor` is. Rejects when the call terminates first (`SWB_CALL_TERMINATED`), `timeoutMs`
   * passes (`SWB_WAIT_TIMEOUT`) or `signal` fires (`SWB_ABORTED`).
   */
  waitFor(condition: 'left', options?: WaitOptions): Promise<GraphParticipant | undefined>;
  waitFor(condition: ParticipantCondition, options?: WaitOptions): Promise<GraphParticipant>;
  waitFor(condition: ParticipantCondition | 'left', options: WaitOptions = {}): Promise<GraphParticipant | undefined> {
    const invalid =
      checkWaitOptions(options, 'waitFor') ??
      (typeof condition === 'function' || condition === 'left' || (typeof condition === 'string' && Object.hasOwn(CONDITIONS, condition))
        ? undefined
        : new SwitchboardError('SWB_INVALID_ARGUMENT', `waitFor: unknown participant condition ${JSON.stringify(condition)}`));
    if (invalid) return Promise.reject(invalid);
    const what = typeof condition === 'function' ? 'its condition' : condition;
    let last: GraphParticipant | undefined;
    return untilOf(this.call)<GraphParticipant | undefined>({
      what: `waiting for participant ${this.id} (${what})`,
      check: (view, event) => {
        const now = view?.participants[this.id];
        if (now) last = now;
        else if (event?.type === 'participantLeft' && event.participantId === this.id) last = event.participant as GraphParticipant;
        if (condition === 'left') {
          if (view && !now && view.removedParticipants[this.id] !== undefined) return { value: last };
        } else if (now && (typeof condition === 'function' ? condition(now, view!) : CONDITIONS[condition](now))) {
          return { value: now };
        }
        if (view?.state === 'terminated') return { error: terminatedError(this.call.id, `participant ${this.id} was ${what}`) };
        return undefined;
      },
      timeoutMs: options.timeoutMs,
      onTimeout: () => ({
        error: new SwitchboardError(
          'SWB_WAIT_TIMEOUT',
          `participant ${this.id} of call ${this.call.id} was not ${what} within ${options.timeoutMs} ms`,
        ),
      }),
      signal: options.signal,
    });
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

/** The named conditions of a participant's `waitFor`, over its view (while it is in the roster). */
const CONDITIONS = {
  joined: () => true,
  inLobby: (p: GraphParticipant) => p.isInLobby === true,
  admitted: (p: GraphParticipant) => p.isInLobby !== true,
  muted: (p: GraphParticipant) => p.isMuted === true,
  unmuted: (p: GraphParticipant) => p.isMuted !== true,
} as const;

/**
 * What a participant's `waitFor` waits for: a named condition, or a predicate over the
 * participant's view and the call's (asked while the participant is in the roster).
 */
export type ParticipantCondition = keyof typeof CONDITIONS | ((participant: GraphParticipant, call: CallView) => boolean);
