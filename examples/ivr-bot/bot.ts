/**
 * An IVR bot on Switchboard's public API, in one screen: it answers every call, plays a menu,
 * collects one key, and by that key transfers the caller to an operator (0) or says goodbye
 * and hangs up (anything else, or nothing within the time).
 *
 * The log is a SQLite file: every command the bot sends and every notification Graph posts
 * is in it before the bot acts on it.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SqliteEventStore } from '@switchboard/adapters';
import type { InvitationTarget, MediaPromptBody } from '@switchboard/core';
import { createSwitchboard, type Call } from '@switchboard/runtime';
import { createGraphClient, createWebhookReceiver } from '@switchboard/transport';

export interface IvrBotConfig {
  readonly appId: string;
  readonly tenantId: string;
  readonly clientSecret: string;
  /** Graph's base URL (`https://graph.microsoft.com`, or the simulator's); the token endpoint is `authorityHost`. */
  readonly graphBaseUrl: string;
  readonly authorityHost: string;
  /** Where the webhook's signing keys are announced. */
  readonly openIdConfigurationUrl: string;
  readonly dbPath: string;
  /** The webhook's port on 127.0.0.1 (0: any free port). */
  readonly port?: number;
  /** Who takes the calls of callers who press 0. */
  readonly operator: InvitationTarget;
  /** How long a caller has to press a key, in ms. */
  readonly menuTimeoutMs?: number;
  /** Each call's end, as the bot saw it: `transferred`, `transfer failed`, `goodbye`, `caller hung up`. */
  readonly onOutcome?: (callId: string, outcome: string) => void;
}

const SERVICE_MEDIA = { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' } as const;

const prompt = (name: string): MediaPromptBody => ({
  '@odata.type': '#microsoft.graph.mediaPrompt',
  mediaInfo: { uri: `https://cdn.contoso.com/ivr/${name}.wav`, resourceId: name },
});

export async function startIvrBot(config: IvrBotConfig): Promise<{ callbackUri: string; close(): Promise<void> }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(config.port ?? 0, '127.0.0.1', resolve));
  const callbackUri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/calls`;

  const graph = createGraphClient({
    baseUrl: config.graphBaseUrl,
    auth: { tenantId: config.tenantId, clientId: config.appId, clientSecret: config.clientSecret, authorityHost: config.authorityHost },
    allowInsecureCallback: true, // the simulator calls back on http://127.0.0.1; Graph needs https
  });
  const store = new SqliteEventStore({ path: config.dbPath });
  const switchboard = createSwitchboard({ graph, store });
  const receiver = createWebhookReceiver({
    appId: config.appId,
    openIdConfigurationUrl: config.openIdConfigurationUrl,
    sink: (delivery) => switchboard.sink(delivery),
  });
  server.on('request', (req, res) => void receiver.node(req, res));

  async function serve(call: Call): Promise<string> {
    await call.answer({ callbackUri, acceptedModalities: ['audio'], mediaConfig: SERVICE_MEDIA });
    await call.waitFor('established', { timeoutMs: 30_000 });
    // the collection starts (and subscribes the call to tones) as the menu starts playing:
    // a key pressed during the menu counts
    const [{ digits }] = await Promise.all([
      call.collectDigits({ maxDigits: 1, timeoutMs: config.menuTimeoutMs ?? 10_000 }),
      call.playPrompt({ prompts: [prompt('press-0-for-the-operator')] }),
    ]);

    if (digits === '0') {
      const transfer = await call.transfer({ transferTarget: config.operator });
      const outcome = await transfer.outcome;
      if (outcome.result === 'transferred') return 'transferred';
      // the operator did not take the call: it is still ours
      await (await call.playPrompt({ prompts: [prompt('the-operator-is-busy')] })).completed;
      await call.hangUp();
      return 'transfer failed';
    }
    await (await call.playPrompt({ prompts: [prompt('goodbye')] })).completed;
    await call.hangUp();
    return 'goodbye';
  }

  switchboard.on('incomingCall', (call) => {
    serve(call).then(
      (outcome) => config.onOutcome?.(call.id, outcome),
      (error: { code?: string }) => config.onOutcome?.(call.id, error.code === 'SWB_CALL_TERMINATED' ? 'caller hung up' : String(error)),
    );
  });
  await switchboard.start();

  return {
    callbackUri,
    async close() {
      await switchboard.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await graph.close?.();
      await store.close();
    },
  };
}
