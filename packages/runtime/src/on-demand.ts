import type { Call } from './call.js';
import type { RuntimeContext } from './context.js';
import type { Ownership } from './ownership.js';

/** How many calls a claim takes over at once (each: a lease, a load, a resync). */
const CLAIMS_AT_ONCE = 16;

/** What owner-only holding acts through. */
export interface OnDemandHost {
  /** The call's handle (made on first use). */
  handle(callId: string): Call;
  /** The call's handle if there is one, without making it. */
  existing(callId: string): Call | undefined;
  /** Drops the call's handle (the engine dropped the call). */
  forgetHandle(callId: string): void;
  /** Starts acting for a call this instance now owns: resync, then its timers. */
  takeOver(callId: string, reason: string): Promise<void>;
  /** Starts the answer deadline of a ringing call and tells the bot. */
  incoming(call: Call, receivedAt: number): void;
}

/**
 * Owner-only mode (leases that list the calls to take over, `ClaimableLeases`): this instance
 * holds in its engine only the calls it owns, and the ones loaded on demand (`getCall`, a
 * command), each dropped again once nothing has used it for `holdMs` and nothing awaits it.
 * A call is owned by the instance that placed it or heard it ring, and taken over by a claim
 * (at start, and on each sweep) once its owner went away.
 */
export class OnDemand {
  readonly #ctx: RuntimeContext;
  readonly #ownership: Ownership;
  readonly #holdMs: number;
  readonly #host: OnDemandHost;
  /** The calls loaded on demand, with the cancel of their drop. */
  readonly #loaded = new Map<string, () => void>();

  constructor(ctx: RuntimeContext, ownership: Ownership, holdMs: number, host: OnDemandHost) {
    this.#ctx = ctx;
    this.#ownership = ownership;
    this.#holdMs = holdMs;
    this.#host = host;
  }

  /**
   * Keeps a call this instance does not own loaded for `holdMs` from now (again on each use),
   * then drops it from memory unless something awaits it (a `waitFor`, an operation's end: it
   * stays, followed through the append notifications).
   */
  dropLater(callId: string): void {
    this.#loaded.get(callId)?.();
    this.#loaded.set(
      callId,
      this.#ctx.setTimer(this.#holdMs, () => {
        this.#loaded.delete(callId);
        if (this.#ownership.owns(callId)) return;
        // (a lease being taken may fail: look again later)
        if (this.#ownership.acquiring(callId) || this.#host.existing(callId)?.awaited) return this.dropLater(callId);
        this.#ctx.engine.forget(callId);
        this.#host.forgetHandle(callId);
        this.#ctx.log.debug({ callId }, 'dropped a call this instance does not own');
      }),
    );
  }

  /** Stops keeping a call loaded on demand: this instance owns it now. */
  #kept(callId: string): void {
    this.#loaded.get(callId)?.();
    this.#loaded.delete(callId);
  }

  /**
   * The handle of a call, loaded from the store if this instance does not hold it; undefined
   * for a call the log does not know. A call it does not own is dropped again after `holdMs`.
   */
  async get(callId: string): Promise<Call | undefined> {
    const { engine } = this.#ctx;
    if (!engine.holds(callId)) {
      const view = await engine.load(callId);
      if (!view) {
        if (!this.#ownership.owns(callId) && !this.#ownership.acquiring(callId)) engine.forget(callId);
        return undefined;
      }
    }
    if (!this.#ownership.owns(callId)) this.dropLater(callId);
    return this.#host.handle(callId);
  }

  /**
   * Takes the lease of every call the leases list as claimable (its owner went away, or this
   * instance held it before a restart) and takes each one over; a few at a time. Resolves to
   * the number of live calls taken over.
   */
  async claim(reason: string): Promise<number> {
    const ids = await this.#ownership.claimable();
    // in an order of this instance's own: instances sweeping at once start on different calls
    for (let i = ids.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [ids[i], ids[j]] = [ids[j]!, ids[i]!];
    }
    let taken = 0;
    const work = async (): Promise<void> => {
      for (let id = ids.pop(); id !== undefined && !this.#ctx.stopped(); id = ids.pop()) {
        if (!(await this.#ownership.own(id))) continue;
        const view = await this.#ctx.engine.load(id);
        if (!view || view.state === 'terminated') {
          await this.#ownership.disown(id, true); // an ended call whose owner went away before ending its lease
          this.dropLater(id);
          continue;
        }
        this.#kept(id);
        await this.#host.takeOver(id, reason);
        taken++;
      }
    };
    await Promise.all(Array.from({ length: CLAIMS_AT_ONCE }, work));
    return taken;
  }

  /**
   * This instance wrote the first entry of a call it does not hold. A call that rings is
   * owned by the instance that heard it ring: load it, take its lease, start its answer
   * deadline and tell the bot. Anything else (the first notification of a call another
   * instance placed, beating its creator's record) is left to its creator.
   */
  async heardFirst(callId: string, receivedAt: number): Promise<void> {
    const view = await this.#ctx.engine.load(callId);
    this.#ctx.log.debug({ callId, state: view?.state }, 'heard a call first');
    if (view?.state === 'incoming' && (await this.#ownership.own(callId))) {
      this.#host.incoming(this.#host.handle(callId), receivedAt);
      return;
    }
    if (!this.#ownership.owns(callId)) this.dropLater(callId);
  }

  /**
   * This instance placed the call (Graph answered 201) and is about to record it: it owns the
   * call, and holds it from its first entry. Resolves to whether it took the lease.
   */
  async placed(callId: string): Promise<boolean> {
    const owned = await this.#ownership.own(callId);
    await this.#ctx.engine.load(callId);
    if (!owned) this.dropLater(callId);
    return owned;
  }

  /** Cancels every pending drop (on `stop()`). */
  stop(): void {
    for (const cancel of this.#loaded.values()) cancel();
    this.#loaded.clear();
  }
}
