import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InMemoryEventStore, type EventStore } from '@switchboard/core';
import { exchangeToEntries, parseExchangeLog, replay } from '@switchboard/core/replay';
import {
  createFileRecorder,
  createSwitchboard,
  redact,
  type Call,
  type GraphPort,
  type Switchboard,
  type SwitchboardConfig,
} from '@switchboard/runtime';
import { createSimulator, type Simulator } from '@switchboard/simulator';
import { createGraphClient } from '@switchboard/transport';
import { startWebhook } from './support/bot.js';
import { releaseAll } from './support/cleanup.js';
import { until } from './support/net.js';

const APP = { appId: 'b0t00000-0000-4000-8000-000000000001', tenantId: 'tenant-1', clientSecret: 'secret-1' };
const SCALE = 0.01; // Graph time runs a hundred times faster
// Graph drops an unanswered call after 15 s, and the runtime acts on its own answer deadline
// before that. Here both are 15 s real (the time scale would make them 150 ms): on a loaded
// machine the tests that answer a call (the first answer fetches a token) must not race
// them. The test of the deadline sets the runtime's to 150 ms.
const ANSWER_WITHIN_MS = 15_000;
const GRAPH_DROPS_UNANSWERED_MS = ANSWER_WITHIN_MS / SCALE;
const SERVICE_MEDIA = { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' } as const;
const prompt = {
  '@odata.type': '#microsoft.graph.mediaPrompt',
  mediaInfo: { uri: 'https://cdn.contoso.com/hello.wav', resourceId: 'hello' },
};

/** What the running test owns, released after it in reverse order, each even when another fails to. */
let owned: Array<() => unknown> = [];
afterEach(async () => {
  const releases = owned.reverse();
  owned = [];
  await releaseAll(releases);
});

/** The real Graph client (MSAL against the simulator's token endpoint); only the base URL differs from Graph's. */
function graphPort(url: string): GraphPort {
  const client = createGraphClient({
    baseUrl: url,
    auth: { tenantId: APP.tenantId, clientId: APP.appId, clientSecret: APP.clientSecret, authorityHost: url },
    allowInsecureCallback: true,
  });
  owned.push(() => client.close());
  return client;
}

/** A runtime the test owns: stopped after it (stopping twice is harmless). */
function owning(sw: Switchboard): Switchboard {
  owned.push(() => sw.stop());
  return sw;
}

interface World {
  sim: Simulator;
  sw: Switchboard;
  webhook: { url: string; close(): Promise<void> };
  store: EventStore;
}

async function world(config: Partial<SwitchboardConfig> = {}, store: EventStore = new InMemoryEventStore()): Promise<World> {
  let sw!: Switchboard;
  let sim!: Simulator;
  const webhook = await startWebhook((d) => sw.sink(d), { appId: APP.appId, simulatorUrl: () => sim.url });
  owned.push(() => webhook.close());
  sim = createSimulator({
    apps: [{ ...APP, callbackUri: webhook.url }],
    seed: 5,
    timeScale: SCALE,
    timings: { incomingAnswerMs: GRAPH_DROPS_UNANSWERED_MS },
  });
  owned.push(() => sim.stop());
  const { url } = await sim.start();
  sw = owning(
    createSwitchboard({
      graph: graphPort(url),
      store,
      answerDeadlineMs: ANSWER_WITHIN_MS,
      deadlineMarginMs: 50,
      operationTimeoutMs: 5_000,
      ...config,
    }),
  );
  return { sim, sw, webhook, store };
}

function nextIncoming(sw: Switchboard): Promise<[Call, number]> {
  return new Promise((resolve) => sw.once('incomingCall', (call, deadline) => resolve([call, deadline])));
}

describe('the runtime against the simulator', () => {
  it('answers an incoming call, plays a prompt whose promise settles on the notification, and sees the caller hang up', async () => {
    const { sim, sw, webhook } = await world();
    const incoming = nextIncoming(sw);
    const { callId } = sim.placeIncomingCall({
      appId: APP.appId,
      from: '+14255550100',
      script: [
        { do: 'waitFor', state: 'established' },
        { do: 'hangUp', after: 200_000 },
      ],
    }); // Graph time: 2 s here
    const [call, deadline] = await incoming;
    expect(call.id).toBe(callId);
    expect(deadline).toBeGreaterThan(Date.now());
    await call.answer({ callbackUri: webhook.url, acceptedModalities: ['audio'], mediaConfig: SERVICE_MEDIA });
    await call.waitFor('established', { timeoutMs: 5000 });
    const op = await call.playPrompt({ prompts: [prompt], clientContext: 'hello' });
    expect(op.status).toBe('running');
    const done = await op.completed;
    expect(done).toMatchObject({ status: 'completed', type: 'playPromptOperation' });
    const ended = new Promise<Call>((resolve) => sw.once('callEnded', resolve));
    expect((await ended).id).toBe(callId);
    const view = sw.call(callId)!.view;
    expect(view.state).toBe('terminated');
    const commands = Object.values(view.commands).map((c) => [c.command, c.outcome]);
    expect(commands).toEqual([
      ['answer', 'succeeded'],
      ['playPrompt', 'succeeded'],
    ]);
    expect(sim.requestCount('POST', '/calls/{id}/answer')).toBe(1);
  });

  it('rejects an incoming call nobody handled before the answer deadline', async () => {
    const { sim, sw } = await world({ answerDeadlineMs: 15_000 * SCALE, onAnswerDeadline: { action: 'reject', reason: 'busy' } });
    const incoming = nextIncoming(sw);
    const { callId } = sim.placeIncomingCall({ appId: APP.appId, from: '+14255550101' });
    const [call] = await incoming;
    await call.waitFor('terminated', { timeoutMs: 5000 });
    expect(sim.requestCount('POST', '/calls/{id}/reject')).toBe(1);
    expect(sim.groundTruth(callId)!.state).toBe('terminated');
    expect(call.view.timers.answerDeadline).toBeTypeOf('number');
  });

  it('places a call, keeps it alive on its own, and hangs up', async () => {
    const { sim, sw, webhook } = await world({ keepAliveIntervalMs: 100 });
    sim.scriptRemote('user-ann', [{ do: 'answer', after: 100 }]);
    const call = await sw.createCall({
      '@odata.type': '#microsoft.graph.call',
      callbackUri: webhook.url,
      targets: [
        { '@odata.type': '#microsoft.graph.invitationParticipantInfo', identity: { user: { id: 'user-ann', displayName: 'Ann' } } },
      ],
      requestedModalities: ['audio'],
      mediaConfig: SERVICE_MEDIA,
    });
    await call.waitFor('established', { timeoutMs: 5000 });
    await sim.waitUntil(() => sim.requestCount('POST', '/calls/{id}/keepAlive') >= 2, { timeoutMs: 5000 });
    await call.hangUp();
    await call.waitFor('terminated', { timeoutMs: 5000 });
    const keepAlives = sim.requestCount('POST', '/calls/{id}/keepAlive');
    await new Promise((r) => setTimeout(r, 300));
    expect(sim.requestCount('POST', '/calls/{id}/keepAlive')).toBe(keepAlives); // none after the end
  });

  it('comes back after a restart: live calls restored from the log and resynced with Graph', async () => {
    const store = new InMemoryEventStore();
    const first = await world({}, store);
    const incoming = nextIncoming(first.sw);
    const { callId } = first.sim.placeIncomingCall({
      appId: APP.appId,
      from: '+14255550102',
      script: [
        { do: 'waitFor', state: 'established' },
        { do: 'dtmf', digits: '7', after: 100 },
      ],
    });
    const [call] = await incoming;
    await call.answer({ callbackUri: first.webhook.url, acceptedModalities: ['audio'], mediaConfig: SERVICE_MEDIA });
    await call.waitFor('established', { timeoutMs: 5000 });
    await first.sw.stop();

    // a new runtime on the same store, against the same Graph
    const second = owning(createSwitchboard({ graph: graphPort(first.sim.url), store, answerDeadlineMs: 150 }));
    expect(await second.start()).toBe(1);
    const restored = second.call(callId)!;
    expect(restored.state).toBe('established');
    expect(Object.values(restored.view.stale)).toEqual([]);
    expect(first.sim.requestCount('GET', '/calls/{id}')).toBe(1); // the resync
    await second.stop();
  });

  it('snapshots a call once it goes quiet, and every call it holds on stop, so a restart replays no tail', async () => {
    const store = new InMemoryEventStore();
    const w = await world({ snapshotWhenQuietMs: 100 }, store);
    await w.sw.start();
    const incoming = nextIncoming(w.sw);
    const { callId } = w.sim.placeIncomingCall({
      appId: APP.appId,
      from: '+14255550102',
      script: [{ do: 'waitFor', state: 'established' }],
    });
    const [call] = await incoming;
    await call.answer({ callbackUri: w.webhook.url, acceptedModalities: ['audio'], mediaConfig: SERVICE_MEDIA });
    await call.waitFor('established', { timeoutMs: 5000 });
    const head = async () => (await store.readStream(callId)).length;
    // quiet for 100 ms: the snapshot catches up with the log (checked every 50 ms)
    await until(async () => (await store.readSnapshot(callId))?.position === (await head()), 'the quiet snapshot', 5_000);

    // something new, then stop at once: stop() writes the snapshot
    const before = await head();
    await call.playPrompt({ prompts: [prompt], clientContext: 'late' });
    expect(await head()).toBeGreaterThan(before);
    await w.sw.stop();
    const position = (await store.readSnapshot(callId))?.position;
    expect(position).toBe(await head());
  });

  it('an operation started before a restart settles after it: call.operation(id) gives a new handle', async () => {
    const store = new InMemoryEventStore();
    let target!: Switchboard;
    let sim!: Simulator;
    const webhook = await startWebhook((d) => target.sink(d), { appId: APP.appId, simulatorUrl: () => sim.url });
    owned.push(() => webhook.close());
    sim = createSimulator({
      apps: [{ ...APP, callbackUri: webhook.url }],
      seed: 5,
      timeScale: SCALE,
      timings: { incomingAnswerMs: GRAPH_DROPS_UNANSWERED_MS },
    });
    owned.push(() => sim.stop());
    const { url } = await sim.start();
    const make = () =>
      owning(
        createSwitchboard({
          graph: graphPort(url),
          store,
          answerDeadlineMs: ANSWER_WITHIN_MS,
          deadlineMarginMs: 50,
          operationTimeoutMs: 5_000,
        }),
      );
    const first = make();
    target = first;
    const incoming = nextIncoming(first);
    const { callId } = sim.placeIncomingCall({ appId: APP.appId, from: '+14255550102', script: [{ do: 'waitFor', state: 'established' }] });
    const [call] = await incoming;
    await call.answer({ callbackUri: webhook.url, acceptedModalities: ['audio'], mediaConfig: SERVICE_MEDIA });
    await call.waitFor('established', { timeoutMs: 5000 });
    const looping = await call.playPrompt({ prompts: [prompt], loop: true }); // runs until cancelled
    await first.stop();

    const second = make();
    target = second;
    expect(await second.start()).toBe(1);
    const restored = second.call(callId)!;
    expect(restored.operation('no-such-operation')).toBeUndefined();
    const handle = restored.operation(looping.id)!;
    expect(handle.status).toBe('running');
    const settled = handle.completed.then(
      () => 'completed',
      (error: { operation?: { status?: string } }) => error.operation?.status,
    );
    await restored.cancelMediaProcessing({ clientContext: 'after-restart' });
    expect(await settled).toBe('failed'); // Graph fails a cancelled prompt (400/8508)
    // and one that already ended settles at once
    await expect(restored.operation(looping.id)!.completed).rejects.toMatchObject({ name: 'OperationFailedError' });
  });

  it('records every exchange, redacted, as a log that replay turns into the same call', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'swb-rec-'));
    const file = join(dir, 'calls.jsonl');
    const { sim, sw, webhook } = await world({ recorder: createFileRecorder(file) });
    const incoming = nextIncoming(sw);
    sim.placeIncomingCall({
      appId: APP.appId,
      from: '+14255550103',
      script: [
        { do: 'waitFor', state: 'established' },
        { do: 'hangUp', after: 100_000 },
      ],
    });
    const [call] = await incoming;
    await call.answer({ callbackUri: webhook.url, acceptedModalities: ['audio'], mediaConfig: SERVICE_MEDIA });
    await call.waitFor('established', { timeoutMs: 5000 });
    await (await call.playPrompt({ prompts: [prompt] })).completed;
    await call.waitFor('terminated', { timeoutMs: 5000 });
    const text = readFileSync(file, 'utf8');
    const replayed = replay(exchangeToEntries(parseExchangeLog(text))).calls[call.id]!;
    expect(replayed.state).toBe('terminated');
    expect(Object.values(replayed.operations).map((o) => o.status)).toEqual(['completed']);
    expect(text).not.toMatch(/ey[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\./); // no JWTs
    expect(text).not.toContain(APP.clientSecret);
    expect(redact({ meetingInfo: { token: 'abc' }, x: 'eyJhbGciOiJSUzI1NiJ9.eyJhcHBJZCI6IjEifQ.sig', ok: 'fine' })).toEqual({
      meetingInfo: { token: '[redacted]' },
      x: '[redacted]',
      ok: 'fine',
    });
  });

  it('a command Graph refuses is recorded as failed and rejects with the error code', async () => {
    const { sim, sw, webhook } = await world();
    sim.scriptRemote('user-bo', [{ do: 'answer', after: 50 }]);
    const call = await sw.createCall({
      '@odata.type': '#microsoft.graph.call',
      callbackUri: webhook.url,
      targets: [{ '@odata.type': '#microsoft.graph.invitationParticipantInfo', identity: { user: { id: 'user-bo', displayName: 'Bo' } } }],
      requestedModalities: ['audio'],
      mediaConfig: SERVICE_MEDIA,
    });
    await call.waitFor('established', { timeoutMs: 5000 });
    await expect(call.muteParticipant('nobody-here')).rejects.toMatchObject({ code: 'SWB_GRAPH_NOT_FOUND' });
    const failed = Object.values(call.view.commands).find((c) => c.command === 'muteParticipant');
    expect(failed?.outcome).toBe('failed');
    await call.hangUp();
  });

  it('refuses a command on a terminated call without a request to Graph or a log entry', async () => {
    const { sim, sw, webhook, store } = await world();
    sim.scriptRemote('user-bo', [{ do: 'answer', after: 50 }]);
    const call = await sw.createCall({
      '@odata.type': '#microsoft.graph.call',
      callbackUri: webhook.url,
      targets: [{ '@odata.type': '#microsoft.graph.invitationParticipantInfo', identity: { user: { id: 'user-bo', displayName: 'Bo' } } }],
      requestedModalities: ['audio'],
      mediaConfig: SERVICE_MEDIA,
    });
    await call.waitFor('established', { timeoutMs: 5000 });
    await call.hangUp();
    await call.waitFor('terminated', { timeoutMs: 5000 });
    const requests = sim.requests().length;
    const logged = (await store.readStream(call.id)).length;
    await expect(call.playPrompt({ prompts: [prompt] })).rejects.toMatchObject({ code: 'SWB_CALL_TERMINATED' });
    await expect(call.participant('p1').mute()).rejects.toMatchObject({ code: 'SWB_CALL_TERMINATED' });
    await expect(call.keepAlive()).rejects.toMatchObject({ code: 'SWB_CALL_TERMINATED' });
    expect(sim.requests().length).toBe(requests);
    expect((await store.readStream(call.id)).length).toBe(logged);
  });
});

/** A store whose appends take `delayMs` (a slow disk or database), over the in-memory one. */
function slowStore(delayMs: number): EventStore {
  const inner = new InMemoryEventStore();
  return {
    readStream: (id, options) => inner.readStream(id, options),
    appendToStream: async (id, entries, options) => {
      await new Promise((r) => setTimeout(r, delayMs));
      return inner.appendToStream(id, entries, options);
    },
    listStreams: () => inner.listStreams(),
    readSnapshot: (id) => inner.readSnapshot(id),
    writeSnapshot: (id, snapshot) => inner.writeSnapshot(id, snapshot),
  };
}

describe('the call handle and the runtime as a bot author uses them', () => {
  it('starts and stops hold music for a participant (the route is participant-scoped), each through the log', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'swb-hold-')), 'calls.jsonl');
    const { sim, sw, webhook } = await world({ recorder: createFileRecorder(file) });
    const incoming = nextIncoming(sw);
    sim.placeIncomingCall({ appId: APP.appId, from: '+14255550104', script: [{ do: 'waitFor', state: 'established' }] });
    const [call] = await incoming;
    await call.answer({ callbackUri: webhook.url, acceptedModalities: ['audio'], mediaConfig: SERVICE_MEDIA });
    await call.waitFor('established', { timeoutMs: 5000 });
    // the caller, as a PSTN identity: its phone number reads without a cast
    const callerNumber: string | null | undefined = call.view.source?.identity?.phone?.id;
    expect(callerNumber).toBe('+14255550104');
    const roster = (await call.listParticipants()).body as { value: { id: string; info: { identity: { phone?: { id: string } } } }[] };
    const caller = roster.value.find((p) => p.info.identity.phone?.id === '+14255550104')!;

    const held = await call.startHoldMusic(caller.id, { clientContext: 'hold' });
    expect(held.status).toBe('running');
    expect(await held.completed).toMatchObject({ status: 'completed', type: 'startHoldMusicOperation' });
    await (await call.stopHoldMusic(caller.id, { clientContext: 'resume' })).completed;
    expect(sim.requestCount('POST', '/calls/{id}/participants/{participantId}/startHoldMusic')).toBe(1);
    expect(sim.requestCount('POST', '/calls/{id}/participants/{participantId}/stopHoldMusic')).toBe(1);
    const commands = Object.values(call.view.commands).map((c) => [c.command, c.outcome]);
    expect(commands).toContainEqual(['startHoldMusic', 'succeeded']);
    expect(commands).toContainEqual(['stopHoldMusic', 'succeeded']);
    // recorded at Graph's path, which replay maps back to the command
    const paths = parseExchangeLog(readFileSync(file, 'utf8'))
      .filter((r) => r.kind === 'request')
      .map((r) => r.path);
    expect(paths).toContain(`/v1.0/communications/calls/${call.id}/participants/${caller.id}/startHoldMusic`);
    expect(paths).toContain(`/v1.0/communications/calls/${call.id}/participants/${caller.id}/stopHoldMusic`);
    // @ts-expect-error a participant-scoped command needs the participant
    await expect(call.startHoldMusic()).rejects.toMatchObject({ code: 'SWB_INVALID_ARGUMENT' });
  });

  it('counts the answer deadline from when the ringing notification arrived, not from when a slow store let it fold', async () => {
    const store = slowStore(200);
    const { sim, sw } = await world({}, store);
    const incoming = nextIncoming(sw);
    const { callId } = sim.placeIncomingCall({ appId: APP.appId, from: '+14255550105' });
    const [, deadline] = await incoming;
    const [first] = await store.readStream(callId);
    expect(first?.kind).toBe('notification');
    expect(deadline).toBe(first!.at + ANSWER_WITHIN_MS);
  });

  it('places a call from a CreateCallSpec: the Graph client builds the body, and the log records what was sent', async () => {
    const { sim, sw, webhook, store } = await world();
    sim.scriptRemote('user-cy', [{ do: 'answer', after: 50 }]);
    const call = await sw.createCall({ kind: 'peerToPeer', callbackUri: webhook.url, target: { id: 'user-cy', displayName: 'Cy' } });
    await call.waitFor('established', { timeoutMs: 5000 });
    const [command] = await store.readStream(call.id);
    expect(command).toMatchObject({
      kind: 'command',
      command: 'create',
      args: { requestedModalities: ['audio'], mediaConfig: SERVICE_MEDIA, targets: [{ identity: { user: { id: 'user-cy' } } }] },
    });
    expect(sim.groundTruth(call.id)!.state).toBe('established');

    // a port that cannot build says so, and sends nothing
    const port: GraphPort = { send: () => Promise.reject(new Error('must not be sent')) };
    const bare = createSwitchboard({ graph: port });
    await expect(bare.createCall({ kind: 'peerToPeer', callbackUri: webhook.url, target: { id: 'user-cy' } })).rejects.toMatchObject({
      code: 'SWB_INVALID_ARGUMENT',
    });
  });

  it('refuses every command after stop() with SWB_STOPPED, and sends nothing', async () => {
    const { sim, sw, webhook, store } = await world();
    const incoming = nextIncoming(sw);
    sim.placeIncomingCall({ appId: APP.appId, from: '+14255550106', script: [{ do: 'waitFor', state: 'established' }] });
    const [call] = await incoming;
    await call.answer({ callbackUri: webhook.url, acceptedModalities: ['audio'], mediaConfig: SERVICE_MEDIA });
    await call.waitFor('established', { timeoutMs: 5000 });
    await sw.stop();
    const before = sim.requests().length;
    const entries = (await store.readStream(call.id)).length;
    await expect(
      sw.createCall({
        '@odata.type': '#microsoft.graph.call',
        callbackUri: webhook.url,
        targets: [
          { '@odata.type': '#microsoft.graph.invitationParticipantInfo', identity: { user: { id: 'user-dee', displayName: 'Dee' } } },
        ],
        requestedModalities: ['audio'],
        mediaConfig: SERVICE_MEDIA,
      }),
    ).rejects.toMatchObject({ code: 'SWB_STOPPED' });
    await expect(call.playPrompt({ prompts: [prompt] })).rejects.toMatchObject({ code: 'SWB_STOPPED' });
    await expect(call.hangUp()).rejects.toMatchObject({ code: 'SWB_STOPPED' });
    await expect(sw.resync(call.id, 'after stop')).rejects.toMatchObject({ code: 'SWB_STOPPED' });
    expect(sim.requests().length).toBe(before);
    expect((await store.readStream(call.id)).length).toBe(entries);
  });

  it('start() waits until the store is ready to write (a SQLite writer thread still starting)', async () => {
    let release!: () => void;
    const store = Object.assign(slowStore(0), { ready: () => new Promise<void>((resolve) => (release = resolve)) });
    const sw = createSwitchboard({ graph: { send: () => Promise.reject(new Error('nothing to send')) }, store });
    let started = false;
    const starting = sw.start().then(() => (started = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(started).toBe(false);
    release();
    await starting;
    await sw.stop();
  });

  it('answer needs acceptedModalities, in its type as at runtime', async () => {
    const { sim, sw, webhook } = await world();
    const incoming = nextIncoming(sw);
    sim.placeIncomingCall({ appId: APP.appId, from: '+14255550107' });
    const [call] = await incoming;
    // @ts-expect-error acceptedModalities is required
    await expect(call.answer({ callbackUri: webhook.url, mediaConfig: SERVICE_MEDIA })).rejects.toMatchObject({
      code: 'SWB_INVALID_ARGUMENT',
    });
  });
});
