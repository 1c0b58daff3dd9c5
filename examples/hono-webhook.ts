/**
 * The webhook receiver inside a Hono app: the receiver's Fetch-standard handler takes Hono's
 * raw `Request` as is. The same app runs on Node (`@hono/node-server`, below), Bun, Deno or
 * a Workers runtime; the checks (JWT, size, content type, 202 after the sink) are the
 * receiver's, whichever server carries them.
 *
 *   APP_ID=... CLIENT_SECRET=... TENANT_ID=... tsx --conditions=@switchboard/source examples/hono-webhook.ts
 */
import { Hono } from 'hono';
import { serve } from '@hono/node-server';
import { createSwitchboard, SqliteEventStore, type Switchboard } from '@switchboard/adapters';
import { createGraphClient, createWebhookReceiver, type WebhookReceiver } from '@switchboard/transport';

/** A Hono app with the calls webhook at `POST /api/calls` and a health check. */
export function createApp(receiver: WebhookReceiver, switchboard: Switchboard): Hono {
  const app = new Hono();
  app.post('/api/calls', (c) => receiver.fetch(c.req.raw));
  app.get('/healthz', (c) => c.json({ calls: switchboard.calls().filter((call) => call.state !== 'terminated').length }));
  return app;
}

async function main(): Promise<void> {
  const appId = process.env['APP_ID'];
  const tenantId = process.env['TENANT_ID'];
  const clientSecret = process.env['CLIENT_SECRET'];
  if (!appId || !tenantId || !clientSecret) throw new Error('set APP_ID, TENANT_ID and CLIENT_SECRET');
  const graph = createGraphClient({ auth: { tenantId, clientId: appId, clientSecret } });
  const switchboard = createSwitchboard({ graph, store: new SqliteEventStore() });
  const receiver = createWebhookReceiver({
    appId,
    sink: (delivery) => switchboard.sink({ body: delivery.body, receivedAt: delivery.receivedAt }),
  });
  switchboard.on('incomingCall', (call) => {
    void call.reject({ reason: 'busy' }); // a bot with nothing to say yet
  });
  await switchboard.start();
  serve({ fetch: createApp(receiver, switchboard).fetch, port: Number(process.env['PORT'] ?? 3978) });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
