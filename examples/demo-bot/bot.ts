/**
 * The demo bot: what a calling bot built on Switchboard looks like, using only the packages'
 * public API. It answers incoming calls, plays a prompt, collects DTMF and transfers the
 * caller who presses 0; places outbound calls; joins meetings as a guest and waits in the
 * lobby until it is admitted.
 *
 * Everything it knows about its calls is in the SQLite log: kill it mid-call, start it again,
 * and `start()` brings the live calls back (resynced with Graph, timers rescheduled).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PgEventStore, ShardedPgEventStore, SqliteEventStore } from '@switchboard/adapters';
import { createSwitchboard, RUNTIME_DEFAULTS, type Call, type Logger, type Switchboard } from '@switchboard/runtime';
import type { MediaPromptBody } from '@switchboard/core';
import { createGraphClient, createWebhookReceiver, type GraphClient } from '@switchboard/transport';

export interface DemoBotConfig {
  readonly appId: string;
  readonly tenantId: string;
  readonly clientSecret: string;
  /** Graph's base URL: `https://graph.microsoft.com`, or the simulator's. */
  readonly graphBaseUrl: string;
  /** Where the token endpoint lives (`https://login.microsoftonline.com`, or the simulator). */
  readonly authorityHost: string;
  /** Where the webhook's signing keys are announced. */
  readonly openIdConfigurationUrl: string;
  /** The SQLite file holding the log (ignored with `postgres`). */
  readonly dbPath: string;
  /**
   * Keep the log in PostgreSQL instead, shared by several instances of the bot: per-call
   * leases decide which one holds a call, answers it and keeps it alive. With `shards`, calls
   * are partitioned by a hash of their id across `connectionString` and these databases
   * (every instance lists the same ones in the same order).
   */
  readonly postgres?: { readonly connectionString: string; readonly schema?: string; readonly shards?: readonly string[] };
  /** This instance's name in leases (several instances on one PostgreSQL). */
  readonly instanceId?: string;
  /** How long a call's lease lasts unless renewed (default 30 s, scaled). */
  readonly leaseTtlMs?: number;
  /** Keep-alive interval in Graph ms (default 15 minutes, Graph's advice), scaled. */
  readonly keepAliveMs?: number;
  /** The webhook's port on 127.0.0.1 (0: any free port). */
  readonly port?: number;
  /** The public URL Graph posts notifications to; default this server's loopback URL. */
  readonly callbackUri?: string;
  /** Where calls are transferred when the caller presses 0. */
  readonly operator?: { readonly id: string; readonly displayName: string };
  /** Graph-time scale for the simulator (keep-alive and the answer deadline shrink with it). */
  readonly timeScale?: number;
  readonly logger?: Logger;
}

export interface DemoBot {
  readonly switchboard: Switchboard;
  readonly graph: GraphClient;
  /** The webhook's URL (what Graph calls back). */
  readonly callbackUri: string;
  /** Calls a Teams user and plays them a prompt; resolves to the call. */
  callUser(userId: string, displayName: string): Promise<Call>;
  /** Joins a meeting as a guest; the call stays `establishing` while the bot waits in the lobby. */
  joinAsGuest(meeting: { threadId: string; organizerId: string; tenantId: string }, displayName: string): Promise<Call>;
  close(): Promise<void>;
}

const SERVICE_MEDIA = { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' } as const;

function prompt(name: string): MediaPromptBody {
  return {
    '@odata.type': '#microsoft.graph.mediaPrompt',
    mediaInfo: { '@odata.type': '#microsoft.graph.mediaInfo', uri: `https://cdn.contoso.com/prompts/${name}.wav`, resourceId: name },
  };
}

export async function startDemoBot(config: DemoBotConfig): Promise<DemoBot> {
  const scale = config.timeScale ?? 1;
  const logger = config.logger;
  const operator = config.operator ?? { id: 'operator', displayName: 'Operator' };
  const pg = config.postgres;
  const pgStore = (connectionString: string) => new PgEventStore({ connectionString, ...(pg?.schema ? { schema: pg.schema } : {}) });
  const store = pg
    ? pg.shards?.length
      ? new ShardedPgEventStore({ shards: [pg.connectionString, ...pg.shards].map(pgStore) })
      : pgStore(pg.connectionString)
    : new SqliteEventStore({ path: config.dbPath });

  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(config.port ?? 0, '127.0.0.1', resolve));
  const callbackUri = config.callbackUri ?? `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/calls`;

  const graph = createGraphClient({
    baseUrl: config.graphBaseUrl,
    auth: { tenantId: config.tenantId, clientId: config.appId, clientSecret: config.clientSecret, authorityHost: config.authorityHost },
    // the simulator calls back on http://127.0.0.1; Graph itself needs https
    allowInsecureCallback: callbackUri.startsWith('http://127.0.0.1'),
    ...(logger ? { logger } : {}),
  });

  const switchboard = createSwitchboard({
    graph,
    store,
    // Graph's times, scaled as the simulator scales them
    answerDeadlineMs: RUNTIME_DEFAULTS.answerDeadlineMs * scale,
    deadlineMarginMs: Math.max(50, RUNTIME_DEFAULTS.deadlineMarginMs * scale),
    keepAliveIntervalMs: (config.keepAliveMs ?? RUNTIME_DEFAULTS.keepAliveIntervalMs) * scale,
    operationTimeoutMs: Math.max(5_000, 60_000 * scale),
    onAnswerDeadline: { action: 'reject', reason: 'busy' },
    ...(config.instanceId ? { instanceId: config.instanceId } : {}),
    leaseTtlMs: config.leaseTtlMs ?? Math.max(500, 30_000 * scale),
    ...(logger ? { logger } : {}),
  });

  const receiver = createWebhookReceiver({
    appId: config.appId,
    openIdConfigurationUrl: config.openIdConfigurationUrl,
    sink: (delivery) => switchboard.sink({ body: delivery.body, receivedAt: delivery.receivedAt }),
    ...(logger ? { logger } : {}),
  });
  server.on('request', (req, res) => void receiver.node(req, res));

  /** What the bot does on a call it answered: greet, collect digits up to '#', then act. */
  async function serve(call: Call): Promise<void> {
    await call.waitFor('established', { timeoutMs: 60_000 * Math.max(scale, 0.1) });
    await call.subscribeToTone({ clientContext: 'menu' });
    const greeting = await call.playPrompt({ prompts: [prompt('welcome-press-0-for-operator')], clientContext: 'welcome' });
    await greeting.completed;
    // every key of the call counts (`afterSequenceId: 0`), those pressed during the greeting
    // too, in Graph's sequence order whatever order their notifications came in
    const { digits } = await call.collectDigits({ terminator: '#', timeoutMs: Math.max(20_000 * scale, 1_000), afterSequenceId: 0 });
    if (digits.startsWith('0')) {
      const transfer = await call.transfer({
        transferTarget: {
          '@odata.type': '#microsoft.graph.invitationParticipantInfo',
          identity: {
            '@odata.type': '#microsoft.graph.identitySet',
            user: { '@odata.type': '#microsoft.graph.identity', id: operator.id, displayName: operator.displayName },
          },
        },
      });
      // settles on Graph's notifications: transferred (the call ends) or failed (it goes on)
      if ((await transfer.outcome).result === 'transferred') return;
    }
    const bye = await call.playPrompt({ prompts: [prompt(`you-pressed-${digits || 'nothing'}`)], clientContext: 'goodbye' });
    await bye.completed;
    if (call.state !== 'terminated') await call.hangUp();
  }

  switchboard.on('incomingCall', (call) => {
    void (async () => {
      await call.answer({ callbackUri, mediaConfig: SERVICE_MEDIA, acceptedModalities: ['audio'] });
      await serve(call);
    })().catch((error: unknown) => logger?.warn({ callId: call.id, err: String(error) }, 'demo: call handling stopped'));
  });

  await switchboard.start();

  return {
    switchboard,
    graph,
    callbackUri,
    async callUser(userId, displayName) {
      const call = await switchboard.createCall({
        '@odata.type': '#microsoft.graph.call',
        callbackUri,
        targets: [
          {
            '@odata.type': '#microsoft.graph.invitationParticipantInfo',
            identity: {
              '@odata.type': '#microsoft.graph.identitySet',
              user: { '@odata.type': '#microsoft.graph.identity', id: userId, displayName },
            },
          },
        ],
        requestedModalities: ['audio'],
        mediaConfig: SERVICE_MEDIA,
        tenantId: config.tenantId,
      });
      void (async () => {
        await call.waitFor('established', { timeoutMs: 120_000 * Math.max(scale, 0.1) });
        const hello = await call.playPrompt({ prompts: [prompt('reminder')], clientContext: 'reminder' });
        await hello.completed;
        if (call.state !== 'terminated') await call.hangUp();
      })().catch((error: unknown) => logger?.warn({ callId: call.id, err: String(error) }, 'demo: outbound call stopped'));
      return call;
    },
    async joinAsGuest(meeting, displayName) {
      return switchboard.createCall({
        '@odata.type': '#microsoft.graph.call',
        callbackUri,
        requestedModalities: ['audio'],
        mediaConfig: SERVICE_MEDIA,
        chatInfo: { '@odata.type': '#microsoft.graph.chatInfo', threadId: meeting.threadId, messageId: '0' },
        meetingInfo: {
          '@odata.type': '#microsoft.graph.organizerMeetingInfo',
          organizer: {
            '@odata.type': '#microsoft.graph.identitySet',
            user: { '@odata.type': '#microsoft.graph.identity', id: meeting.organizerId, tenantId: meeting.tenantId },
          },
          allowConversationWithoutHost: true,
        },
        source: {
          '@odata.type': '#microsoft.graph.participantInfo',
          identity: {
            '@odata.type': '#microsoft.graph.identitySet',
            guest: { '@odata.type': '#microsoft.graph.identity', id: `guest-${config.appId}`, displayName },
          },
        },
        tenantId: meeting.tenantId,
      });
    },
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
