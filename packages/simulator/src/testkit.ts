import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import { WEBHOOK_ISSUER } from './identity.js';
import { createSimulator, type Simulator } from './simulator.js';
import type { AppRegistration, Json, SimulatorOptions } from './types.js';

/**
 * Test helpers (not part of the package's build): a webhook receiver that verifies each POST's
 * JWT against the simulator's published keys, and a small Graph client that gets its token
 * from the simulator's token endpoint.
 */

export interface ReceivedPost {
  readonly headers: IncomingHttpHeaders;
  readonly body: Json;
  readonly claims?: JWTPayload;
  readonly kid?: string;
  readonly verifyError?: string;
  readonly status: number;
}

export interface Receiver {
  readonly url: string;
  readonly posts: ReceivedPost[];
  /** Every commsNotification of every verified POST, in arrival order. */
  notifications(): Json[];
  /** Call-resource states in arrival order, for one call. */
  states(callId: string): string[];
  close(): Promise<void>;
}

export interface ReceiverOptions {
  readonly appId: string;
  /** The simulator's base URL: keys are found through its OpenIdConfiguration. */
  readonly simulatorUrl: () => string;
  /** The status to answer a POST with (default 202). */
  readonly respond?: (index: number, body: Json) => number;
}

export async function startReceiver(options: ReceiverOptions): Promise<Receiver> {
  const posts: ReceivedPost[] = [];
  let jwks: ReturnType<typeof createRemoteJWKSet> | undefined;
  const keys = async (): Promise<ReturnType<typeof createRemoteJWKSet>> => {
    if (jwks) return jwks;
    const config = (await (await fetch(`${options.simulatorUrl()}/v1/.well-known/OpenIdConfiguration`)).json()) as { jwks_uri: string };
    // no cooldown: a rotated key must be fetched at once
    jwks = createRemoteJWKSet(new URL(config.jwks_uri), { cooldownDuration: 0 });
    return jwks;
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Json;
        const auth = req.headers.authorization ?? '';
        let claims: JWTPayload | undefined;
        let kid: string | undefined;
        let verifyError: string | undefined;
        try {
          const result = await jwtVerify(auth.replace(/^Bearer /, ''), await keys(), {
            issuer: WEBHOOK_ISSUER,
            audience: options.appId,
            algorithms: ['RS256'],
          });
          claims = result.payload;
          kid = result.protectedHeader.kid;
        } catch (error) {
          verifyError = (error as Error).message;
        }
        const status = verifyError ? 401 : (options.respond?.(posts.length, body) ?? 202);
        posts.push({
          headers: req.headers,
          body,
          status,
          ...(claims ? { claims } : {}),
          ...(kid ? { kid } : {}),
          ...(verifyError ? { verifyError } : {}),
        });
        res.statusCode = status;
        res.end();
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/calls`;
  const notifications = (): Json[] =>
    posts.filter((p) => !p.verifyError && p.status < 300).flatMap((p) => (p.body['value'] as Json[]) ?? []);
  return {
    url,
    posts,
    notifications,
    states(callId) {
      return notifications()
        .filter((n) => n['resourceUrl'] === `/communications/calls/${callId}`)
        .map((n) => (n['resourceData'] as Json)['state'] as string);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export interface GraphResponse {
  readonly status: number;
  readonly body: Json;
  readonly headers: Headers;
}

export interface GraphClient {
  readonly token: string;
  request(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<GraphResponse>;
}

/** Fetches a client-credentials token from the simulator and returns a client that sends it. */
export async function graphClient(baseUrl: string, app: AppRegistration): Promise<GraphClient> {
  const form = new URLSearchParams({
    grant_type: 'client_credentials',
    client_id: app.appId,
    client_secret: app.clientSecret,
    scope: 'https://graph.microsoft.com/.default',
  });
  const res = await fetch(`${baseUrl}/${app.tenantId}/oauth2/v2.0/token`, { method: 'POST', body: form });
  const token = ((await res.json()) as { access_token: string }).access_token;
  return {
    token,
    async request(method, path, body, headers = {}) {
      const r = await fetch(`${baseUrl}${path}`, {
        method,
        headers: { Authorization: `Bearer ${token}`, ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...headers },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await r.text();
      return { status: r.status, body: text ? (JSON.parse(text) as Json) : {}, headers: r.headers };
    },
  };
}

export const APP = {
  appId: 'a1b2c3d4-0000-4000-8000-000000000001',
  tenantId: 'tenant-0000-4000-8000-000000000001',
  clientSecret: 'sim-secret',
  displayName: 'Test Bot',
} as const;

export interface Harness {
  readonly sim: Simulator;
  readonly receiver: Receiver;
  readonly graph: GraphClient;
  readonly app: AppRegistration;
  close(): Promise<void>;
}

/**
 * A started simulator with one app whose webhook is a verifying receiver, and a Graph client
 * for it. An incoming call is dropped unanswered after 1,500 s of Graph time (15 s real at the
 * default scale), not Graph's 15 s: scaled to 150 ms, a loaded machine's answer came too late
 * (404). A test of the drop sets `timings.incomingAnswerMs` itself.
 */
export async function harness(options: Partial<SimulatorOptions> & { respond?: ReceiverOptions['respond'] } = {}): Promise<Harness> {
  let sim: Simulator | undefined;
  const receiver = await startReceiver({
    appId: APP.appId,
    simulatorUrl: () => sim!.url,
    ...(options.respond ? { respond: options.respond } : {}),
  });
  const app: AppRegistration = { ...APP, callbackUri: receiver.url };
  const { respond: _respond, ...simOptions } = options;
  let url: string;
  let graph: GraphClient;
  try {
    sim = createSimulator({
      timeScale: 0.01,
      seed: 7,
      ...simOptions,
      timings: { incomingAnswerMs: 1_500_000, ...simOptions.timings },
      apps: [app],
    });
    ({ url } = await sim.start());
    graph = await graphClient(url, app);
  } catch (error) {
    // nothing is handed back to close: close what was started
    await sim?.stop().catch(() => undefined);
    await receiver.close();
    throw error;
  }
  return {
    sim,
    receiver,
    graph,
    app,
    async close() {
      try {
        await sim!.stop();
      } finally {
        await receiver.close();
      }
    },
  };
}

/** A peer-to-peer VoIP call request with service-hosted media (the create-call page's example 1). */
export function p2pRequest(callbackUri: string, userId = 'user-john', extra: Json = {}): Json {
  return {
    '@odata.type': '#microsoft.graph.call',
    callbackUri,
    targets: [
      {
        '@odata.type': '#microsoft.graph.invitationParticipantInfo',
        identity: {
          '@odata.type': '#microsoft.graph.identitySet',
          user: { '@odata.type': '#microsoft.graph.identity', displayName: 'John', id: userId },
        },
      },
    ],
    requestedModalities: ['audio'],
    callOptions: { '@odata.type': '#microsoft.graph.outgoingCallOptions', isContentSharingNotificationEnabled: true },
    mediaConfig: { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' },
    ...extra,
  };
}
