import type { CallLeases, Lease } from '@switchboard/core';
import type { RuntimeContext } from './context.js';

/**
 * Which calls this instance runs: with leases, the ones whose lease it holds (taken when a
 * call starts or its owner's lapses, renewed at a third of the ttl, released on `stop()`);
 * without, every call.
 */
export class Ownership {
  readonly #ctx: RuntimeContext;
  readonly #leases: CallLeases | undefined;
  readonly #owner: string;
  readonly #ttlMs: number;
  readonly #onLost: (callId: string) => void;
  /** Calls whose lease this instance holds, with the cancel of their renewal. */
  readonly #owned = new Map<string, { lease: Lease; cancel: () => void }>();
  readonly #acquiring = new Map<string, Promise<boolean>>();
  #cancelSweep: (() => void) | undefined;

  /** `onLost` hears of a call whose lease another instance took while this one held it. */
  constructor(ctx: RuntimeContext, leases: CallLeases | undefined, owner: string, ttlMs: number, onLost: (callId: string) => void) {
    this.#ctx = ctx;
    this.#leases = leases;
    this.#owner = owner;
    this.#ttlMs = ttlMs;
    this.#onLost = onLost;
  }

  /** Whether this instance runs the call's timers and automatic commands (always, without leases). */
  owns(callId: string): boolean {
    return !this.#leases || this.#owned.has(callId);
  }

  /** The calls whose snapshots are this instance's to write: the ones it owns (`undefined`: all, without leases). */
  ownedIds(): Iterable<string> | undefined {
    return this.#leases ? [...this.#owned.keys()] : undefined;
  }

  /** Takes the call's lease if it is free or lapsed; resolves to whether this instance owns the call. */
  own(callId: string): Promise<boolean> {
    const leases = this.#leases;
    if (!leases) return Promise.resolve(true);
    if (this.#owned.has(callId)) return Promise.resolve(true);
    if (this.#ctx.stopped()) return Promise.resolve(false);
    const running = this.#acquiring.get(callId);
    if (running) return running;
    const work = (async () => {
      const result = await leases.acquireLease(callId, this.#owner, this.#ttlMs);
      if (!result.acquired || this.#ctx.stopped()) return false;
      this.#owned.set(callId, { lease: result.lease, cancel: this.#renewLater(callId, result.lease.remainingMs) });
      this.#ctx.log.debug({ callId, token: result.lease.token }, 'lease acquired');
      return true;
    })()
      .catch((error: unknown) => {
        this.#ctx.fail(error, callId);
        return false;
      })
      .finally(() => this.#acquiring.delete(callId));
    this.#acquiring.set(callId, work);
    return work;
  }

  #renewLater(callId: string, remainingMs: number): () => void {
    return this.#ctx.setTimer(Math.max(10, remainingMs / 3), () => {
      void (async () => {
        const held = this.#owned.get(callId);
        if (!held || !this.#leases) return;
        const lease = await this.#leases.renewLease(callId, this.#owner, this.#ttlMs).catch((error: unknown) => {
          this.#ctx.fail(error, callId);
          return undefined;
        });
        if (!this.#owned.has(callId)) return;
        if (!lease) {
          // lapsed and taken by another instance (or the database is unreachable): stop acting for the call
          this.#owned.delete(callId);
          this.#onLost(callId);
          this.#ctx.log.warn({ callId }, 'lease lost: another instance runs this call now');
          return;
        }
        this.#owned.set(callId, { lease, cancel: this.#renewLater(callId, lease.remainingMs) });
      })();
    });
  }

  /** Releases the call's lease, if this instance holds it, so another instance can take it at once. */
  async disown(callId: string): Promise<void> {
    const held = this.#owned.get(callId);
    if (!held) return;
    held.cancel();
    this.#owned.delete(callId);
    await this.#leases?.releaseLease(callId, this.#owner).catch((error: unknown) => this.#ctx.fail(error, callId));
  }

  /**
   * With leases: every half lease, offers `takeOver` each live call whose owner went away
   * (its lease lapsed) once this instance holds its lease. Without leases, nothing.
   */
  sweep(live: () => Iterable<string>, takeOver: (callId: string) => Promise<void>): void {
    if (!this.#leases || this.#ctx.stopped()) return;
    this.#cancelSweep = this.#ctx.setTimer(this.#ttlMs / 2, () => {
      void (async () => {
        for (const callId of live()) {
          if (this.#owned.has(callId)) continue;
          if (await this.own(callId)) await takeOver(callId);
        }
      })()
        .catch((error: unknown) => this.#ctx.fail(error, ''))
        .finally(() => this.sweep(live, takeOver));
    });
  }

  stopSweep(): void {
    this.#cancelSweep?.();
  }

  /** The lease acquisitions in flight. */
  inFlight(): Promise<unknown>[] {
    return [...this.#acquiring.values()];
  }

  /** Releases every lease this instance holds. */
  async releaseAll(): Promise<void> {
    await Promise.allSettled([...this.#owned.keys()].map((id) => this.disown(id)));
  }
}
