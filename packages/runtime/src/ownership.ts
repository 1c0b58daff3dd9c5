import { hasClaimableLeases, type CallLeases, type ClaimableLeases, type Lease } from '@switchboard/core';
import type { RuntimeContext } from './context.js';

/**
 * Which calls this instance runs: with leases, the ones whose lease it holds (taken when a
 * call starts or its owner's lapses, renewed at a third of the ttl, released on `stop()`,
 * ended with the call); without, every call. With leases that list the calls to take over
 * (`ClaimableLeases`), the runtime runs owner-only (see `OnDemand`).
 */
export class Ownership {
  readonly #ctx: RuntimeContext;
  readonly #leases: CallLeases | undefined;
  readonly #claimable: (CallLeases & ClaimableLeases) | undefined;
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
    this.#claimable = leases && hasClaimableLeases(leases) ? leases : undefined;
    this.#owner = owner;
    this.#ttlMs = ttlMs;
    this.#onLost = onLost;
  }

  /**
   * Owner-only mode: the leases list the calls to take over (`ClaimableLeases`), so this
   * instance need hold only the calls it owns to find them.
   */
  get ownerOnly(): boolean {
    return this.#claimable !== undefined;
  }

  /** Whether a lease of the call is being taken. */
  acquiring(callId: string): boolean {
    return this.#acquiring.has(callId);
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

  /**
   * Gives the call's lease up, if this instance holds it: released, so another instance can
   * take it at once, or (`ended`) ended with the call, so no sweep lists it again.
   */
  async disown(callId: string, ended = false): Promise<void> {
    const held = this.#owned.get(callId);
    if (!held) return;
    held.cancel();
    this.#owned.delete(callId);
    const letGo =
      ended && this.#claimable ? this.#claimable.endLease(callId, this.#owner) : this.#leases?.releaseLease(callId, this.#owner);
    await letGo?.catch((error: unknown) => this.#ctx.fail(error, callId));
  }

  /**
   * Owner-only mode: the calls the leases list as claimable by this instance (their owner
   * went away, or this instance held them before a restart) that it does not own yet.
   */
  async claimable(): Promise<string[]> {
    if (!this.#claimable) return [];
    const ids = await this.#claimable.claimableCalls(this.#owner, this.#ttlMs);
    return ids.filter((id) => !this.#owned.has(id));
  }

  /**
   * With leases: runs `round` every half lease, or in owner-only mode, where a round is one
   * query (`claimableCalls`), every quarter, so that calls are owned again within about a
   * lease and a quarter of their owner's death (plus the takeover work). Without leases, nothing.
   */
  sweep(round: () => Promise<unknown>): void {
    if (!this.#leases || this.#ctx.stopped()) return;
    this.#cancelSweep = this.#ctx.setTimer(this.#ttlMs / (this.ownerOnly ? 4 : 2), () => {
      void round()
        .catch((error: unknown) => this.#ctx.fail(error, ''))
        .finally(() => this.sweep(round));
    });
  }

  /** A sweep's round when every instance holds every call: takes over each live call whose owner went away (its lease lapsed). */
  async takeOverLapsed(live: Iterable<string>, takeOver: (callId: string) => Promise<void>): Promise<void> {
    for (const callId of live) {
      if (this.#owned.has(callId)) continue;
      if (await this.own(callId)) await takeOver(callId);
    }
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
