import { serve, type ServerType } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InMemoryEventStore } from '@switchboard/core';
import { createSwitchboard, type Call, type Switchboard } from '@switchboard/runtime';
import { createGraphClient, createWebhookReceiver, type GraphClient } from '@switchboard/transport';
import { createSimulator, type Simulator } from '@switchboard/simulator';
import { createApp } from '../examples/hono-webhook.js';
import { releaseAll } from './support/cleanup.js';
import { freePort } from './support/net.js';

/** The receiver's Fetch handler mounted in a Hono app, served by @hono/node-server, fed by the simulator. */
const APP = { appId: 'b0t00000-0000-4000-8000-0000000000h0', tenantId: 'tenant-hono', clientSecret: 'secret-hono' };
const HEALTH_TOKEN = 'health-check-secret-hono';
let sim: Simulator;
let sw: Switchboard;
let graph: GraphClient;
let server: ServerType;
let url: string;

beforeAll(async () => {
  const port = await freePort();
  url = `http://127.0.0.1:${port}/api/calls`;
  // Graph drops an unanswered call after 15 s; here after 15 s real too (at time scale 0.01):
  // on a loaded machine the answer can take over a second, and the call must still be there
  sim = createSimulator({ apps: [{ ...APP, callbackUri: url }], seed: 3, timeScale: 0.01, timings: { incomingAnswerMs: 1_500_000 } });
  const simUrl = (await sim.start()).url;
  graph = createGraphClient({
    baseUrl: simUrl,
    auth: { tenantId: APP.tenantId, clientId: APP.appId, clientSecret: APP.clientSecret, authorityHost: simUrl },
    allowInsecureCallback: true,
  });
  sw = createSwitchboard({ graph, store: new InMemoryEventStore() });
  const receiver = createWebhookReceiver({
    appId: APP.appId,
    openIdConfigurationUrl: `${simUrl}/v1/.well-known/OpenIdConfiguration`,
    sink: (d) => sw.sink({ body: d.body, receivedAt: d.receivedAt }),
  });
  server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: createApp(receiver, sw, { healthToken: HEALTH_TOKEN }).fetch, port, hostname: '127.0.0.1' }, () => resolve(s));
  });
});

afterAll(async () => {
  // (each even when beforeAll failed half way, or another release threw)
  await releaseAll([
    () => sw?.stop(),
    () => sim?.stop(),
    () => graph?.close(),
    () => server && new Promise<void>((resolve) => server.close(() => resolve())),
  ]);
});

describe('the webhook receiver in a Hono app', () => {
  it("takes the simulator's signed notifications through Hono, and refuses unsigned ones", async () => {
    const incoming = new Promise<Call>((resolve) => sw.once('incomingCall', resolve));
    const { callId } = sim.placeIncomingCall({
      appId: APP.appId,
      from: '+14255550100',
      script: [
        { do: 'waitFor', state: 'established' },
        { do: 'hangUp', after: 50_000 },
      ],
    });
    const call = await incoming;
    expect(call.id).toBe(callId);
    await call.answer({
      callbackUri: url,
      acceptedModalities: ['audio'],
      mediaConfig: { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' },
    });
    await call.waitFor('established', { timeoutMs: 5_000 });
    await call.waitFor('terminated', { timeoutMs: 5_000 });
    expect(sim.groundTruth(callId)!.state).toBe('terminated');
    // every POST the simulator made went through Hono to the receiver and was acknowledged
    await sim.waitForIdle();
    expect(
      sim
        .deliveries()
        .map((d) => d.outcome)
        .filter((o) => o !== 'acknowledged'),
    ).toEqual([]);
    expect(sim.deliveries().length).toBeGreaterThan(2);

    // the receiver's checks, whatever server carries them
    const unsigned = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"value":[]}' });
    expect(unsigned.status).toBe(401);
    expect(((await unsigned.json()) as { type: string }).type).toBe('urn:switchboard:webhook:missing-token');
  });

  it('says alive on GET /healthz, and how many calls are live only to a caller with the health token', async () => {
    const healthz = url.replace('/api/calls', '/healthz');
    const ask = async (headers: Record<string, string> = {}) => {
      const res = await fetch(healthz, { headers });
      return { status: res.status, body: (await res.json()) as unknown };
    };
    expect(await ask()).toEqual({ status: 200, body: { status: 'ok' } });
    expect(await ask({ authorization: 'Bearer guess' })).toEqual({ status: 200, body: { status: 'ok' } });
    // a near miss
    expect(await ask({ authorization: `Bearer ${HEALTH_TOKEN}x` })).toEqual({ status: 200, body: { status: 'ok' } });
    expect(await ask({ authorization: `Bearer ${HEALTH_TOKEN}` })).toEqual({ status: 200, body: { status: 'ok', calls: 0 } });
  });

  it('hands every method on the webhook path to the receiver (405 with Allow, not a 404)', async () => {
    const put = await fetch(url, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"value":[]}' });
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('POST');
  });
});
