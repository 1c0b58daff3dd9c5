import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { InMemoryEventStore, type InvitationTarget } from '@switchboard/core';
import { createSwitchboard, type Call, type Switchboard } from '@switchboard/runtime';
import { createSimulator, type FaultOptions, type Simulator } from '@switchboard/simulator';
import { createGraphClient } from '@switchboard/transport';
import { startWebhook } from './support/bot.js';
import { releaseAll } from './support/cleanup.js';

/**
 * The flows bot authors used to write by hand, on the call handles, against the simulator
 * over loopback HTTP (real Graph client, webhook and runtime): `collectDigits`, a
 * participant's `waitFor`, and the transfer handle's outcome.
 */

const APP = { appId: 'b0t00000-0000-4000-8000-000000000018', tenantId: 'tenant-1', clientSecret: 'secret-1' };
const SCALE = 0.01;
const SERVICE_MEDIA = { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' } as const;
/** The runtime's options in these tests (a restarted runtime takes the same). */
const RUNTIME = { answerDeadlineMs: 15_000, deadlineMarginMs: 50, operationTimeoutMs: 10_000 } as const;
const user = (id: string): InvitationTarget => ({ identity: { user: { id, displayName: id } } });

let owned: Array<() => unknown> = [];
afterEach(async () => {
  const releases = owned.reverse();
  owned = [];
  await releaseAll(releases);
});

interface World {
  sim: Simulator;
  sw: Switchboard;
  store: InMemoryEventStore;
  callbackUri: string;
  graph: ReturnType<typeof createGraphClient>;
  /** Sends the webhook's deliveries to another runtime from now on (a restart). */
  rebind(next: Switchboard): void;
}

async function world(options: { seed?: number; faults?: FaultOptions; transferMs?: number } = {}): Promise<World> {
  let sw!: Switchboard;
  let sim!: Simulator;
  const webhook = await startWebhook((d) => sw.sink(d), { appId: APP.appId, simulatorUrl: () => sim.url });
  owned.push(() => webhook.close());
  sim = createSimulator({
    apps: [{ ...APP, callbackUri: webhook.url }],
    seed: options.seed ?? 18,
    timeScale: SCALE,
    timings: { incomingAnswerMs: 1_500_000, ...(options.transferMs !== undefined ? { transferMs: options.transferMs } : {}) },
    ...(options.faults ? { faults: options.faults } : {}),
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
  sw = createSwitchboard({ graph, store, ...RUNTIME });
  owned.push(() => sw.stop());
  return {
    sim,
    sw,
    store,
    callbackUri: webhook.url,
    graph,
    rebind: (next) => {
      sw = next;
    },
  };
}

/** An incoming call, answered and established; `simId` is the simulator's id for `act`. */
async function answeredCall(w: World, from: string): Promise<{ call: Call; simId: string }> {
  const incoming = new Promise<Call>((resolve) => w.sw.once('incomingCall', resolve));
  const { callId: simId } = w.sim.placeIncomingCall({
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
  return { call, simId };
}

function press(w: World, simId: string, digits: string): void {
  const done = w.sim.act(simId, { do: 'dtmf', digits, intervalMs: 100 });
  if (!done.applied) throw new Error(`dtmf not applied: ${done.reason}`);
}

/** Resolves once the call's log holds a successful result of `command`. */
async function logged(w: World, call: Call, command: string): Promise<void> {
  await expect
    .poll(async () =>
      (await w.store.readStream(call.id)).some((e) => e.kind === 'commandResult' && e.command === command && e.outcome === 'succeeded'),
    )
    .toBe(true);
}

describe('call.collectDigits', () => {
  it('subscribes to tones through the log, then collects up to the terminator', async () => {
    const w = await world();
    const { call, simId } = await answeredCall(w, '+14255550180');
    const collecting = call.collectDigits({ terminator: '#', timeoutMs: 10_000 });
    await logged(w, call, 'subscribeToTone');
    press(w, simId, '42#7');
    const got = await collecting;
    expect(got.digits).toBe('42');
    expect(got.reason).toBe('terminator');
    expect(got.tones.map((t) => t.tone)).toEqual(['tone4', 'tone2', 'pound']);
    const commands = (await w.store.readStream(call.id)).filter((e) => e.kind === 'command').map((e) => e.command);
    expect(commands.filter((c) => c === 'subscribeToTone')).toHaveLength(1);

    // a second collection starts after the tones the view holds (the 7 pressed after '#' is one
    // of them), and the call is not subscribed again
    await expect.poll(() => call.view.tones.length).toBe(4);
    const next = call.collectDigits({ maxDigits: 3, timeoutMs: 10_000 });
    press(w, simId, '*890');
    expect(await next).toMatchObject({ digits: '*89', reason: 'maxDigits' });
    // `afterSequenceId: 0`: every key of the call, the terminator of the first collection too
    expect(await call.collectDigits({ afterSequenceId: 0, maxDigits: 8, timeoutMs: 10_000 })).toMatchObject({
      digits: '42#7*890',
      reason: 'maxDigits',
    });
    expect((await w.store.readStream(call.id)).filter((e) => e.kind === 'command' && e.command === 'subscribeToTone')).toHaveLength(1);
    await call.hangUp();
  });

  it('stops at its timeout with what arrived; rejects when the call ends or the signal fires', async () => {
    const w = await world();
    const { call, simId } = await answeredCall(w, '+14255550181');
    await (await call.subscribeToTone()).completed;
    // (the key is in the view before the collection starts, so the time limit cannot beat it)
    press(w, simId, '5');
    await expect.poll(() => call.view.tones.length).toBe(1);
    expect(await call.collectDigits({ terminator: '#', timeoutMs: 300, afterSequenceId: 0 })).toMatchObject({
      digits: '5',
      reason: 'timeout',
    });

    const controller = new AbortController();
    const aborted = call.collectDigits({ terminator: '#', timeoutMs: 10_000, signal: controller.signal });
    controller.abort();
    await expect(aborted).rejects.toMatchObject({ code: 'SWB_ABORTED' });

    const ended = call.collectDigits({ terminator: '#', timeoutMs: 10_000 });
    press(w, simId, '1');
    await call.hangUp();
    await expect(ended).rejects.toMatchObject({ code: 'SWB_CALL_TERMINATED' });
    expect(call.awaited).toBe(false);
    await expect(call.collectDigits({ timeoutMs: -1 })).rejects.toMatchObject({ code: 'SWB_INVALID_ARGUMENT' });
    await expect(call.collectDigits({ timeoutMs: 10, afterSequenceId: -1 })).rejects.toMatchObject({ code: 'SWB_INVALID_ARGUMENT' });
    await expect(call.collectDigits({ timeoutMs: 10, terminator: 'pound' as never })).rejects.toMatchObject({
      code: 'SWB_INVALID_ARGUMENT',
    });
  });

  it('stops when no key follows the last one for interDigitTimeoutMs; before the first key only timeoutMs counts', async () => {
    const w = await world();
    const { call, simId } = await answeredCall(w, '+14255550183');
    await (await call.subscribeToTone()).completed;

    // no key at all: the inter-digit clock never starts, the time limit ends it
    expect(await call.collectDigits({ terminator: '#', timeoutMs: 400, interDigitTimeoutMs: 50 })).toMatchObject({
      digits: '',
      reason: 'timeout',
    });

    // two keys, then silence: stopped by the inter-digit limit long before the time limit
    const started = Date.now();
    const collecting = call.collectDigits({ terminator: '#', timeoutMs: 20_000, interDigitTimeoutMs: 600 });
    press(w, simId, '12');
    expect(await collecting).toMatchObject({ digits: '12', reason: 'interDigitTimeout' });
    expect(Date.now() - started).toBeLessThan(15_000);

    // keys that keep coming within the limit are all collected, up to the terminator
    const more = call.collectDigits({ terminator: '#', timeoutMs: 20_000, interDigitTimeoutMs: 5_000 });
    press(w, simId, '345#');
    expect(await more).toMatchObject({ digits: '345', reason: 'terminator' });
    await expect(call.collectDigits({ timeoutMs: 10, interDigitTimeoutMs: -1 })).rejects.toMatchObject({ code: 'SWB_INVALID_ARGUMENT' });
    await call.hangUp();
  });

  it('loses or doubles no key when Graph reorders, delays and duplicates the tone notifications (property)', async () => {
    let disordered = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.string({ unit: fc.constantFrom(...'0123456789*'), minLength: 1, maxLength: 8 }),
        fc.record({ reorder: fc.double({ min: 0.2, max: 0.9, noNaN: true }), duplicate: fc.double({ min: 0, max: 0.6, noNaN: true }) }),
        async (seed, digits, rates) => {
          const w = await world({
            seed,
            faults: { ...rates, reorderWindow: 4, delay: 0.2, delayMs: [0, 2_000], duplicateDelayMs: [0, 1_000] },
          });
          try {
            const { call, simId } = await answeredCall(w, '+14255550182');
            await (await call.subscribeToTone()).completed;
            const collecting = call.collectDigits({ terminator: '#', timeoutMs: 15_000 });
            press(w, simId, `${digits}#`);
            const got = await collecting;
            expect(got).toMatchObject({ digits, reason: 'terminator' });
            expect(got.tones.map((t) => t.sequenceId)).toEqual([...`${digits}#`].map((_, i) => i + 1));
            // the schedule did what it was drawn for: tone notifications out of order or twice
            const arrived = (await w.store.readStream(call.id)).flatMap((e) =>
              e.kind === 'notification' && e.target.type === 'call'
                ? [(e.resourceData as { toneInfo?: { sequenceId?: number } } | null)?.toneInfo?.sequenceId].filter((s) => s !== undefined)
                : [],
            );
            if (arrived.some((s, i) => i > 0 && s! <= arrived[i - 1]!)) disordered++;
          } finally {
            const releases = owned.reverse();
            owned = [];
            await releaseAll(releases);
          }
        },
      ),
      { numRuns: 12, seed: 18 },
    );
    expect(disordered).toBeGreaterThan(0);
  }, 120_000);
});

describe('participant.waitFor', () => {
  it('waits for the lobby, admission, mute, unmute and leaving; a predicate; timeout, abort and call end', async () => {
    const w = await world();
    const thread = '19:meeting_flows@thread.v2';
    w.sim.scriptRemote(thread, {
      attendees: [{ participant: 'organizer' }, { participant: 'dave', displayName: 'Dave', lobby: true }],
      botLobby: false,
    });
    const call = await w.sw.createCall({
      callbackUri: w.callbackUri,
      requestedModalities: ['audio'],
      mediaConfig: SERVICE_MEDIA,
      chatInfo: { threadId: thread, messageId: '0' },
      meetingInfo: {
        '@odata.type': '#microsoft.graph.organizerMeetingInfo',
        organizer: { user: { id: 'organizer', tenantId: APP.tenantId } },
        allowConversationWithoutHost: true,
      },
      tenantId: APP.tenantId,
    });
    await call.waitFor('established', { timeoutMs: 10_000 });
    await expect.poll(() => Object.values(call.view.participants).some((p) => p.info?.identity?.user?.displayName === 'Dave')).toBe(true);
    const daveId = Object.values(call.view.participants).find((p) => p.info?.identity?.user?.displayName === 'Dave')!.id;
    const simId = call.view.graphId;
    const dave = call.participant(daveId);

    expect((await dave.waitFor('inLobby', { timeoutMs: 5_000 })).isInLobby).toBe(true);
    expect((await dave.waitFor('joined')).id).toBe(daveId);
    const admitted = dave.waitFor('admitted', { timeoutMs: 10_000 });
    w.sim.act(simId, { do: 'admit', participant: 'dave' });
    expect((await admitted).isInLobby).toBe(false);

    const muted = dave.waitFor('muted', { timeoutMs: 10_000 });
    const byPredicate = dave.waitFor((p, view) => p.isMuted === true && view.state === 'established', { timeoutMs: 10_000 });
    w.sim.act(simId, { do: 'mute', participant: 'dave' });
    expect((await muted).isMuted).toBe(true);
    expect((await byPredicate).id).toBe(daveId);
    const unmuted = dave.waitFor('unmuted', { timeoutMs: 10_000 });
    w.sim.act(simId, { do: 'unmute', participant: 'dave' });
    expect((await unmuted).isMuted).toBe(false);

    await expect(dave.waitFor('inLobby', { timeoutMs: 50 })).rejects.toMatchObject({ code: 'SWB_WAIT_TIMEOUT' });
    const controller = new AbortController();
    const aborted = dave.waitFor('muted', { signal: controller.signal });
    controller.abort();
    await expect(aborted).rejects.toMatchObject({ code: 'SWB_ABORTED' });
    await expect(dave.waitFor('gone' as never)).rejects.toMatchObject({ code: 'SWB_INVALID_ARGUMENT' });

    const left = dave.waitFor('left', { timeoutMs: 10_000 });
    w.sim.act(simId, { do: 'remove', participant: 'dave' });
    expect((await left)?.id).toBe(daveId);
    // (a wait that begins after it left resolves at once, without a view: the roster keeps none)
    expect(await dave.waitFor('left')).toBeUndefined();

    const organizer = Object.values(call.view.participants).find((p) => p.info?.identity?.user?.id === 'organizer')!;
    const never = call.participant(organizer.id).waitFor('inLobby');
    await call.hangUp();
    await expect(never).rejects.toMatchObject({ code: 'SWB_CALL_TERMINATED' });
    expect(call.awaited).toBe(false);
  });
});

describe('call.transfer: a handle whose outcome settles on the notifications', () => {
  it('transferred: the call ends after transferAccepted', async () => {
    const w = await world();
    const { call } = await answeredCall(w, '+14255550183');
    const transfer = await call.transfer({ transferTarget: user('user-op') });
    expect(transfer.status).toBe(202);
    const outcome = await transfer.outcome;
    expect(outcome.result).toBe('transferred');
    expect(outcome.view.state).toBe('terminated');
    expect(call.state).toBe('terminated');
  });

  it("failed: back to established with Graph's resultInfo; a second transfer then succeeds", async () => {
    const w = await world();
    w.sim.scriptRemote('user-busy', { onTransfer: { fail: 7700 } });
    const { call } = await answeredCall(w, '+14255550184');
    const first = await (await call.transfer({ transferTarget: user('user-busy') })).outcome;
    expect(first.result).toBe('failed');
    expect(first.resultInfo).toMatchObject({ code: 500, subcode: 7700 });
    expect(call.state).toBe('established');
    const second = await (await call.transfer({ transferTarget: user('user-op') })).outcome;
    expect(second.result).toBe('transferred');
  });

  it('consultative: replaces the consultation call; both calls end', async () => {
    const w = await world();
    const { call } = await answeredCall(w, '+14255550185');
    const consultation = await w.sw.createCall({
      callbackUri: w.callbackUri,
      targets: [user('user-op2')],
      requestedModalities: ['audio'],
      mediaConfig: SERVICE_MEDIA,
    });
    await consultation.waitFor('established', { timeoutMs: 10_000 });
    const transfer = await call.consultativeTransfer(consultation, user('user-op2'));
    const outcome = await transfer.outcome;
    expect(outcome.result).toBe('transferred');
    expect(outcome.view['terminationReason']).toBe('AppTransferred');
    await consultation.waitFor('terminated', { timeoutMs: 10_000 });
    const sent = (await w.store.readStream(call.id)).find((e) => e.kind === 'command' && e.command === 'transfer');
    expect(sent?.kind === 'command' && sent.args).toMatchObject({ transferTarget: { replacesCallId: consultation.view.graphId } });
  });

  it("transferred, when a GET found the call gone before the transfer's notifications arrived", async () => {
    // every notification half a second late: Graph has deleted the transferred call by the
    // time the bot asks for it, and says how the transfer ended only afterwards
    const w = await world({ faults: { delay: 1, delayMs: [50_000, 50_000] } });
    const { call, simId } = await answeredCall(w, '+14255550188');
    const transfer = await call.transfer({ transferTarget: user('user-op') });
    await w.sim.waitForState(simId, 'terminated', { timeoutMs: 10_000 });
    await call.resync('asked before the notifications came');
    expect(call.state).toBe('terminated');
    const outcome = await transfer.outcome;
    expect(outcome.result).toBe('transferred');
    expect(call.view.stale.map((s) => s.reason)).toContain('after-terminated');
  });

  it('picked up after a restart: transferOutcome gives the outcome of a transfer the previous process sent', async () => {
    // a transfer takes 1.5 s here: the bot restarts while it runs
    const w = await world({ transferMs: 150_000 });
    w.sim.scriptRemote('user-busy', { onTransfer: { fail: 7700 } });
    const { call: busy } = await answeredCall(w, '+14255550189');
    expect(busy.transferOutcome()).toBeUndefined();
    expect((await (await busy.transfer({ transferTarget: user('user-busy') })).outcome).result).toBe('failed');
    const { call } = await answeredCall(w, '+14255550190');
    expect((await call.transfer({ transferTarget: user('user-op') })).status).toBe(202);
    await w.sw.stop();

    // a new process over the same log: the call is restored, and the bot asks how its transfer ends
    const next = createSwitchboard({ graph: w.graph, store: w.store, ...RUNTIME });
    owned.push(() => next.stop());
    w.rebind(next);
    const resumed = new Map<string, Call>();
    next.on('callResumed', (c) => resumed.set(c.id, c));
    await next.start();
    const again = resumed.get(call.id) ?? next.call(call.id)!;
    expect(again.state).not.toBe('terminated');
    const outcome = await again.transferOutcome()!;
    expect(outcome.result).toBe('transferred');
    expect(again.state).toBe('terminated');
    // once the log says how it ended, at once; a failed transfer of a call still up, too
    expect((await again.transferOutcome()!).result).toBe('transferred');
    const failed = await (resumed.get(busy.id) ?? next.call(busy.id)!).transferOutcome()!;
    expect(failed).toMatchObject({ result: 'failed', resultInfo: { subcode: 7700 } });
  });

  it('refused by Graph: the method rejects and leaves no wait behind; a caller who hangs up ends the outcome', async () => {
    // a transfer takes 1.5 s here, so the second request and the hang-up come while it runs
    const w = await world({ transferMs: 150_000 });
    const { call } = await answeredCall(w, '+14255550186');
    const running = await call.transfer({ transferTarget: user('user-op') });
    // a second transfer while the first runs: Graph answers 400
    await expect(call.transfer({ transferTarget: user('user-op') })).rejects.toMatchObject({ code: 'SWB_GRAPH_BAD_REQUEST' });
    expect((await running.outcome).result).toBe('transferred');
    expect(call.awaited).toBe(false);

    const { call: other, simId: otherSim } = await answeredCall(w, '+14255550187');
    w.sim.scriptRemote('user-slow', { onTransfer: 'accept' });
    const abandoned = await other.transfer({ transferTarget: user('user-slow') });
    w.sim.act(otherSim, { do: 'hangUp' });
    await expect(abandoned.outcome).rejects.toMatchObject({ code: 'SWB_CALL_TERMINATED' });
  });
});
