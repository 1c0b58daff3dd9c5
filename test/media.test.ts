import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { InMemoryEventStore, type CallEvent } from '@switchboard/core';
import { createFileRecorder, createSwitchboard, type Call, type Logger, type Switchboard } from '@switchboard/runtime';
import { createSimulator, type Simulator } from '@switchboard/simulator';
import { createGraphClient, downloadRecording, type GraphClient } from '@switchboard/transport';
import { startWebhook } from './support/bot.js';
import { releaseAll } from './support/cleanup.js';

/**
 * A bot's media through the runtime against the simulator: downloading what `record`
 * recorded (the simulator serves it at the `recordingLocation` it returned, to the
 * `recordingAccessToken` only, until it expires), and content-sharing sessions as typed events
 * on the call handle.
 */

const APP = { appId: 'b0t00000-0000-4000-8000-000000000316', tenantId: 'tenant-media', clientSecret: 'secret-media' };
const SERVICE_MEDIA = { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' } as const;
const SHARING = { '@odata.type': '#microsoft.graph.incomingCallOptions', isContentSharingNotificationEnabled: true } as const;
const prompt = { mediaInfo: { uri: 'https://cdn.contoso.com/hello.wav' } };
/** Graph time the simulator accepts a recording's token: 5 s real at this time scale. */
const RECORDING_ACCESS_MS = 500_000;

let owned: Array<() => unknown> = [];
afterEach(async () => {
  const releases = owned.reverse();
  owned = [];
  await releaseAll(releases);
});

interface World {
  sim: Simulator;
  sw: Switchboard;
  graph: GraphClient;
  callbackUri: string;
  /** Every line the runtime and the Graph client logged, rendered. */
  lines: string[];
  recording: string;
  dir: string;
}

function capture(lines: string[]): Logger {
  const write = (level: string) => (obj: object, msg?: string) => void lines.push(`${level} ${msg ?? ''} ${inspect(obj, { depth: 10 })}`);
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}

async function world(): Promise<World> {
  let sw: Switchboard | undefined;
  let sim!: Simulator;
  const webhook = await startWebhook((d) => sw!.sink(d), { appId: APP.appId, simulatorUrl: () => sim.url });
  owned.push(() => webhook.close());
  sim = createSimulator({
    apps: [{ ...APP, callbackUri: webhook.url }],
    seed: 316,
    timeScale: 0.01,
    timings: { incomingAnswerMs: 1_500_000, recordingAccessMs: RECORDING_ACCESS_MS },
  });
  owned.push(() => sim.stop());
  const { url } = await sim.start();
  const lines: string[] = [];
  const graph = createGraphClient({
    baseUrl: url,
    auth: { tenantId: APP.tenantId, clientId: APP.appId, clientSecret: APP.clientSecret, authorityHost: url },
    allowInsecureCallback: true,
    logger: capture(lines),
  });
  owned.push(() => graph.close());
  const dir = mkdtempSync(join(tmpdir(), 'swb-media-'));
  owned.push(() => rmSync(dir, { recursive: true, force: true }));
  const recording = join(dir, 'exchanges.jsonl');
  sw = createSwitchboard({
    graph,
    store: new InMemoryEventStore(),
    logger: capture(lines),
    recorder: createFileRecorder(recording),
    operationTimeoutMs: 10_000,
  });
  owned.push(() => sw!.stop());
  return { sim, sw, graph, callbackUri: webhook.url, lines, recording, dir };
}

/** An incoming call, answered (with `callOptions` when given), established; with the simulator's id for it. */
async function answeredCall(w: World, from: string, callOptions?: object): Promise<{ call: Call; simId: string }> {
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
  await call.answer({
    callbackUri: w.callbackUri,
    acceptedModalities: ['audio'],
    mediaConfig: SERVICE_MEDIA,
    ...(callOptions ? { callOptions } : {}),
  } as Parameters<Call['answer']>[0]);
  await call.waitFor('established', { timeoutMs: 10_000 });
  return { call, simId };
}

describe('a recording', () => {
  it('downloads from its recordingLocation with its token; a wrong or expired token is refused with 401', async () => {
    const w = await world();
    const { call } = await answeredCall(w, '+14255550316');
    const op = await call.record({ maxRecordDurationInSeconds: 2 });
    const done = await op.completed;
    expect(done.recordingLocation).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/recordings\//);
    const token = done.recordingAccessToken!;
    const truth = w.sim.recording(op.id)!;
    expect(truth.location).toBe(done.recordingLocation);

    const to = join(w.dir, 'answer.wav');
    const result = await call.downloadRecording(op.id, to);
    const bytes = readFileSync(to);
    expect(bytes.equals(Buffer.from(truth.bytes))).toBe(true);
    expect(result).toEqual({ bytes: truth.bytes.length, contentType: 'audio/wav' });
    expect(bytes.subarray(0, 4).toString('ascii')).toBe('RIFF');
    expect(bytes.length).toBe(44 + 2 * 8_000 * 2); // 2 s of 8 kHz 16-bit mono

    const wrong = downloadRecording({ location: done.recordingLocation!, accessToken: 'f'.repeat(40) }, join(w.dir, 'wrong.wav'));
    await expect(wrong).rejects.toMatchObject({ code: 'SWB_RECORDING_UNAUTHORIZED', status: 401 });

    // a prompt is no recording: refused before any request
    const played = await call.playPrompt({ prompts: [prompt] });
    await played.completed;
    await expect(call.downloadRecording(played.id, join(w.dir, 'prompt.wav'))).rejects.toMatchObject({
      code: 'SWB_RECORDING_UNAVAILABLE',
    });

    // the simulator stops accepting the token once its time is up
    await w.sim.waitUntil(() => w.sim.now() > truth.expiresAt, { timeoutMs: 20_000, message: 'the recording token did not expire' });
    await expect(call.downloadRecording(done, join(w.dir, 'late.wav'))).rejects.toMatchObject({
      code: 'SWB_RECORDING_UNAUTHORIZED',
      status: 401,
    });

    await call.hangUp();
    await w.sw.stop();
    // the token is a credential: in no log line, and redacted in the exchange recording
    expect(w.lines.some((l) => l.includes('recording downloaded') && l.includes(call.id))).toBe(true);
    expect(w.lines.filter((l) => l.includes(token))).toEqual([]);
    const exchanges = readFileSync(w.recording, 'utf8');
    expect(exchanges).toContain('"recordingAccessToken":"[redacted]"');
    expect(exchanges).not.toContain(token);
  });
});

describe('content sharing', () => {
  it('a session shared and ended: contentSharingStarted and contentSharingEnded on the call handle, the view as Graph has it', async () => {
    const w = await world();
    const { call, simId } = await answeredCall(w, '+14255550317', SHARING);
    const events: CallEvent[] = [];
    call.on('contentSharingStarted', (e) => events.push(e));
    call.on('contentSharingEnded', (e) => events.push(e));
    const count = (type: CallEvent['type']) => events.filter((e) => e.type === type).length;

    // the caller shares a screen, then stops
    expect(w.sim.act(simId, { do: 'shareScreen' })).toEqual({ applied: true });
    await w.sim.waitUntil(() => count('contentSharingStarted') === 1, { message: 'no contentSharingStarted' });
    expect(w.sim.act(simId, { do: 'stopSharing' })).toEqual({ applied: true });
    await w.sim.waitUntil(() => count('contentSharingEnded') === 1, { message: 'no contentSharingEnded' });
    const [started, ended] = events;
    expect(started).toMatchObject({ type: 'contentSharingStarted', callId: call.id, session: { deleted: false } });
    expect(ended).toMatchObject({
      type: 'contentSharingEnded',
      callId: call.id,
      session: { id: started!.type === 'contentSharingStarted' ? started.session.id : '', deleted: true },
    });

    // the bot itself shares (changeScreenSharingRole), then views again
    await call.changeScreenSharingRole({ role: 'sharer' });
    await w.sim.waitUntil(() => count('contentSharingStarted') === 2, { message: "no contentSharingStarted for the bot's session" });
    await call.changeScreenSharingRole({ role: 'viewer' });
    await w.sim.waitUntil(() => count('contentSharingEnded') === 2, { message: "no contentSharingEnded for the bot's session" });

    const truth = w.sim.groundTruth(simId)!.contentSharingSessions;
    expect(Object.keys(truth)).toHaveLength(2);
    expect(Object.fromEntries(Object.entries(call.view.contentSharingSessions).map(([id, s]) => [id, s.deleted]))).toEqual(
      Object.fromEntries(Object.values(truth).map((s) => [s.id, s.deleted])),
    );
    await call.hangUp();
  });

  it('a call that did not ask for content-sharing notifications hears nothing of a session', async () => {
    const w = await world();
    const { call, simId } = await answeredCall(w, '+14255550318');
    const events: CallEvent[] = [];
    call.on('contentSharingStarted', (e) => events.push(e));
    expect(w.sim.act(simId, { do: 'shareScreen' })).toEqual({ applied: true });
    await w.sim.waitForIdle();
    await call.playPrompt({ prompts: [prompt] }).then((op) => op.completed); // something after it, delivered
    expect(Object.values(w.sim.groundTruth(simId)!.contentSharingSessions)).toHaveLength(1);
    expect(events).toEqual([]);
    expect(call.view.contentSharingSessions).toEqual({});
    await call.hangUp();
  });
});
