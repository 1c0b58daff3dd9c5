// A bot author's program, run with plain `node` after `tsc`: .ci/consumer.mjs installs the
// packed packages into a throwaway project and compiles this file under node16, nodenext and
// bundler resolution. One outbound call through every package: the simulator stands in for
// Graph (token endpoint, OpenID configuration, signed webhooks), the Graph client places the
// call, the webhook receiver verifies Graph's notifications and the runtime folds them.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSwitchboard } from '@switchboard/runtime';
import { InMemoryEventStore } from '@switchboard/core';
import { createSimulator } from '@switchboard/simulator';
import { createGraphClient, createWebhookReceiver } from '@switchboard/transport';

const app = {
  appId: '00000000-0000-0000-0000-00000000c0e5',
  tenantId: '00000000-0000-0000-0000-0000000000aa',
  clientSecret: 'local-secret',
};

const server = createServer();
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const callbackUri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/calls`;

const simulator = createSimulator({ apps: [{ ...app, callbackUri }], seed: 1, timeScale: 0.05 });
const { url } = await simulator.start();

const graph = createGraphClient({
  baseUrl: url,
  auth: { tenantId: app.tenantId, clientId: app.appId, clientSecret: app.clientSecret, authorityHost: url },
  allowInsecureCallback: true, // the simulator calls back on http://127.0.0.1; Graph needs https
});
const switchboard = createSwitchboard({ graph, store: new InMemoryEventStore() });
const receiver = createWebhookReceiver({
  appId: app.appId,
  openIdConfigurationUrl: `${url}/v1/.well-known/OpenIdConfiguration`,
  sink: (delivery) => switchboard.sink({ body: delivery.body, receivedAt: delivery.receivedAt }),
});
server.on('request', (req, res) => void receiver.node(req, res));
await switchboard.start();

const call = await switchboard.createCall({
  '@odata.type': '#microsoft.graph.call',
  callbackUri,
  targets: [
    {
      '@odata.type': '#microsoft.graph.invitationParticipantInfo',
      identity: {
        '@odata.type': '#microsoft.graph.identitySet',
        user: { '@odata.type': '#microsoft.graph.identity', id: 'callee', displayName: 'Callee' },
      },
    },
  ],
  requestedModalities: ['audio'],
  mediaConfig: { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' },
});
await call.waitFor('established', { timeoutMs: 20_000 });
await call.hangUp();
await call.waitFor('terminated', { timeoutMs: 20_000 });
console.log(`consumer: call ${call.id} established, then ${call.state}`);

await switchboard.stop();
await simulator.stop();
server.close();
