/**
 * The webhook receiver inside a Hono app: the receiver's Fetch-standard handler takes Hono's
 * raw `Request` as is. The same app runs on Node (`@hono/node-server`, below), Bun, Deno or
 * a Workers runtime; the checks (JWT, size, content type, 202 after the sink) are the
 * receiver's, whichever server carries them.
 *
 *   APP_ID=... CLIENT_SECRET=... TENANT_ID=... [HEALTH_TOKEN=...] tsx --conditions=@switchboard/source examples/hono-webhook.ts
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { Hono } from 'hono';
import { serve } from '@hono/node-server';
import { SqliteEventStore } from '@switchboard/adapters';
import { createSwitchboard, type Switchboard } from '@switchboard/runtime';
import { createGraphClient, createWebhookReceiver, type WebhookReceiver } from '@switchboard/transport';

export interface AppOptions {
  /**
   * A secret the operator's monitor sends as `Authorization: Bearer <secret>` to GET /healthz
   * to see how many calls are live. Without it, /healthz says alive and nothing more: the
   * count tells an outsider how busy the bot is.
   */
  readonly healthToken?: string;
}

/**
 * A Hono app with the calls webhook at `/api/calls` (every method goes to the receiver, which
 * answers 405 to all but POST) and a health check at `GET /healthz`.
 */
export function createApp(receiver: WebhookReceiver, switchboard: Switchboard, options: AppOptions = {}): Hono {
  const app = new Hono();
  app.all('/api/calls', (c) => receiver.fetch(c.req.raw));
  app.get('/healthz', (c) => {
    if (!options.healthToken || !sameSecret(c.req.header('authorization') ?? '', `Bearer ${options.healthToken}`))
      return c.json({ status: 'ok' });
    return c.json({ status: 'ok', calls: switchboard.calls().filter((call) => call.state !== 'terminated').length });
  });
  return app;
}

/** Compares two secrets in constant time (their digests, so that lengths do not show either). */
function sameSecret(given: string, expected: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(expected));
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
  const healthToken = process.env['HEALTH_TOKEN'];
  serve({ fetch: createApp(receiver, switchboard, healthToken ? { healthToken } : {}).fetch, port: Number(process.env['PORT'] ?? 3978) });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
