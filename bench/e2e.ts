import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeNotifications, InMemoryEventStore, type StoredEntry } from '@switchboard/core';
import { createSwitchboard } from '@switchboard/runtime';
import { createGraphClient, createWebhookReceiver } from '@switchboard/transport';
import { createSimulator } from '@switchboard/simulator';
import type { Row } from './report.js';

const APP = { appId: 'b0t00000-0000-4000-8000-0000000000e2', tenantId: 'tenant-e2e', clientSecret: 'secret-e2e' };

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/**
 * End to end: N concurrent incoming calls from the simulator through the real stack (signed
 * webhook POSTs, the receiver verifying each JWT, the runtime persisting then folding, the
 * GraphClient answering and subscribing to tones through MSAL), all on loopback in this
 * process. Each caller presses two keys and hangs up. Counted: the notifications the
 * simulator offered and had acknowledged, against the entries in the bot's log (0 lost), and
 * the latency from a webhook POST arriving to its 202, which is answered once the delivery is
 * persisted, folded and its events emitted.
 */
export async function benchEndToEnd(calls: number): Promise<Row[]> {
  const latencies: number[] = [];
  const store = new InMemoryEventStore();
  let server!: Server;
  const port = await new Promise<number>((resolve) => {
    server = createServer();
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
  const callbackUri = `http://127.0.0.1:${port}/api/calls`;
  const sim = createSimulator({
    apps: [{ ...APP, callbackUri }],
    seed: 4,
    timeScale: 0.05,
    // a thousand calls at once take a while to answer on a shared machine
    timings: { incomingAnswerMs: 1_200_000 },
  });
  const { url } = await sim.start();
  const sw = createSwitchboard({
    graph: createGraphClient({
      baseUrl: url,
      auth: { tenantId: APP.tenantId, clientId: APP.appId, clientSecret: APP.clientSecret, authorityHost: url },
      allowInsecureCallback: true,
    }),
    store,
    answerDeadlineMs: 3_600_000,
    operationTimeoutMs: 600_000,
  });
  const receiver = createWebhookReceiver({
    appId: APP.appId,
    openIdConfigurationUrl: `${url}/v1/.well-known/OpenIdConfiguration`,
    // resolves once the delivery is persisted, folded and its events emitted
    sink: (delivery) => sw.sink({ body: delivery.body, receivedAt: delivery.receivedAt }),
  });
  server.on('request', (req, res) => {
    // from the POST's arrival (JWT verification, body, persist, fold, events) to its 202
    const arrived = process.hrtime.bigint();
    void receiver.node(req, res).then(() => latencies.push(Number(process.hrtime.bigint() - arrived) / 1e6));
  });
  let failures = 0;
  let firstFailure = '';
  sw.on('incomingCall', (call) => {
    void (async () => {
      await call.answer({
        callbackUri,
        acceptedModalities: ['audio'],
        mediaConfig: { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' },
      });
      await call.waitFor('established', { timeoutMs: 600_000 });
      await call.subscribeToTone({ clientContext: 'keys' });
    })().catch((error: unknown) => {
      if (failures++ === 0) firstFailure = `${String((error as { code?: unknown }).code)}: ${(error as Error).message}`;
    });
  });
  const started = Date.now();
  try {
    const ids: string[] = [];
    for (let i = 0; i < calls; i++) {
      ids.push(
        sim.placeIncomingCall({
          appId: APP.appId,
          from: `+1425${String(5_000_000 + i)}`,
          script: [
            { do: 'waitFor', state: 'established' },
            { do: 'dtmf', digits: '1#', intervalMs: 1_000, after: 200_000 },
            { do: 'hangUp', after: 400_000 },
          ],
        }).callId,
      );
    }
    await sim.waitUntil(() => ids.every((id) => sim.groundTruth(id)?.state === 'terminated'), {
      timeoutMs: 900_000,
      message: 'the calls did not all end',
    });
    await sim.waitForIdle({ timeoutMs: 300_000 });
    const elapsed = Date.now() - started;

    // every notification the simulator had acknowledged is in the bot's log
    const logged = new Set<string>();
    for (const id of await store.listStreams()) for (const entry of (await store.readStream(id)) as StoredEntry[]) logged.add(entry.id);
    const offered = sim.notifications();
    const acknowledged = offered.filter((n) => n.acknowledged);
    const lost = acknowledged.filter(
      (n) => !decodeNotifications({ value: [n.notification] }, { receivedAt: 0 }).every((e) => logged.has(e.id)),
    ).length;
    const ended = ids.filter((id) => sw.call(id)?.state === 'terminated').length;
    const sorted = [...latencies].sort((a, b) => a - b);
    return [
      {
        benchmark: `end to end: ${calls.toLocaleString('en-US')} concurrent incoming calls from the simulator through webhook (JWT) + runtime + GraphClient, in-memory log, one process`,
        baseline: 'notifications the simulator offered',
        figure:
          `${offered.length.toLocaleString('en-US')} offered, ${acknowledged.length.toLocaleString('en-US')} acknowledged, ${lost} lost; ` +
          `${ended.toLocaleString('en-US')}/${calls.toLocaleString('en-US')} calls ended in the bot's view, ${failures} handler failures${failures ? ` (first: ${firstFailure})` : ''}; ` +
          `POST arrival to 202 (verified, persisted, folded, events emitted) p50 ${percentile(sorted, 50).toFixed(2)} ms, p99 ${percentile(sorted, 99).toFixed(2)} ms; ${(elapsed / 1000).toFixed(1)} s`,
        ratio: null,
        target: '0 lost; p99 notification-to-event latency reported',
        met: lost === 0 && acknowledged.length === offered.length && ended === calls && failures === 0,
      },
    ];
  } finally {
    await sw.stop();
    await sim.stop();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
}
