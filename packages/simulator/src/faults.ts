import type { Rng } from './random.js';
import type { FaultOptions } from './types.js';

/**
 * Fault injection decisions. Webhook faults are planned once per batch when it is emitted,
 * from the call's own fault stream, so the plan depends only on the seed and the call's
 * sequence of notifications. API faults are drawn per request, in arrival order.
 */

export interface Faults {
  readonly reorder: number;
  readonly reorderWindow: number;
  readonly reorderMaxHoldMs: number;
  readonly duplicate: number;
  readonly duplicateDelayMs: readonly [number, number];
  readonly delay: number;
  readonly delayMs: readonly [number, number];
  readonly drop: number;
  readonly redeliverMs: readonly [number, number];
  readonly split: number;
  readonly merge: number;
  readonly mergeMaxHoldMs: number;
  readonly throttle: number;
  readonly unavailable: number;
  readonly burstLength: readonly [number, number];
  readonly retryAfterSeconds: number;
  readonly slow: number;
  readonly slowMs: readonly [number, number];
}

/** Fills defaults and checks ranges; a rate outside 0..1 is a programming error worth a throw. */
export function normalizeFaults(options: FaultOptions = {}): Faults {
  const rate = (name: keyof FaultOptions): number => {
    const value = options[name] ?? 0;
    if (typeof value !== 'number' || !(value >= 0 && value <= 1)) throw new RangeError(`faults.${name} must be a rate between 0 and 1`);
    return value;
  };
  const range = (
    value: readonly [number, number] | undefined,
    fallback: readonly [number, number],
    name: string,
  ): readonly [number, number] => {
    const r = value ?? fallback;
    if (r.length !== 2 || !(r[0] >= 0) || !(r[1] >= r[0])) throw new RangeError(`faults.${name} must be [min, max] with 0 <= min <= max`);
    return r;
  };
  return {
    reorder: rate('reorder'),
    reorderWindow: Math.max(1, Math.floor(options.reorderWindow ?? 3)),
    reorderMaxHoldMs: options.reorderMaxHoldMs ?? 2000,
    duplicate: rate('duplicate'),
    duplicateDelayMs: range(options.duplicateDelayMs, [0, 1500], 'duplicateDelayMs'),
    delay: rate('delay'),
    delayMs: range(options.delayMs, [200, 3000], 'delayMs'),
    drop: rate('drop'),
    redeliverMs: range(options.redeliverMs, [1000, 4000], 'redeliverMs'),
    split: rate('split'),
    merge: rate('merge'),
    mergeMaxHoldMs: options.mergeMaxHoldMs ?? 1000,
    throttle: rate('throttle'),
    unavailable: rate('unavailable'),
    burstLength: range(options.burstLength, [1, 3], 'burstLength'),
    retryAfterSeconds: options.retryAfterSeconds ?? 2,
    slow: rate('slow'),
    slowMs: range(options.slowMs, [500, 3000], 'slowMs'),
  };
}

/** What happens to one batch on its way to the webhook. */
export interface DeliveryPlan {
  /** Extra Graph ms before it is due (the `delay` fault), 0 when none. */
  readonly extraDelayMs: number;
  /** Later batches of the same call that must go out before it (the `reorder` fault), 0 when none. */
  readonly holdFor: number;
  /** When set, the same message goes out again this many ms after the original is due. */
  readonly duplicateAfterMs?: number;
  /** When set, the first attempt is lost and the message redelivered this many ms later. */
  readonly redeliverAfterMs?: number;
  /** Hold it and send it in one POST with the next batch for the same webhook. */
  readonly merge: boolean;
}

/** Draws a batch's plan. The draw order is fixed so that a seed always gives the same plan. */
export function planDelivery(rng: Rng, faults: Faults): DeliveryPlan {
  const delayed = rng.chance(faults.delay);
  const extraDelayMs = delayed ? rng.between(faults.delayMs[0], faults.delayMs[1]) : 0;
  const reordered = rng.chance(faults.reorder);
  const holdFor = reordered ? rng.int(1, faults.reorderWindow) : 0;
  const duplicated = rng.chance(faults.duplicate);
  const duplicateAfterMs = duplicated ? rng.between(faults.duplicateDelayMs[0], faults.duplicateDelayMs[1]) : undefined;
  const dropped = rng.chance(faults.drop);
  const redeliverAfterMs = dropped ? rng.between(faults.redeliverMs[0], faults.redeliverMs[1]) : undefined;
  const merge = rng.chance(faults.merge);
  return {
    extraDelayMs,
    holdFor,
    ...(duplicateAfterMs !== undefined ? { duplicateAfterMs } : {}),
    ...(redeliverAfterMs !== undefined ? { redeliverAfterMs } : {}),
    merge,
  };
}

/** Whether a batch of several notifications goes out as one POST per notification. */
export function planSplit(rng: Rng, faults: Faults, batchLength: number): boolean {
  return batchLength > 1 && rng.chance(faults.split);
}

export type ApiFault =
  | { readonly kind: 'none' }
  | { readonly kind: 'throttle' | 'unavailable'; readonly retryAfterSeconds: number }
  | { readonly kind: 'slow'; readonly delayMs: number };

/**
 * 429 / 503 come in bursts (Graph throttles a client for a while, not one request), so a
 * drawn burst answers the next few requests too. `Retry-After` is Graph seconds scaled to
 * real seconds and rounded up, so a client that honours it waits about as long as Graph
 * would make it wait, in the simulator's time.
 */
export class ApiFaultInjector {
  private burst: { kind: 'throttle' | 'unavailable'; remaining: number } | undefined;

  constructor(
    private readonly rng: Rng,
    private readonly faults: Faults,
    private readonly timeScale: number,
  ) {}

  next(): ApiFault {
    const retryAfterSeconds = Math.ceil(this.faults.retryAfterSeconds * this.timeScale);
    if (this.burst && this.burst.remaining > 0) {
      this.burst.remaining--;
      return { kind: this.burst.kind, retryAfterSeconds };
    }
    this.burst = undefined;
    for (const kind of ['throttle', 'unavailable'] as const) {
      if (this.rng.chance(this.faults[kind])) {
        const length = this.rng.int(this.faults.burstLength[0], this.faults.burstLength[1]);
        this.burst = { kind, remaining: length - 1 };
        return { kind, retryAfterSeconds };
      }
    }
    if (this.rng.chance(this.faults.slow)) return { kind: 'slow', delayMs: this.rng.between(this.faults.slowMs[0], this.faults.slowMs[1]) };
    return { kind: 'none' };
  }
}
