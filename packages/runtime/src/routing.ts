import type { EventEmitter } from 'eventemitter3';
import type { CallEvent, UndecodableEvent } from '@switchboard/core';
import type { Call } from './call.js';
import type { RuntimeContext } from './context.js';
import type { Ownership } from './ownership.js';
import type { SwitchboardEvents } from './switchboard.js';
import type { CallTimers } from './timers.js';

/** Where the engine's events go: the bot's listeners, the call handles, and the parts that act on them. */
export interface RoutingTargets {
  /** The switchboard, whose listeners hear every event. */
  readonly emitter: EventEmitter<SwitchboardEvents>;
  /** The call's handle (made on first use). */
  handle(callId: string): Call;
  readonly ownership: Ownership;
  readonly timers: CallTimers;
  resync(callId: string, reason: string): Promise<void>;
}

/**
 * Routes what the engine emits: every event to the switchboard's listeners and the call's
 * handle; a call that starts ringing to its owner's answer deadline (and `incomingCall`), one
 * that goes live to its keep-alive, one that ends out of the timers and its lease; a
 * `resyncNeeded` and an undecodable notification of a call this instance owns (stored here, or
 * by another instance and folded here) to a resync.
 */
export class EventRouter {
  readonly #ctx: RuntimeContext;
  readonly #to: RoutingTargets;

  constructor(ctx: RuntimeContext, targets: RoutingTargets) {
    this.#ctx = ctx;
    this.#to = targets;
  }

  event(event: CallEvent): void {
    const { ownership, timers } = this.#to;
    const call = this.#to.handle(event.callId);
    this.#to.emitter.emit('event', event);
    call.deliver(event);
    switch (event.type) {
      case 'stateChanged':
        if (event.to === 'incoming') {
          // (a handler of incomingCall that throws must not become an unhandled rejection)
          void ownership
            .own(call.id)
            .then(async (owned) => owned && timers.incoming(call, await this.#arrivedAt(call.id, event.cause.position)))
            .catch((error: unknown) => this.#ctx.fail(error, call.id));
        } else if (event.to === 'terminated') {
          timers.ended(call.id);
          void ownership.disown(call.id, true);
          this.#to.emitter.emit('callEnded', call);
        } else if (ownership.owns(call.id)) timers.keepAlive(call.id);
        // else: another instance placed the call or heard it ring, and owns it; if it never
        // took the lease or lost it, the sweep takes the call over
        return;
      case 'resyncNeeded':
        if (ownership.owns(event.callId))
          void this.#to.resync(event.callId, event.reason).catch((e: unknown) => this.#ctx.fail(e, event.callId));
        return;
      default:
        return;
    }
  }

  /**
   * Tells the bot, and when the notification names a live call this instance owns and has
   * heard from before, asks Graph for the call (the notification may have said it ended).
   */
  undecodable(event: UndecodableEvent): void {
    this.#ctx.log.warn(
      { callId: event.callId, reason: event.error.reason, path: event.error.path },
      'notification quarantined: it does not decode',
    );
    this.#to.emitter.emit('undecodable', event);
    this.#resyncUndecodable(event);
  }

  /**
   * A notification another instance received and stored quarantined, folded here from the
   * log: that instance told its bot (`undecodable`); this one resyncs the call if it owns it.
   */
  foldedUndecodable(event: UndecodableEvent): void {
    this.#ctx.log.debug({ callId: event.callId, reason: event.error.reason }, 'folded a notification another instance quarantined');
    this.#resyncUndecodable(event);
  }

  #resyncUndecodable(event: UndecodableEvent): void {
    const callId = event.callId;
    if (callId === null || this.#ctx.stopped() || !this.#to.ownership.owns(callId)) return;
    const state = this.#ctx.engine.getCall(callId)?.state;
    if (state === undefined || state === 'pending' || state === 'terminated') return;
    void this.#to
      .resync(callId, `a notification did not decode (${event.error.reason} at ${event.error.path})`)
      .catch((e: unknown) => this.#ctx.fail(e, callId));
  }

  /**
   * When the entry at `position` arrived (its `at`: a notification's `receivedAt`). Graph's 15 s
   * run from then, not from when the entry was folded, which a slow store append delays.
   */
  async #arrivedAt(callId: string, position: number): Promise<number> {
    const entries = await this.#ctx.engine.store.readStream(callId, { after: position - 1 });
    return entries.find((e) => e.position === position)?.at ?? this.#ctx.clock();
  }
}
