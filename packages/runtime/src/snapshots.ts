import type { RuntimeContext } from './context.js';

/**
 * Snapshots of the calls this instance owns, so a restart restores them instead of replaying
 * their logs: every half of `quietMs`, the owned calls that went quiet since their last
 * snapshot (the engine also snapshots every 64 entries), and every owned call on `stop()`.
 */
export class Snapshots {
  readonly #ctx: RuntimeContext;
  readonly #quietMs: number;
  readonly #ownedIds: () => Iterable<string> | undefined;
  #cancel: (() => void) | undefined;

  /** `ownedIds`: the calls whose snapshots are this instance's to write (`undefined`: all). */
  constructor(ctx: RuntimeContext, quietMs: number, ownedIds: () => Iterable<string> | undefined) {
    this.#ctx = ctx;
    this.#quietMs = quietMs;
    this.#ownedIds = ownedIds;
  }

  /** Every half of the quiet time: snapshot the owned calls that went quiet since their last snapshot. */
  whenQuiet(): void {
    if (this.#quietMs === 0 || this.#ctx.stopped()) return;
    this.#cancel = this.#ctx.setTimer(Math.max(50, this.#quietMs / 2), () => {
      const ids = this.#ownedIds();
      void this.#ctx.engine
        .snapshot({ quietForMs: this.#quietMs, ...(ids ? { callIds: ids } : {}) })
        .catch((error: unknown) => this.#ctx.fail(error, ''))
        .finally(() => this.whenQuiet());
    });
  }

  /** Stops the quiet snapshots. */
  stop(): void {
    this.#cancel?.();
  }

  /** Snapshots every call this instance owns (a failure is reported, not thrown). */
  async all(): Promise<void> {
    const ids = this.#ownedIds();
    await this.#ctx.engine.snapshot(ids ? { callIds: ids } : {}).catch((error: unknown) => this.#ctx.fail(error, ''));
  }
}
