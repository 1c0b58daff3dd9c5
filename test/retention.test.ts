/** The runtime's retention policy runs the archive on its timer. */
import { describe, expect, it } from 'vitest';

import { callStateBody } from '@switchboard/core/testing';
import { createSwitchboard } from '@switchboard/runtime';
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

describe('the runtime archives by its retention policy', () => {
  it('moves the calls that ended more than afterDays ago out of the store on its timer, and leaves the rest', async () => {
    const { mkdtempSync, readdirSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { SqliteEventStore } = await import('@switchboard/adapters');
    const dir = mkdtempSync(join(tmpdir(), 'swb-retention-'));
    try {
      const time = manualTime();
      const store = new SqliteEventStore({ path: join(dir, 'calls.db') });
      const day = 86_400_000;
      const sw = createSwitchboard({
        graph,
        store,
        clock: time.clock,
        setTimer: time.setTimer,
        snapshotWhenQuietMs: 0,
        retention: { archiveDir: join(dir, 'archive'), afterDays: 2, everyMs: 60_000 },
      });
      await sw.start();
      await sw.sink({ body: callStateBody('old', 'established'), receivedAt: time.clock() - 3 * day });
      await sw.sink({ body: callStateBody('old', 'terminated'), receivedAt: time.clock() - 3 * day });
      await sw.sink({ body: callStateBody('yesterday', 'terminated'), receivedAt: time.clock() - day });
      await sw.sink({ body: callStateBody('live', 'established') });
      expect(await store.listStreams()).toEqual(['old', 'yesterday', 'live']);
      await time.advance(60_000);
      // the archive's own I/O runs after the timer fired: wait for it (at most 10 s)
      for (let i = 0; i < 200 && (await store.listStreams()).length === 3; i++) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(await store.listStreams()).toEqual(['yesterday', 'live']);
      expect(readdirSync(join(dir, 'archive'))).toEqual([`${new Date(time.clock() - 3 * day).toISOString().slice(0, 10)}.jsonl.gz`]);
      await sw.stop();
      await store.close();
      expect(() => createSwitchboard({ graph, retention: { archiveDir: dir, afterDays: 1 } })).toThrow(
        expect.objectContaining({ code: 'SWB_INVALID_ARGUMENT' }),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
