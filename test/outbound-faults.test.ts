import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InMemoryEventStore } from '@switchboard/core';
import { createSwitchboard, type Switchboard } from '@switchboard/runtime';
import { createGraphClient, type GraphClient } from '@switchboard/transport';
import { createSimulator, type Simulator } from '@switchboard/simulator';
import { startWebhook } from './support/bot.js';
import { releaseAll } from './support/cleanup.js';

/**
 * Outbound faults: a seeded proxy in front of the simulator's Graph API answers the bot's
 * commands with 429 and 503 (with Retry-After), 500, a 504 after Graph did act, or a reset
 * after Graph did act. Every command completes or fails with a clear error code; answer,
 * playPrompt and the like are never carried out twice; every call ends where Graph says.
 */
const APP = { appId: 'b0t00000-0000-4000-8000-0000000000f5', tenantId: 'tenant-faults', clientSecret: 'secret-faults' };
const CALLS = 12;
type Fault = 'throttle' | 'unavailable' | 'error500' | 'gateway504' | 'reset';
const injected = new Map<Fault, number>();

let sim: Simulator;
let sw: Switchboard;
let graph: GraphClient;
let proxy: Server;
let webhook: { url: string; close(): Promise<void> };
const failures: { command: string; code: string }[] = [];

/** Forwards to the simulator, with faults on Graph's call routes (never on the token endpoint). */
async function startProxy(target: () => string, seed: number): Promise<string> {
  let s = seed;
  const next = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
  proxy = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const graph = /^\/(v1\.0|beta)\/(communications|app)\/calls/.test(req.url ?? '');
      const roll = graph ? next() : 1;
      const fault: Fault | undefined =
        roll < 0.08
          ? 'throttle'
          : roll < 0.13
            ? 'unavailable'
            : roll < 0.18
              ? 'error500'
              : roll < 0.23
                ? 'gateway504'
                : roll < 0.28
                  ? 'reset'
                  : undefined;
      if (fault) injected.set(fault, (injected.get(fault) ?? 0) + 1);
      if (fault === 'throttle' || fault === 'unavailable') {
        res.writeHead(fault === 'throttle' ? 429 : 503, { 'retry-after': '0', 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: fault === 'throttle' ? 'TooManyRequests' : 'serviceNotAvailable', message: 'injected' } }));
        return;
      }
      if (fault === 'error500') {
        res
          .writeHead(500, { 'content-type': 'application/json' })
          .end(JSON.stringify({ error: { code: 'InternalServerError', message: 'injected' } }));
        return;
      }
      const url = new URL(req.url ?? '/', target());
      const upstream = httpRequest(url, { method: req.method, headers: { ...req.headers, host: url.host } }, (up) => {
        const body: Buffer[] = [];
        up.on('data', (c: Buffer) => body.push(c));
        up.on('end', () => {
          // Graph acted; the bot does not learn it
          if (fault === 'reset') return void req.socket.destroy();
          if (fault === 'gateway504')
            return void res
              .writeHead(504, { 'content-type': 'application/json' })
              .end('{"error":{"code":"GatewayTimeout","message":"injected"}}');
          res.writeHead(up.statusCode ?? 502, up.headers).end(Buffer.concat(body));
        });
      });
      upstream.on('error', () => res.writeHead(502).end());
      upstream.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  webhook = await startWebhook((d) => sw.sink(d), { appId: APP.appId, simulatorUrl: () => sim.url });
  sim = createSimulator({ apps: [{ ...APP, callbackUri: webhook.url }], seed: 9, timeScale: 0.01, timings: { incomingAnswerMs: 60_000 } });
  const simUrl = (await sim.start()).url;
  const proxyUrl = await startProxy(() => simUrl, 20261130);
  graph = createGraphClient({
    baseUrl: proxyUrl,
    auth: { tenantId: APP.tenantId, clientId: APP.appId, clientSecret: APP.clientSecret, authorityHost: simUrl },
    allowInsecureCallback: true,
    retry: { baseDelayMs: 5, maxDelayMs: 20 },
  });
  sw = createSwitchboard({
    graph,
    store: new InMemoryEventStore(),
    answerDeadlineMs: 600, // the deadline policy rejects what could not be answered
    deadlineMarginMs: 100,
    operationTimeoutMs: 5_000,
  });
  sw.on('error', () => undefined);
  const record = (command: string) => (error: unknown) => void failures.push({ command, code: String((error as { code?: unknown }).code) });
  sw.on('incomingCall', (call) => {
    void (async () => {
      await call.answer({
        callbackUri: webhook.url,
        acceptedModalities: ['audio'],
        mediaConfig: { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' },
      });
      await call.waitFor('established', { timeoutMs: 5_000 });
      const op = await call.playPrompt({
        prompts: [{ '@odata.type': '#microsoft.graph.mediaPrompt', mediaInfo: { uri: 'https://cdn.contoso.com/a.wav', resourceId: 'a' } }],
      });
      await op.completed;
      await call.hangUp();
    })().catch(record('flow'));
  });
});

afterAll(async () => {
  // (each even when beforeAll failed half way, or another release threw)
  await releaseAll([
    () => sw?.stop(),
    () => graph?.close(),
    () => sim?.stop(),
    () => webhook?.close(),
    () =>
      proxy &&
      new Promise<void>((resolve) => {
        proxy.close(() => resolve());
        proxy.closeAllConnections();
      }),
  ]);
});

describe('outbound faults: Graph answering 429 / 503 / 500 / 504 / resets at random', () => {
  it('completes or fails each command with a clear code, never carries out a non-idempotent one twice, and ends every call where Graph did', async () => {
    const ids: string[] = [];
    for (let i = 0; i < CALLS; i++) {
      ids.push(
        sim.placeIncomingCall({
          appId: APP.appId,
          from: `+1425555${String(3000 + i)}`,
          script: [
            { do: 'waitFor', state: 'established' },
            { do: 'hangUp', after: 150_000 },
          ],
        }).callId,
      );
    }
    await sim.waitUntil(() => ids.every((id) => sim.groundTruth(id)?.state === 'terminated'), {
      timeoutMs: 20_000,
      message: 'calls did not end',
    });
    await sim.waitForIdle();
    // the bot's view catches up with what Graph did (resyncs after ambiguous answers included)
    await sim.waitUntil(() => ids.every((id) => sw.call(id)?.state === 'terminated'), {
      timeoutMs: 10_000,
      message: "the bot's view did not end every call",
    });

    for (const kind of ['throttle', 'unavailable', 'error500', 'gateway504', 'reset'] as const)
      expect(injected.get(kind) ?? 0, kind).toBeGreaterThan(0);
    // a clear, stable code on every failure that reached the bot's code
    const known = new Set([
      'SWB_GRAPH_AMBIGUOUS',
      'SWB_GRAPH_HTTP',
      'SWB_GRAPH_THROTTLED',
      'SWB_GRAPH_NOT_FOUND',
      'SWB_OPERATION_FAILED',
      'SWB_OPERATION_TIMEOUT',
      'SWB_WAIT_TIMEOUT',
      'SWB_CALL_TERMINATED',
      'SWB_GRAPH_NETWORK',
      'SWB_GRAPH_TIMEOUT',
    ]);
    expect(failures.filter((f) => !known.has(f.code))).toEqual([]);
    for (const id of ids) {
      // Graph carried out each of these at most once, whatever the proxy made the bot believe
      for (const template of ['/calls/{id}/answer', '/calls/{id}/playPrompt', '/calls/{id}/reject']) {
        const carried = sim.requests().filter((r) => r.callId === id && r.template === `POST ${template}` && r.status < 300).length;
        expect(carried, `${template} for ${id}`).toBeLessThanOrEqual(1);
      }
      expect(sw.call(id)!.state).toBe(sim.groundTruth(id)!.state);
    }
    console.log(
      `outbound faults: ${CALLS} calls; injected ${JSON.stringify(Object.fromEntries(injected))}; ${failures.length} command failures surfaced: ${JSON.stringify(failures.map((f) => `${f.command}:${f.code}`))}`,
    );
  }, 60_000);
});
