import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InMemoryEventStore } from '@switchboard/core';
import { createFileRecorder, createSwitchboard, type Call, type Switchboard } from '@switchboard/runtime';
import {
  createGraphClient,
  createMsalTokenProvider,
  createWebhookReceiver,
  type CallRequestBody,
  type GraphClient,
} from '@switchboard/transport';
import { createSimulator, type Simulator } from '@switchboard/simulator';
import { releaseAll } from './support/cleanup.js';
import { forge } from './support/hostile/keys.js';
import { captureLogger, errorText, findLeaks, type Haystack, type Needle } from './support/hostile/leaks.js';

/**
 * docs/reliability.md, section 6 (no secrets in logs, recordings or errors): a call through the runtime against the simulator, with error paths
 * (bad webhook tokens, a 401 from Graph, failed commands), then a search of everything written
 * (log lines, the exchange recording, the event log, every thrown error, every webhook answer)
 * for the access token, the client secret and the webhook JWT.
 */
const APP = { appId: 'b0t00000-0000-4000-8000-0000000005ec', tenantId: 'tenant-secrets', clientSecret: 'swb-CLIENT-SECRET-7f3a9c1e5b2d' };
const SCALE = 0.05; // Graph time runs twenty times faster
// Graph's 15 s answer deadline (and the runtime's own) stay 15 s real: scaled to 750 ms, a
// loaded machine's first answer (which fetches a token first) lost the race and got 404
const ANSWER_WITHIN_MS = 15_000;
const SERVICE_MEDIA = { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' } as const;
const prompt = {
  '@odata.type': '#microsoft.graph.mediaPrompt',
  mediaInfo: { uri: 'https://cdn.contoso.com/hello.wav', resourceId: 'hello' },
};

const lines: string[] = [];
const errors: unknown[] = [];
const answers: string[] = [];
let sim: Simulator;
let sw: Switchboard;
let client: GraphClient;
/** The last access token MSAL handed out. */
let lastToken = '';
let server: Server;
let webhookUrl: string;
let recording: string;
const store = new InMemoryEventStore();
const port = { breakAuth: false };
/** The bearer tokens the Graph port actually sent (what the simulator's Authorization headers carried). */
const sentTokens = new Set<string>();

/**
 * The real Graph client (MSAL against the simulator's token endpoint), logging into the
 * captured lines; its token source notes every token it hands out, and can damage it (the
 * simulator then answers 401, the client refreshes once and fails with SWB_GRAPH_UNAUTHORIZED).
 */
function realClient(url: string): GraphClient {
  const msal = createMsalTokenProvider({ tenantId: APP.tenantId, clientId: APP.appId, clientSecret: APP.clientSecret, authorityHost: url });
  return createGraphClient({
    baseUrl: url,
    getToken: async (options) => {
      const real = await msal.getToken(options);
      lastToken = real;
      const token = port.breakAuth ? forge.flipSignature(real) : real;
      sentTokens.add(real);
      sentTokens.add(token);
      return token;
    },
    allowInsecureCallback: true,
    logger: captureLogger(lines, 'graph'),
  });
}

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'swb-secrets-'));
  recording = join(dir, 'calls.jsonl');
  server = createServer((req, res) => {
    receiver ??= createWebhookReceiver({
      appId: APP.appId,
      openIdConfigurationUrl: `${sim.url}/v1/.well-known/OpenIdConfiguration`,
      sink: (d) => sw.sink({ body: d.body, receivedAt: d.receivedAt }),
      logger: captureLogger(lines, 'webhook'),
    });
    void receiver.node(req, res);
  });
  let receiver: ReturnType<typeof createWebhookReceiver> | undefined;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  webhookUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/calls`;
  sim = createSimulator({
    apps: [{ ...APP, callbackUri: webhookUrl }],
    seed: 11,
    timeScale: SCALE,
    timings: { incomingAnswerMs: ANSWER_WITHIN_MS / SCALE },
  });
  const { url } = await sim.start();
  client = realClient(url);
  sw = createSwitchboard({
    graph: client,
    store,
    logger: captureLogger(lines, 'runtime'),
    recorder: createFileRecorder(recording),
    answerDeadlineMs: ANSWER_WITHIN_MS,
    deadlineMarginMs: 50,
    operationTimeoutMs: 5_000,
  });
  sw.on('error', (e) => void errors.push(e));
});

afterAll(async () => {
  // (each even when beforeAll failed half way, or another release threw)
  await releaseAll([
    () => sw?.stop(),
    () => client?.close(),
    () => sim?.stop(),
    () =>
      server &&
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  ]);
});

async function expectRejection(work: Promise<unknown>): Promise<unknown> {
  try {
    await work;
  } catch (error) {
    errors.push(error);
    return error;
  }
  throw new Error('expected a rejection');
}

async function rawPost(authorization: string | undefined, body: string): Promise<number> {
  const res = await fetch(webhookUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
    body,
  });
  answers.push(`${res.status} ${JSON.stringify([...res.headers])} ${await res.text()}`);
  return res.status;
}

describe('no secret in logs, recordings, the event log or errors', () => {
  it('runs a call with error paths and finds no access token, client secret or webhook JWT anywhere', async () => {
    // --- a call: ring, answer, a prompt, and the caller hangs up later
    const incoming = new Promise<Call>((resolve) => sw.once('incomingCall', (call) => resolve(call)));
    const { callId } = sim.placeIncomingCall({
      appId: APP.appId,
      from: '+14255550199',
      script: [
        { do: 'waitFor', state: 'established' },
        { do: 'hangUp', after: 100_000 },
      ],
    });
    const call = await incoming;
    expect(call.id).toBe(callId);
    await call.answer({ callbackUri: webhookUrl, acceptedModalities: ['audio'], mediaConfig: SERVICE_MEDIA });
    await call.waitFor('established', { timeoutMs: 5000 });
    expect(await (await call.playPrompt({ prompts: [prompt], clientContext: 'hello' })).completed).toMatchObject({ status: 'completed' });

    // --- bad webhook tokens: the simulator's variants, and the real token damaged or misplaced
    const webhookJwt = await sim.webhookToken(APP.appId); // the token its POSTs carry (reused for minutes)
    const body = JSON.stringify({
      value: [
        {
          changeType: 'updated',
          resourceUrl: `/communications/calls/${callId}`,
          resourceData: { '@odata.type': '#microsoft.graph.call', state: 'terminated' },
        },
      ],
    });
    for (const token of ['none', 'expired', 'wrongAudience', 'wrongIssuer', 'unknownKey'] as const) {
      const r = await sim.deliverRaw({ appId: APP.appId, body: JSON.parse(body) as unknown, token });
      expect(r, token).toMatchObject({ status: token === 'wrongAudience' || token === 'wrongIssuer' ? 403 : 401 });
    }
    expect(await rawPost(`Bearer ${forge.flipSignature(webhookJwt)}`, body)).toBe(401);
    expect(await rawPost(`Bearer ${forge.tamperPayload(webhookJwt, (c) => void (c['aud'] = 'x'))}`, body)).toBe(401);
    expect(await rawPost(`Bearer ${webhookJwt} trailing`, body)).toBe(401);
    expect(await rawPost(`Basic ${Buffer.from(`${APP.appId}:${APP.clientSecret}`).toString('base64')}`, body)).toBe(401);
    // the real token with a body that quotes it and that the decoder refuses (a number JSON
    // cannot keep: a notification of an odd shape alone would be quarantined, stored as sent):
    // recorded by the runtime (before it is decoded); the recorder must redact the JWT-shaped
    // value (a JWT inside a longer string is not redacted: see the last test)
    const quoting = JSON.stringify({
      value: [
        {
          changeType: 7,
          resourceUrl: `/communications/calls/${callId}`,
          note: webhookJwt,
          authorization: `Bearer ${webhookJwt}`,
          n: '<1e400>',
        },
      ],
    });
    expect(await rawPost(`Bearer ${webhookJwt}`, quoting.replace('"<1e400>"', '1e400'))).toBe(400);
    expect(call.state).toBe('established'); // the forged 'terminated' deliveries changed nothing

    // --- a 401 from Graph (a damaged access token), then a command on a call that is gone
    port.breakAuth = true;
    const unauthorized = await expectRejection(call.playPrompt({ prompts: [prompt], clientContext: 'after-401' }));
    port.breakAuth = false;
    expect(unauthorized).toMatchObject({ status: 401 });
    await call.waitFor('terminated', { timeoutMs: 10_000 });
    // the runtime refuses a command on the ended call without a request...
    expect(await expectRejection(call.playPrompt({ prompts: [prompt] }))).toMatchObject({ code: 'SWB_CALL_TERMINATED' });
    await expectRejection(call.hangUp());
    // ...and Graph answers 404 for one sent anyway
    expect(await expectRejection(client.playPrompt(call.view.graphId, { prompts: [prompt] }))).toMatchObject({
      code: 'SWB_GRAPH_NOT_FOUND',
    });
    await expectRejection(
      sw.createCall({
        '@odata.type': '#microsoft.graph.call',
        callbackUri: webhookUrl,
        targets: 'not-a-list',
        requestedModalities: ['audio'],
        mediaConfig: SERVICE_MEDIA,
      } as unknown as CallRequestBody),
    );
    await sim.waitForIdle({ timeoutMs: 10_000 });
    await new Promise((r) => setTimeout(r, 100)); // background resyncs settle

    // --- what to look for: every access token the port sent (the simulator saw them in Authorization), the secret, the webhook JWT
    expect(sim.requests().some((r) => r.status === 401)).toBe(true);
    const needles: Needle[] = [
      ...[...sentTokens].map((value, i) => ({ name: `access token #${i + 1}`, value })),
      { name: 'client secret', value: APP.clientSecret },
      { name: 'webhook JWT', value: webhookJwt },
    ];
    expect(needles.length).toBeGreaterThanOrEqual(4); // the token, the damaged one, the secret, the webhook JWT

    // --- where to look
    const log = await Promise.all((await store.listStreams()).map(async (id) => JSON.stringify(await store.readStream(id))));
    const haystacks: Haystack[] = [
      ...lines.map((text, i) => ({ name: `log line ${i + 1}`, text })),
      { name: 'exchange recording', text: readFileSync(recording, 'utf8') },
      ...log.map((text, i) => ({ name: `event log stream ${i + 1}`, text })),
      ...errors.map((e, i) => ({ name: `error ${i + 1}`, text: errorText(e) })),
      ...answers.map((text, i) => ({ name: `webhook answer ${i + 1}`, text })),
    ];
    expect(lines.length).toBeGreaterThan(5);
    expect(errors.length).toBeGreaterThanOrEqual(4);
    expect(haystacks.find((h) => h.name === 'exchange recording')!.text.split('\n').length).toBeGreaterThan(10);

    const leaks = findLeaks(needles, haystacks);
    console.log(
      `secrets: ${needles.length} secrets searched in ${haystacks.length} texts (${lines.length} log lines, 1 recording, ${log.length} log streams, ${errors.length} errors, ${answers.length} webhook answers): ${leaks.length} leaks`,
    );
    expect(leaks).toEqual([]);
    // nothing JWT-shaped anywhere, whichever token it would be
    const jwt = /ey[A-Za-z0-9_-]{8,}\.ey[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}/;
    expect(haystacks.filter((h) => jwt.test(h.text)).map((h) => h.name)).toEqual([]);

    // --- positive controls: the same search catches a secret that did get written
    const planted: string[] = [];
    captureLogger(planted, 'runtime').error({ err: `graph said no to Bearer ${lastToken}` }, 'oops');
    expect(findLeaks(needles, [{ name: 'planted log line', text: planted[0]! }]).some((l) => l.secret.startsWith('access token'))).toBe(
      true,
    );
    const plantedError = new Error('token request failed', {
      cause: Object.assign(new Error('bad'), { form: `client_secret=${encodeURIComponent(APP.clientSecret)}` }),
    });
    expect(findLeaks(needles, [{ name: 'planted error', text: errorText(plantedError) }]).map((l) => l.secret)).toContain('client secret');
    const half = webhookJwt.split('.')[2]!;
    expect(findLeaks(needles, [{ name: 'planted signature', text: `sig=${half}` }]).map((l) => l.form)).toContain('jwt signature');
  }, 60_000);

  it('the recorder redacts a token under a secret key, as a whole string, and inside a longer string', () => {
    const dir = mkdtempSync(join(tmpdir(), 'swb-secrets-rec-'));
    const file = join(dir, 'r.jsonl');
    const recorder = createFileRecorder(file);
    const token = 'eyJhbGciOiJSUzI1NiJ9.eyJhcHBpZCI6ImJvdCJ9.c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWduYXR1cmU';
    recorder.write({
      kind: 'request',
      method: 'POST',
      path: '/x',
      status: null,
      body: { authorization: `Bearer ${token}`, meetingInfo: { token }, x: token },
      receivedAt: 0,
    });
    expect(findLeaks([{ name: 'token', value: token }], [{ name: 'recording', text: readFileSync(file, 'utf8') }])).toEqual([]);
    // a JWT inside a longer string under an ordinary key
    recorder.write({
      kind: 'request',
      method: 'POST',
      path: '/x',
      status: null,
      body: { callbackUri: `https://bot.example/api/calls?t=${token}`, note: `Bearer ${token}` },
      receivedAt: 0,
    });
    const text = readFileSync(file, 'utf8');
    expect(findLeaks([{ name: 'token', value: token }], [{ name: 'recording', text }])).toEqual([]);
    expect(text).toContain('"note":"Bearer [redacted]"');
  });
});
