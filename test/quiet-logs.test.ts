import { createServer } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { canonicalId, InMemoryEventStore, type Logger } from '@switchboard/core';
import { createSwitchboard, type Call, type Switchboard } from '@switchboard/runtime';
import { createSimulator, type Simulator } from '@switchboard/simulator';
import { clearMsalApplications, createGraphClient, createWebhookReceiver } from '@switchboard/transport';
import { releaseAll } from './support/cleanup.js';
import { listenLoopback } from './support/net.js';

/**
 * What a bot's log shows of a normal run (start, a call, stop) against the simulator, every
 * part logging into one logger at every level: nothing at warn or error, nothing per token
 * acquisition or per MSAL fetch at info, and every line about a call carries its `callId`.
 */

const APP = { appId: 'b0t00000-0000-4000-8000-00000000109e', tenantId: 'tenant-quiet', clientSecret: 'secret-quiet' };
const SERVICE_MEDIA = { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' } as const;
const prompt = { mediaInfo: { uri: 'https://cdn.contoso.com/hello.wav' } };

interface Line {
  readonly source: string;
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly msg: string;
  readonly fields: Record<string, unknown>;
}

function capture(lines: Line[], source: string): Logger {
  const write = (level: Line['level']) => (obj: object, msg?: string) =>
    void lines.push({ source, level, msg: msg ?? '', fields: { ...(obj as Record<string, unknown>) } });
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}

let owned: Array<() => unknown> = [];
afterEach(async () => {
  const releases = owned.reverse();
  owned = [];
  await releaseAll(releases);
  clearMsalApplications();
});

describe('the logs of a normal run', () => {
  it('start, a call, stop: quiet at info, nothing at warn or error, a callId on every line about the call', async () => {
    const lines: Line[] = [];
    let sw: Switchboard | undefined;
    let sim!: Simulator;
    let receiver: ReturnType<typeof createWebhookReceiver> | undefined;
    const webhook = await listenLoopback(
      createServer((req, res) => {
        receiver ??= createWebhookReceiver({
          appId: APP.appId,
          openIdConfigurationUrl: `${sim.url}/v1/.well-known/OpenIdConfiguration`,
          sink: (delivery) => sw!.sink({ body: delivery.body, receivedAt: delivery.receivedAt }),
          logger: capture(lines, 'webhook'),
        });
        void receiver.node(req, res);
      }),
    );
    owned.push(() => webhook.close());
    sim = createSimulator({
      apps: [{ ...APP, callbackUri: webhook.url }],
      seed: 109,
      timeScale: 0.01,
      timings: { incomingAnswerMs: 1_500_000 },
    });
    owned.push(() => sim.stop());
    const { url } = await sim.start();
    const graph = createGraphClient({
      baseUrl: url,
      // MSAL against the simulator's token endpoint, logging into the same lines
      auth: { tenantId: APP.tenantId, clientId: APP.appId, clientSecret: APP.clientSecret, authorityHost: url },
      allowInsecureCallback: true,
      logger: capture(lines, 'graph'),
    });
    owned.push(() => graph.close());
    sw = createSwitchboard({ graph, store: new InMemoryEventStore(), logger: capture(lines, 'runtime'), operationTimeoutMs: 10_000 });
    owned.push(() => sw!.stop());

    await sw.start();
    const incoming = new Promise<Call>((resolve) => sw!.once('incomingCall', resolve));
    const { callId: simId } = sim.placeIncomingCall({
      appId: APP.appId,
      from: '+14255550109',
      script: [
        { do: 'waitFor', state: 'established' },
        { do: 'hangUp', after: 60_000_000 },
      ],
    });
    const call = await incoming;
    await call.answer({ callbackUri: webhook.url, acceptedModalities: ['audio'], mediaConfig: SERVICE_MEDIA });
    await call.waitFor('established', { timeoutMs: 10_000 });
    await (await call.playPrompt({ prompts: [prompt] })).completed;
    await (await call.playPrompt({ prompts: [prompt] })).completed;
    await call.hangUp();
    await call.waitFor('terminated', { timeoutMs: 10_000 });
    await sw.stop();
    // Graph delivering to a bot that is stopping (a late notification): refused with 503, which is no failure
    const late = await sim.deliverRaw({
      appId: APP.appId,
      body: {
        value: [
          {
            changeType: 'deleted',
            resourceUrl: `/communications/calls/${simId}`,
            resourceData: { '@odata.type': '#microsoft.graph.call', state: 'terminated' },
          },
        ],
      },
    });
    expect(late).toEqual({ status: 503 });

    const graphRequests = sim.requests().filter((r) => r.status < 400).length;
    expect(graphRequests).toBeGreaterThanOrEqual(4); // answer, 2 prompts, hang-up: a token each
    const show = (selected: readonly Line[]) => selected.map((l) => `${l.source} ${l.level} ${l.msg} ${JSON.stringify(l.fields)}`);

    // nothing at warn or error
    expect(show(lines.filter((l) => l.level === 'warn' || l.level === 'error'))).toEqual([]);
    // at info, the lifecycle only: no line per request, per token or per MSAL fetch
    expect(show(lines.filter((l) => l.level === 'info' && l.msg !== 'switchboard started' && !l.msg.includes('while stopping')))).toEqual(
      [],
    );
    expect(lines.filter((l) => l.level === 'info').length).toBeLessThanOrEqual(3);
    // a token is fetched once and served from the cache after: one line for the fetch, none per use
    expect(show(lines.filter((l) => /token/i.test(l.msg)))).toHaveLength(1);
    expect(show(lines.filter((l) => l.fields['component'] === 'msal' && l.level !== 'debug'))).toEqual([]);
    // every line that is about the call (that names it anywhere) carries its callId
    const key = canonicalId(call.id);
    const aboutTheCall = lines.filter((l) => `${l.msg} ${JSON.stringify(l.fields)}`.toLowerCase().includes(key));
    expect(aboutTheCall.length).toBeGreaterThanOrEqual(graphRequests); // a debug line per request, at least
    expect(show(aboutTheCall.filter((l) => typeof l.fields['callId'] !== 'string' || canonicalId(l.fields['callId']) !== key))).toEqual([]);
  });
});
