import type { TimerName } from '@switchboard/core';
import type { Call } from './call.js';
import { ANSWER_COMMANDS } from './commands.js';
import type { RuntimeContext } from './context.js';
import type { AnswerDeadlinePolicy } from './defaults.js';

export interface CallTimersOptions {
  readonly answerDeadlineMs: number;
  readonly deadlineMarginMs: number;
  readonly onAnswerDeadline: AnswerDeadlinePolicy;
  readonly keepAliveIntervalMs: number;
}

/** What the timers act through. */
export interface CallTimersHost {
  /** Whether this instance runs the call (only the owner's timers fire commands). */
  owns(callId: string): boolean;
  /** Sends the call a keep-alive (through the command protocol). */
  keepAlive(callId: string): Promise<unknown>;
  /** Tells the bot a call is ringing and when Graph drops it. */
  offer(call: Call, deadline: number): void;
}

/**
 * The time a call's owner keeps: the answer deadline of an incoming call (offered to the bot
 * once per process; the policy acts `deadlineMarginMs` before Graph's 15 s run out) and the
 * keep-alive of a live one. Each firing is recorded as a `timer` entry before it acts.
 */
export class CallTimers {
  readonly #ctx: RuntimeContext;
  readonly #options: CallTimersOptions;
  readonly #host: CallTimersHost;
  readonly #timers = new Map<string, Map<string, () => void>>();
  /** Calls `incomingCall` was emitted for in this process: each is offered once. */
  readonly #offered = new Set<string>();

  constructor(ctx: RuntimeContext, options: CallTimersOptions, host: CallTimersHost) {
    this.#ctx = ctx;
    this.#options = options;
    this.#host = host;
  }

  /** Starts the answer deadline and tells the bot (only the owner calls this, so only one instance answers). */
  incoming(call: Call, receivedAt: number): void {
    if (this.#ctx.engine.getCall(call.id)?.state !== 'incoming') return;
    // once per process: a delivery taken in while start() restores the same call (whose resync
    // may see it still ringing while the bot's answer is in flight) must not offer it again
    if (this.#offered.has(call.id)) return;
    this.#offered.add(call.id);
    const deadline = receivedAt + this.#options.answerDeadlineMs;
    this.#timer(
      call.id,
      'answerDeadline',
      Math.max(0, deadline - this.#options.deadlineMarginMs - this.#ctx.clock()),
      () =>
        // a timer entry the store refuses fails here, outside any caller: report it, do not leave it unhandled
        void this.#deadline(call).catch((error: unknown) => this.#ctx.fail(error, call.id)),
    );
    this.#host.offer(call, deadline);
  }

  async #deadline(call: Call): Promise<void> {
    const { engine } = this.#ctx;
    const view = engine.getCall(call.id);
    if (view?.state !== 'incoming' || !this.#host.owns(call.id)) return;
    if (Object.values(view.commands).some((c) => ANSWER_COMMANDS.has(c.command))) return;
    await engine.record(call.id, { kind: 'timer', id: `t:answerDeadline:${this.#ctx.newId()}`, timer: 'answerDeadline' });
    const policy = this.#options.onAnswerDeadline;
    this.#ctx.log.warn({ callId: call.id, policy: policy.action }, 'incoming call not handled in time');
    try {
      if (policy.action === 'reject') await call.reject({ reason: policy.reason ?? 'none' });
      else if (policy.action === 'redirect') await call.redirect({ targets: [...policy.targets] });
    } catch (error) {
      this.#ctx.fail(error, call.id);
    }
  }

  /** Keeps a live call alive: a keep-alive every interval, from the first state past `incoming`. */
  keepAlive(callId: string): void {
    const { engine } = this.#ctx;
    if (this.#ctx.stopped() || !this.#host.owns(callId)) return;
    const view = engine.getCall(callId);
    if (!view || view.state === 'terminated' || view.state === 'incoming' || view.state === 'pending') return;
    if (this.#timers.get(callId)?.has('keepAliveDue')) return;
    const tick = async () => {
      this.#timers.get(callId)?.delete('keepAliveDue');
      if (engine.getCall(callId)?.state === 'terminated' || this.#ctx.stopped() || !this.#host.owns(callId)) return;
      try {
        await engine.record(callId, { kind: 'timer', id: `t:keepAliveDue:${this.#ctx.newId()}`, timer: 'keepAliveDue' });
        await this.#host.keepAlive(callId);
      } catch (error) {
        this.#ctx.fail(error, callId);
      }
      this.keepAlive(callId);
    };
    this.#timer(callId, 'keepAliveDue', this.#options.keepAliveIntervalMs, () => void tick());
  }

  #timer(callId: string, name: TimerName, ms: number, fn: () => void): void {
    let timers = this.#timers.get(callId);
    if (!timers) {
      timers = new Map();
      this.#timers.set(callId, timers);
    }
    timers.get(name)?.();
    timers.set(name, this.#ctx.setTimer(ms, fn));
  }

  /** Cancels the call's timers (its lease went to another instance). */
  clear(callId: string): void {
    const timers = this.#timers.get(callId);
    if (!timers) return;
    for (const cancel of timers.values()) cancel();
    this.#timers.delete(callId);
  }

  /** The call ended: cancels its timers and forgets it was offered. */
  ended(callId: string): void {
    this.clear(callId);
    this.#offered.delete(callId);
  }

  /** Cancels every timer (on `stop()`). */
  clearAll(): void {
    for (const timers of this.#timers.values()) for (const cancel of timers.values()) cancel();
    this.#timers.clear();
  }
}
