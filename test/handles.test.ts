import { afterEach, describe, expect, it } from 'vitest';
import { COMMAND_NAMES, COMMANDS, InMemoryEventStore, type CommandName, type InvitationTarget } from '@switchboard/core';
import { createSwitchboard, OperationFailedError, type Call, type Switchboard } from '@switchboard/runtime';
import { createSimulator, type Simulator } from '@switchboard/simulator';
import { createGraphClient } from '@switchboard/transport';
import { startWebhook } from './support/bot.js';
import { releaseAll } from './support/cleanup.js';

/**
 * A bot that calls every method of the `Call` and participant handles against the simulator,
 * through the real Graph client, webhook and runtime, and finds each one in the log as a
 * command and its successful result. The list of methods comes from core's command table:
 * a row added without being exercised here fails this test.
 */

const APP = { appId: 'b0t00000-0000-4000-8000-000000000016', tenantId: 'tenant-1', clientSecret: 'secret-1' };
const SCALE = 0.01;
const SERVICE_MEDIA = { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' } as const;
const prompt = {
  '@odata.type': '#microsoft.graph.mediaPrompt',
  mediaInfo: { uri: 'https://cdn.contoso.com/hello.wav', resourceId: 'hello' },
};
const user = (id: string): InvitationTarget => ({
  '@odata.type': '#microsoft.graph.invitationParticipantInfo',
  identity: { user: { id, displayName: id } },
});

let owned: Array<() => unknown> = [];
afterEach(async () => {
  const releases = owned.reverse();
  owned = [];
  await releaseAll(releases);
});

async function world(): Promise<{ sim: Simulator; sw: Switchboard; store: InMemoryEventStore; callbackUri: string }> {
  let sw!: Switchboard;
  let sim!: Simulator;
  const webhook = await startWebhook((d) => sw.sink(d), { appId: APP.appId, simulatorUrl: () => sim.url });
  owned.push(() => webhook.close());
  sim = createSimulator({
    apps: [{ ...APP, callbackUri: webhook.url }],
    seed: 16,
    timeScale: SCALE,
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
  sw = createSwitchboard({ graph, store, answerDeadlineMs: 15_000, deadlineMarginMs: 50, operationTimeoutMs: 10_000 });
  owned.push(() => sw.stop());
  return { sim, sw, store, callbackUri: webhook.url };
}

/** The handle, with every method called on it noted in `into`. */
function noting<T extends object>(handle: T, into: Set<string>): T {
  return new Proxy(handle, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function' || typeof property !== 'string') return value;
      into.add(property);
      return (value as (...args: unknown[]) => unknown).bind(target);
    },
  });
}

describe('a bot calls every method of the Call and participant handles', () => {
  it('each through the log, against the simulator', async () => {
    const { sim, sw, store, callbackUri } = await world();
    const onCall = new Set<string>();
    const onParticipant = new Set<string>();
    const incoming = (): Promise<Call> => new Promise((resolve) => sw.once('incomingCall', (call) => resolve(noting(call, onCall))));
    const hold = [
      { do: 'waitFor', state: 'established' },
      { do: 'hangUp', after: 60_000_000 },
    ] as const;

    // A: answered, then every media, recording and roster command
    let next = incoming();
    sim.placeIncomingCall({ appId: APP.appId, from: '+14255550100', script: [...hold] });
    const a = await next;
    expect((await a.answer({ callbackUri, acceptedModalities: ['audio'], mediaConfig: SERVICE_MEDIA })).status).toBe(202);
    await a.waitFor('established', { timeoutMs: 10_000 });
    const got = await a.get();
    expect(got.body.state).toBe('established');
    await a.keepAlive();
    await (await a.subscribeToTone({ clientContext: 'tones' })).completed;
    const played = await (await a.playPrompt({ prompts: [prompt], clientContext: 'hello' })).completed;
    expect(played.type).toBe('playPromptOperation');
    const recorded = await (await a.record({ maxRecordDurationInSeconds: 2, playBeep: true })).completed;
    expect(recorded.recordingLocation).toMatch(/\/recordings\//);
    expect(recorded.recordingAccessToken).toMatch(/^[0-9a-f]{40}$/);
    const looping = await a.playPrompt({ prompts: [prompt], loop: true });
    await (await a.cancelMediaProcessing({ clientContext: 'stop' })).completed;
    await expect(looping.completed).rejects.toBeInstanceOf(OperationFailedError);
    await (await a.sendDtmfTones({ tones: ['tone1', 'pound'], delayBetweenTonesMs: 100 })).completed;
    await (await a.mute()).completed;
    await (await a.unmute()).completed;
    await a.changeScreenSharingRole({ role: 'sharer' });
    await (await a.updateRecordingStatus({ status: 'recording', clientContext: 'consent' })).completed;
    await (await a.startRecording()).completed;
    await (await a.stopRecording()).completed;
    await (await a.startTranscription()).completed;
    await (await a.stopTranscription()).completed;
    expect((await a.get()).body.transcription).toMatchObject({ state: 'inactive' });
    await (await a.addLargeGalleryView({ clientContext: 'gallery' })).completed;

    // the roster: invite two, then the participant commands, on the call and on participant handles
    sim.scriptRemote('user-x', [{ do: 'answer', after: 50 }]);
    sim.scriptRemote('user-y', [{ do: 'answer', after: 50 }]);
    await (await a.invite({ participants: [user('user-x'), user('user-y')], clientContext: 'invite' })).completed;
    const roster = (await a.listParticipants()).body.value;
    const idOf = (userId: string): string => {
      const p = roster.find((r) => r.info?.identity?.user?.id === userId);
      if (!p?.id) throw new Error(`${userId} is not in the roster`);
      return p.id;
    };
    const caller = roster.find((r) => r.info?.identity?.phone)?.id;
    if (!caller) throw new Error('the caller is not in the roster');
    const [x, y] = [idOf('user-x'), idOf('user-y')];
    await (await a.muteAll({ clientContext: 'quiet' })).completed;
    await (await a.muteParticipant(x)).completed;
    await (await a.startHoldMusic(caller, { customPrompt: prompt })).completed;
    await (await a.stopHoldMusic(caller)).completed;
    const group = await a.createAudioRoutingGroup({ routingMode: 'oneToOne', sources: [caller], receivers: [x] });
    expect(group.status).toBe(201);
    expect((await a.listAudioRoutingGroups()).body.value.map((g) => g.id)).toEqual([group.body.id]);
    const py = noting(a.participant(y), onParticipant);
    await (await py.mute()).completed;
    await (await py.startHoldMusic()).completed;
    await (await py.stopHoldMusic()).completed;
    expect((await py.remove()).status).toBe(204);
    expect((await a.removeParticipant(x)).status).toBe(204);
    await a.hangUp();
    await a.waitFor('terminated', { timeoutMs: 10_000 });

    // B: rejected; C: redirected
    next = incoming();
    sim.placeIncomingCall({ appId: APP.appId, from: '+14255550101', script: [...hold] });
    const b = await next;
    await b.reject({ reason: 'busy' });
    await b.waitFor('terminated', { timeoutMs: 10_000 });
    next = incoming();
    sim.placeIncomingCall({ appId: APP.appId, from: '+14255550102', script: [...hold] });
    const c = await next;
    await c.redirect({ targets: [user('user-r')] });
    await c.waitFor('terminated', { timeoutMs: 10_000 });

    // D: an outgoing call, transferred
    sim.scriptRemote('user-bo', [{ do: 'answer', after: 50 }]);
    sim.scriptRemote('user-op', [{ do: 'answer', after: 50 }]);
    const d = noting(
      await sw.createCall({ callbackUri, targets: [user('user-bo')], requestedModalities: ['audio'], mediaConfig: SERVICE_MEDIA }),
      onCall,
    );
    await d.waitFor('established', { timeoutMs: 10_000 });
    await d.transfer({ transferTarget: user('user-op') });
    await d.waitFor('terminated', { timeoutMs: 10_000 });

    // every handle method of the table was called...
    const callMethods = COMMAND_NAMES.flatMap((n): string[] => (COMMANDS[n].call === null ? [] : [COMMANDS[n].call]));
    const participantMethods = COMMAND_NAMES.flatMap((n): string[] => (COMMANDS[n].participant === null ? [] : [COMMANDS[n].participant]));
    expect(callMethods.filter((m) => !onCall.has(m))).toEqual([]);
    expect(participantMethods.filter((m) => !onParticipant.has(m))).toEqual([]);
    // ...and each command is in the log, sent and answered with success
    const succeeded = new Set<CommandName>();
    const sent = new Set<CommandName>();
    for (const call of [a, b, c, d]) {
      for (const entry of await store.readStream(call.id)) {
        if (entry.kind === 'command') sent.add(entry.command);
        if (entry.kind === 'commandResult' && entry.outcome === 'succeeded') succeeded.add(entry.command);
      }
    }
    const onHandles = COMMAND_NAMES.filter((n) => COMMANDS[n].call !== null);
    expect(onHandles.filter((n) => !sent.has(n))).toEqual([]);
    expect(onHandles.filter((n) => !succeeded.has(n))).toEqual([]);
  }, 60_000);
});
