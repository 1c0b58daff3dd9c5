/**
 * The server side of bench/webhook-soak.ts, in a child process so that the hostile senders and
 * the timed deliveries do not share its event loop: the webhook receiver wired to the runtime
 * on an in-memory store, served either by node:http (`node`) or by the Hono example through
 * @hono/node-server (`hono`). The parent sends `{ handler, openIdConfigurationUrl, appId,
 * bodyTimeoutMs }` and gets `{ port }`; `'lifetimes'` answers how long (ms) each connection
 * closed so far was open, as the server saw it (from its 'connection' event to its 'close');
 * `'stop'` ends it.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { InMemoryEventStore } from '@switchboard/core';
import { createSwitchboard, type GraphPort } from '@switchboard/runtime';
import { createWebhookReceiver } from '@switchboard/transport';
import { createApp } from '../examples/hono-webhook.js';

export interface SoakServerConfig {
  readonly handler: 'node' | 'hono';
  readonly openIdConfigurationUrl: string;
  readonly appId: string;
  readonly bodyTimeoutMs: number;
}

const graph: GraphPort = {
  async send(command) {
    throw Object.assign(new Error(`no Graph in the soak (${command})`), { code: 'SWB_GRAPH_HTTP' });
  },
};

process.once('message', (config: SoakServerConfig) => {
  const sw = createSwitchboard({ graph, store: new InMemoryEventStore(), onAnswerDeadline: { action: 'none' } });
  const receiver = createWebhookReceiver({
    appId: config.appId,
    openIdConfigurationUrl: config.openIdConfigurationUrl,
    bodyTimeoutMs: config.bodyTimeoutMs,
    sink: (delivery) => sw.sink({ body: delivery.body, receivedAt: delivery.receivedAt }),
  });
  const lifetimes: number[] = [];
  const ready = (server: Server) => {
    server.on('connection', (socket) => {
      const opened = performance.now();
      socket.once('close', () => lifetimes.push(performance.now() - opened));
    });
    process.send!({ port: (server.address() as AddressInfo).port });
    process.on('message', (m) => {
      if (m === 'lifetimes') process.send!({ lifetimes });
      if (m !== 'stop') return;
      server.closeAllConnections();
      server.close(() => void sw.stop().then(() => process.exit(0)));
    });
  };
  if (config.handler === 'node') {
    const server = createServer((req, res) => void receiver.node(req, res));
    server.listen(0, '127.0.0.1', () => ready(server));
  } else {
    const server = serve({ fetch: createApp(receiver, sw).fetch, port: 0, hostname: '127.0.0.1' }, () => ready(server as Server)) as Server;
  }
});
