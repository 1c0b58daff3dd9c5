import { afterEach, describe, expect, it } from 'vitest';
import { InMemoryEventStore, type CommandName } from '@switchboard/core';
import { callStateBody } from '@switchboard/core/testing';
import { createSwitchboard, type Switchboard } from './switchboard.js';
import type { GraphPort, GraphResponse, SendParams } from '@switchboard/core';

/**
 * An incoming call is offered to the bot once and answered at most once, however a restart,
 * a redelivery and the restore's resync interleave. Graph here answers every GET with the
 * call still ringing (the GET overtook the bot's answer), which is what a redelivery arriving
 * while `start()` restores makes possible.
 */
const CALL = '3a1f0b2c-5d6e-4f70-8a9b-0c1d2e3f4a5b';
const ANSWER = {
  callbackUri: 'https://bot.example/api/calls',
  mediaConfig: { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' },
  acceptedModalities: ['audio'],
} as const;

function ringingGraph(): GraphPort & { sent: Array<[CommandName, SendParams]>; release: () => void } {
  const sent: Array<[CommandName, SendParams]> = [];
  let release!: () => void;
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  return {
    sent,
    release,
    async send(command, params): Promise<GraphResponse> {
      sent.push([command, params]);
      if (command === 'get')
        return { status: 200, body: { '@odata.type': '#microsoft.graph.call', id: CALL, state: 'incoming', direction: 'incoming' } };
      if (command === 'listParticipants') return { status: 200, body: { value: [] } };
      // the answer is in flight for a while (as over a real network)
      if (command === 'answer') await held;
      return { status: 202, body: null };
    },
  };
}

let running: Switchboard[] = [];
afterEach(async () => {
  for (const sw of running) await sw.stop();
  running = [];
});

describe('an incoming call is answered at most once', () => {
  it('a delivery taken in while start() restores is offered once, not again by the restore', async () => {
    const graph = ringingGraph();
    const store = new InMemoryEventStore();
    const sw = createSwitchboard({ graph, store, snapshotWhenQuietMs: 0 });
    running.push(sw);
    const offers: string[] = [];
    sw.on('incomingCall', (call) => {
      offers.push(call.id);
      void call.answer(ANSWER).catch(() => undefined);
    });
    // Graph redelivers the ringing call to the restarted bot before its start() has run
    await sw.sink({ body: callStateBody(CALL, 'incoming', { direction: 'incoming' }) });
    await until(() => offers.length === 1);
    await sw.start(); // restores the (live) call and resyncs it: Graph still says incoming
    await new Promise((resolve) => setTimeout(resolve, 50));
    graph.release();
    await until(() => graph.sent.some(([c]) => c === 'get'));
    expect(offers).toEqual([CALL]);
    expect(graph.sent.filter(([c]) => c === 'answer')).toHaveLength(1);
  });

  it('a second answer while the first is in flight is refused locally, and after it succeeded', async () => {
    const graph = ringingGraph();
    const sw = createSwitchboard({ graph, store: new InMemoryEventStore(), snapshotWhenQuietMs: 0 });
    running.push(sw);
    await sw.sink({ body: callStateBody(CALL, 'incoming', { direction: 'incoming' }) });
    const call = sw.call(CALL)!;
    const first = call.answer(ANSWER);
    await until(() => graph.sent.some(([c]) => c === 'answer'));
    await expect(call.answer(ANSWER)).rejects.toMatchObject({ code: 'SWB_CALL_ALREADY_HANDLED' });
    await expect(call.reject({ reason: 'busy' })).rejects.toMatchObject({ code: 'SWB_CALL_ALREADY_HANDLED' });
    graph.release();
    await first;
    await expect(call.redirect({ targets: [] })).rejects.toMatchObject({ code: 'SWB_CALL_ALREADY_HANDLED' });
    expect(graph.sent.filter(([c]) => c === 'answer' || c === 'reject' || c === 'redirect')).toHaveLength(1);
  });

  it('an answer the previous process logged but may not have sent: offered again only if Graph says it still rings', async () => {
    const graph = ringingGraph();
    graph.release();
    const store = new InMemoryEventStore();
    const before = createSwitchboard({ graph, store, snapshotWhenQuietMs: 0 });
    await before.sink({ body: callStateBody(CALL, 'incoming', { direction: 'incoming' }) });
    // the process died between logging the answer and hearing Graph's reply: the log holds the
    // command without a result
    await before.engine.record(CALL, { kind: 'command', id: 'cmd:lost', command: 'answer', clientRequestId: 'lost' });
    const after = createSwitchboard({ graph, store, snapshotWhenQuietMs: 0 });
    running.push(after);
    const offers: string[] = [];
    after.on('incomingCall', (call) => offers.push(call.id));
    await after.start();
    // Graph's GET (after the old process was gone) says the call still rings: the answer never
    // landed, so the bot decides again
    expect(offers).toEqual([CALL]);
  });
});

async function until(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
