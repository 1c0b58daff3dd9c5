import { createServer, type Server } from 'node:http';
import type { Switchboard } from '@switchboard/runtime';
import { createWebhookReceiver } from '@switchboard/transport';
import { listenLoopback } from './net.js';

/**
 * A bot's webhook on loopback: the transport's receiver (JWT verified against the keys the
 * simulator publishes) handing every batch to the switchboard's sink.
 */
export async function startWebhook(
  sink: Switchboard['sink'],
  options: { appId: string; simulatorUrl: () => string },
): Promise<{ url: string; close(): Promise<void> }> {
  // created at the first delivery: the simulator needs this URL before it has its own
  let receiver: ReturnType<typeof createWebhookReceiver> | undefined;
  const server: Server = createServer((req, res) => {
    receiver ??= createWebhookReceiver({
      appId: options.appId,
      openIdConfigurationUrl: `${options.simulatorUrl()}/v1/.well-known/OpenIdConfiguration`,
      sink: (delivery) => sink({ body: delivery.body, receivedAt: delivery.receivedAt }),
    });
    void receiver.node(req, res);
  });
  return listenLoopback(server);
}
