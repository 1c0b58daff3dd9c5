import { describe, expect, it } from 'vitest';
import { endedAtOf, InMemoryEventStore, type CallEvent } from '@switchboard/core';
import { callStateBody } from '@switchboard/core/testing';
import { createSwitchboard } from './switchboard.js';
import type { GraphPort } from '@switchboard/core';

const graph: GraphPort = { send: async () => ({ status: 202, body: null }) };

/** A clock and timers the test moves by hand. */
function manualTime() {
  let now = 1_000_000;
  const timers: Array<{ at: number; fn: () => void; cancelled: boolean }> = [];
  return {
    clock: () => now,
    setTimer: (ms: number, fn: () => void) => {
      const timer = { at: now + ms, fn, cancelled: false };
      timers.push(timer);
      return () => {
        timer.cancelled = true;
      };
    },
    /** Moves the clock and runs the timers due, in order. */
    async advance(ms: number) {
      now += ms;
      for (;;) {
        const due = timers.filter((t) => !t.cancelled && t.at <= now).sort((a, b) => a.at - b.at)[0];
        if (!due) break;
        due.cancelled = true;
        due.fn();
        await new Promise((resolve) => setImmediate(resolve));
      }
    },
  };
}

describe('the runtime evicts ended calls', () => {
  it('drops an ended call after the grace period; a late notification is still stored and reported stale; loadCall reads it back', async () => {
    const time = manualTime();
    const store = new InMemoryEventStore({ endedAt: endedAtOf });
    const sw = createSwitchboard({
      graph,
      store,
      clock: time.clock,
      setTimer: time.setTimer,
      evictEndedAfterMs: 60_000,
      snapshotWhenQuietMs: 0,
    });
    await sw.start();
    await sw.sink({ body: callStateBody('ended', 'established') });
    await sw.sink({ body: callStateBody('ended', 'terminated') });
    await sw.sink({ body: callStateBody('live', 'established') });
    await time.advance(59_000);
    expect(sw.call('ended')).toBeDefined();
    await time.advance(31_000);
    expect(sw.call('ended')).toBeUndefined();
    expect(sw.calls().map((c) => c.id)).toEqual(['live']);

    const events: CallEvent[] = [];
    sw.on('event', (e) => events.push(e));
    await sw.sink({ body: callStateBody('ended', 'established') });
    expect(events.map((e) => e.type)).toEqual(['staleEntryIgnored']);
    expect(await store.readStream('ended')).toHaveLength(3);
    const handle = await sw.loadCall('ended');
    expect(handle?.view?.state).toBe('terminated');
    expect(await sw.loadCall('never')).toBeUndefined();
    await sw.stop();
  });

  it('start() restores the live calls and those ended within the grace period, not the rest of the history', async () => {
    const time = manualTime();
    const store = new InMemoryEventStore({ endedAt: endedAtOf });
    const first = createSwitchboard({ graph, store, clock: time.clock, setTimer: time.setTimer, snapshotWhenQuietMs: 0 });
    for (let i = 0; i < 20; i++) {
      await first.sink({ body: callStateBody(`old-${i}`, 'established') });
      await first.sink({ body: callStateBody(`old-${i}`, 'terminated') });
    }
    await time.advance(10 * 60_000);
    await first.sink({ body: callStateBody('recent', 'terminated') });
    await first.sink({ body: callStateBody('live', 'established') });
    await first.stop();
    const second = createSwitchboard({ graph, store, clock: time.clock, setTimer: time.setTimer, snapshotWhenQuietMs: 0 });
    expect(await second.start()).toBe(1);
    expect(
      second
        .calls()
        .map((c) => c.id)
        .sort(),
    ).toEqual(['live', 'recent']);
    await second.stop();
  });
});
