import { afterEach, describe, expect, it } from 'vitest';
import { InMemoryEventStore, type CallEvent, type CallView, type InvitationTarget } from '@switchboard/core';
import { createSwitchboard, type Call, type GraphPort, type Switchboard } from '@switchboard/runtime';
import { createSimulator, type Simulator } from '@switchboard/simulator';
import { createGraphClient } from '@switchboard/transport';
import { startWebhook } from './support/bot.js';
import { releaseAll } from './support/cleanup.js';

const APP = { appId: 'b0t00000-0000-4000-8000-000000000017', tenantId: 'tenant-1', clientSecret: 'secret-1' };
const SERVICE_MEDIA = { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' } as const;
const prompt = { mediaInfo: { uri: 'https://cdn.contoso.com/hello.wav' } };
const user = (id: string): InvitationTarget => ({ identity: { user: { id, displayName: id } } });

let owned: Array<() => unknown> = [];
afterEach(async () => {
  const releases = owned.reverse();
  owned = [];
  await releaseAll(releases);
});

interface World {
  sim: Simulator;
  graph: GraphPort;
  store: InMemoryEventStore;
  callbackUri: string;
  /** A runtime on the shared store that the webhook now delivers to. */
  runtime(): Switchboard;
}

async function world(): Promise<World> {
  let sw: Switchboard | undefined;
  let sim!: Simulator;
  const webhook = await startWebhook((d) => sw!.sink(d), { appId: APP.appId, simulatorUrl: () => sim.url });
  owned.push(() => webhook.close());
  sim = createSimulator({
    apps: [{ ...APP, callbackUri: webhook.url }],
    seed: 17,
    timeScale: 0.01,
    timings: { incomingAnswerMs: 1_500_000 },
  });
  owned.push(() => sim.stop());
  const { url } = await sim.start();
  const graph = createGraphClient({
    baseUrl: url,
    auth: { tenantId: APP.tenantId, clientId: APP.appId, clientSecret: APP.clientSecret, authorityHost: url },
    allowInsecureCallback: true,
  });
  owned.push(() => graph.close());
  const store = new InMemoryEventStore();
  return {
    sim,
    graph,
    store,
    callbackUri: webhook.url,
    runtime() {
      const next = createSwitchboard({ graph, store, answerDeadlineMs: 15_000, deadlineMarginMs: 50, operationTimeoutMs: 10_000 });
      owned.push(() => next.stop());
      sw = next;
      return next;
    },
  };
}

async function answeredCall(w: World, sw: Switchboard, from: string): Promise<Call> {
  const incoming = new Promise<Call>((resolve) => sw.once('incomingCall', resolve));
  w.sim.placeIncomingCall({
    appId: APP.appId,
    from,
    script: [
      { do: 'waitFor', state: 'established' },
      { do: 'hangUp', after: 60_000_000 },
    ],
  });
  const call = await incoming;
  await call.answer({ callbackUri: w.callbackUri, acceptedModalities: ['audio'], mediaConfig: SERVICE_MEDIA });
  await call.waitFor('established', { timeoutMs: 10_000 });
  return call;
}

describe("a call handle's events", () => {
  it('every engine event under its own typed name, and `updated` with the views before and after', async () => {
    const w = await world();
    const sw = w.runtime();
    const updates: { before: CallView | undefined; after: CallView }[] = [];
    const joined: string[] = [];
    const muted: string[] = [];
    const seen: CallEvent['type'][] = [];
    sw.on('incomingCall', (call) => {
      call.on('updated', ({ before, after }) => updates.push({ before, after }));
      call.on('event', (e) => seen.push(e.type));
      call.on('participantJoined', (e) => joined.push(e.participant.id));
      call.on('participantMuted', (e) => muted.push(e.participant.id));
    });
    const call = await answeredCall(w, sw, '+14255550170');
    w.sim.scriptRemote('user-x', [{ do: 'answer', after: 50 }]);
    await (await call.invite({ participants: [user('user-x')] })).completed;
    const x = (await call.listParticipants()).body.value.find((p) => p.info?.identity?.user?.id === 'user-x')!.id!;
    await (await call.participant(x).mute()).completed;
    await (await call.playPrompt({ prompts: [prompt] })).completed;
    await call.hangUp();
    await call.waitFor('terminated', { timeoutMs: 10_000 });

    expect(seen).toContain('participantMuted');
    expect(joined).toContain(x);
    expect(muted).toContain(x);
    expect(updates.length).toBeGreaterThan(3);
    expect(updates[0]!.before?.state).toBe('incoming'); // the handler came in with incomingCall, after the first events
    for (let i = 1; i < updates.length; i++) expect(updates[i]!.before).toBe(updates[i - 1]!.after);
    expect(updates.at(-1)!.after.state).toBe('terminated');
  });

  it('callResumed: a restarted runtime hands the bot each live call with its view, and the bot carries on', async () => {
    const w = await world();
    const first = w.runtime();
    const call = await answeredCall(w, first, '+14255550171');
    await first.stop();

    const second = w.runtime();
    const resumed = new Promise<[Call, CallView, string]>((resolve) => second.once('callResumed', (c, v, how) => resolve([c, v, how])));
    expect(await second.start()).toBe(1);
    const [again, view, how] = await resumed;
    expect([again.id, view.state, how]).toEqual([call.id, 'established', 'restarted']);
    await (await again.playPrompt({ prompts: [prompt] })).completed;
    await again.hangUp();
    await again.waitFor('terminated', { timeoutMs: 10_000 });
  });
});
