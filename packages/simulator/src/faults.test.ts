import { describe, expect, it } from 'vitest';
import { ApiFaultInjector, normalizeFaults, planDelivery, planSplit } from './faults.js';
import { Rng, stream } from './random.js';

describe('seeded randomness', () => {
  it('gives the same stream for the same seed and label, and different ones otherwise', () => {
    const a = stream(1, 'ids');
    const b = stream(1, 'ids');
    const c = stream(1, 'faults:x');
    const xs = [a.uuid(), a.uuid()];
    expect([b.uuid(), b.uuid()]).toEqual(xs);
    expect(c.uuid()).not.toBe(xs[0]);
    expect(xs[0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('does not draw for a zero rate, so enabling nothing leaves the stream alone', () => {
    const a = new Rng(5);
    const b = new Rng(5);
    expect(a.chance(0)).toBe(false);
    expect(a.next()).toBe(b.next());
  });
});

describe('fault planning', () => {
  it('draws each fault at its configured rate', () => {
    const faults = normalizeFaults({ duplicate: 0.2, reorder: 0.3, drop: 0.1, delay: 0.05, merge: 0.15, split: 0.5 });
    const rng = stream(9, 'plan');
    const n = 20_000;
    let dup = 0;
    let reo = 0;
    let drop = 0;
    let delay = 0;
    let merge = 0;
    let split = 0;
    for (let i = 0; i < n; i++) {
      const p = planDelivery(rng, faults);
      if (p.duplicateAfterMs !== undefined) dup++;
      if (p.holdFor > 0) reo++;
      if (p.redeliverAfterMs !== undefined) drop++;
      if (p.extraDelayMs > 0) delay++;
      if (p.merge) merge++;
      if (planSplit(rng, faults, 2)) split++;
      expect(p.holdFor).toBeLessThanOrEqual(3);
    }
    for (const [count, rate] of [
      [dup, 0.2],
      [reo, 0.3],
      [drop, 0.1],
      [delay, 0.05],
      [merge, 0.15],
      [split, 0.5],
    ] as const) {
      expect(Math.abs(count / n - rate)).toBeLessThan(0.015);
    }
    expect(planSplit(rng, faults, 1)).toBe(false);
  });

  it('rejects rates outside 0..1 and bad ranges', () => {
    expect(() => normalizeFaults({ duplicate: 1.5 })).toThrow(RangeError);
    expect(() => normalizeFaults({ delayMs: [10, 5] })).toThrow(RangeError);
  });

  it('throttles in bursts with a scaled Retry-After', () => {
    const inj = new ApiFaultInjector(stream(3, 'api'), normalizeFaults({ throttle: 0.2, burstLength: [3, 3], retryAfterSeconds: 10 }), 0.5);
    const kinds = Array.from({ length: 200 }, () => inj.next());
    const first = kinds.findIndex((k) => k.kind === 'throttle');
    expect(first).toBeGreaterThanOrEqual(0);
    expect(kinds.slice(first, first + 3).map((k) => k.kind)).toEqual(['throttle', 'throttle', 'throttle']);
    expect(kinds[first]).toEqual({ kind: 'throttle', retryAfterSeconds: 5 });
  });
});
