import { describe, expect, it } from 'vitest';
import { InMemoryEventStore, type GraphPort } from '@switchboard/core';
import { callStateBody } from '@switchboard/core/testing';
import { RUNTIME_DEFAULTS } from './defaults.js';
import { createSwitchboard } from './switchboard.js';

const CALL = '5b2e7c1d-0a3f-4e6b-9c8d-7f1e2d3c4b5a';
const graph: GraphPort = {
  async send(command) {
    if (command === 'listParticipants') return { status: 200, body: { value: [] } };
    return { status: 200, body: { '@odata.type': '#microsoft.graph.call', id: CALL, state: 'established' } };
  },
};

describe('RUNTIME_DEFAULTS', () => {
  it('is frozen, the deadline policy with it', () => {
    expect(Object.isFrozen(RUNTIME_DEFAULTS)).toBe(true);
    expect(Object.isFrozen(RUNTIME_DEFAULTS.onAnswerDeadline)).toBe(true);
    expect(RUNTIME_DEFAULTS.answerDeadlineMs).toBe(15_000);
  });

  it('is what a switchboard without options runs on: answer deadline, margin, keep-alive', async () => {
    const timers: Array<{ ms: number; fn: () => void }> = [];
    const now = 1_750_000_000_000;
    const sw = createSwitchboard({
      graph,
      store: new InMemoryEventStore(),
      clock: () => now,
      setTimer: (ms, fn) => {
        timers.push({ ms, fn });
        return () => undefined;
      },
    });
    const offered = new Promise<number>((resolve) => sw.on('incomingCall', (_call, deadline) => resolve(deadline)));
    await sw.sink({ body: callStateBody(CALL, 'incoming', { direction: 'incoming' }), receivedAt: now - 1_000 });
    expect(await offered).toBe(now - 1_000 + RUNTIME_DEFAULTS.answerDeadlineMs);
    // the policy's timer: Graph's deadline less the margin, from now
    expect(timers.map((t) => t.ms)).toContain(RUNTIME_DEFAULTS.answerDeadlineMs - 1_000 - RUNTIME_DEFAULTS.deadlineMarginMs);
    await sw.sink({ body: callStateBody(CALL, 'established'), receivedAt: now });
    expect(timers.map((t) => t.ms)).toContain(RUNTIME_DEFAULTS.keepAliveIntervalMs);
    await sw.stop();
  });
});
