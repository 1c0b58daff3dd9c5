import { describe, expect, it } from 'vitest';
import { Scheduler } from './scheduler.js';

describe('Scheduler', () => {
  it('runs tasks in Graph-time order, scaled, and schedules relative to the running task', async () => {
    const s = new Scheduler(0.01);
    const order: string[] = [];
    const start = Date.now();
    const base = s.now();
    s.at(base + 3000, () => order.push('c'));
    s.at(base + 1000, () => {
      order.push('a');
      // relative to this task's due time, not the wall clock
      expect(s.now()).toBe(base + 1000);
      s.after(1000, () => order.push('b'));
      s.after(2000, () => order.push('c2'));
    });
    await new Promise((r) => setTimeout(r, 80));
    expect(order).toEqual(['a', 'b', 'c', 'c2']);
    expect(Date.now() - start).toBeLessThan(80 + 50);
    s.stop();
  });

  it('keeps scheduling order among equal due times and counts tracked work', async () => {
    const s = new Scheduler(0.01);
    const order: number[] = [];
    const at = s.now() + 500;
    for (let i = 0; i < 5; i++) s.at(at, () => order.push(i), { tracked: i % 2 === 0 });
    const far = s.after(600_000, () => order.push(99), { tracked: true });
    expect(s.trackedPending()).toBe(4);
    expect(s.trackedPending(60_000)).toBe(3);
    await new Promise((r) => setTimeout(r, 30));
    expect(order).toEqual([0, 1, 2, 3, 4]);
    far.cancel();
    expect(s.trackedPending()).toBe(0);
    s.stop();
  });

  it('runs nothing after stop', async () => {
    const s = new Scheduler(0.01);
    let ran = false;
    s.after(100, () => (ran = true));
    s.stop();
    s.after(0, () => (ran = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(ran).toBe(false);
  });

  it('refuses a non-positive time scale', () => {
    expect(() => new Scheduler(0)).toThrow(RangeError);
  });
});
