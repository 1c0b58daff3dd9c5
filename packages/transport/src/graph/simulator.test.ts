import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, type Dispatcher } from 'undici';
import { createSimulator, type Simulator } from '@switchboard/simulator';
import { startReceiver, type Receiver } from '@switchboard/simulator/testkit';
import { commandOf } from '@switchboard/core/replay';
import { clearMsalApplications, createMsalTokenProvider } from './auth.js';
import { createGraphClient } from './client.js';
import { GraphError } from './errors.js';

const APP = {
  appId: 'a1b2c3d4-0000-4000-8000-00000000a001',
  tenantId: 'tenant-0000-4000-8000-00000000a001',
  clientSecret: 'sim-secret-transport',
  displayName: 'Transport Test Bot',
} as const;

/** An undici agent that records the paths it sends (to see MSAL's traffic). */
function recordingAgent(): { agent: Dispatcher; paths: string[]; close(): Promise<void> } {
  const base = new Agent();
  const paths: string[] = [];
  const agent = base.compose((dispatch) => (opts, handler) => {
    paths.push(`${opts.method} ${new URL(String(opts.origin)).origin}${opts.path}`);
    return dispatch(opts, handler);
  });
  return { agent, paths, close: () => base.close() };
}

describe('against the simulator', () => {
  let sim: Simulator;
  let receiver: Receiver;
  let url: string;

  beforeAll(async () => {
    receiver = await startReceiver({ appId: APP.appId, simulatorUrl: () => sim.url });
    sim = createSimulator({ apps: [{ ...APP, callbackUri: receiver.url }], seed: 11, timeScale: 0.01 });
    ({ url } = await sim.start());
  });
  afterAll(async () => {
    await sim.stop();
    await receiver.close();
  });

  it('MSAL fetches a token from the simulator token endpoint, caches it, and refreshes on demand', async () => {
    clearMsalApplications();
    const rec = recordingAgent();
    try {
      const provider = createMsalTokenProvider({
        tenantId: APP.tenantId,
        clientId: APP.appId,
        clientSecret: APP.clientSecret,
        authorityHost: url, // http://127.0.0.1:<port>
        dispatcher: rec.agent,
      });
      expect(provider.authority).toBe(`https://${new URL(url).host}/${APP.tenantId}`);
      const first = await provider.getToken({ forceRefresh: false });
      const claims = JSON.parse(Buffer.from(first.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
      expect(claims['appid']).toBe(APP.appId);
      expect(claims['tid']).toBe(APP.tenantId);
      expect(claims['aud']).toBe('https://graph.microsoft.com');
      const tokenPosts = () =>
        rec.paths.filter(
          (p) => p.startsWith(`POST ${url}/${APP.tenantId}/oauth2/v2.0/token?`) || p === `POST ${url}/${APP.tenantId}/oauth2/v2.0/token`,
        ).length;
      expect(tokenPosts()).toBe(1);
      // every request MSAL made went to the simulator over plain http (the https authority was mapped)
      expect(rec.paths.length).toBeGreaterThan(0);
      expect(rec.paths.every((p) => p.includes(` ${url}/`))).toBe(true);
      expect(rec.paths.some((p) => p.startsWith('GET ') && p.includes('openid-configuration'))).toBe(true);

      // cached: same token, no new POST
      expect(await provider.getToken({ forceRefresh: false })).toBe(first);
      expect(tokenPosts()).toBe(1);

      // a second provider for the same tenant+app shares the MSAL application and its cache
      const again = createMsalTokenProvider({
        tenantId: APP.tenantId,
        clientId: APP.appId,
        clientSecret: APP.clientSecret,
        authorityHost: url,
        dispatcher: rec.agent,
      });
      expect(again.application).toBe(provider.application);
      expect(await again.getToken({ forceRefresh: false })).toBe(first);
      expect(tokenPosts()).toBe(1);

      // forced refresh goes to the endpoint and gets a different token
      const fresh = await provider.getToken({ forceRefresh: true });
      expect(fresh).not.toBe(first);
      expect(tokenPosts()).toBe(2);
      expect(await provider.getToken({ forceRefresh: false })).toBe(fresh);
    } finally {
      await rec.close();
    }
  });

  it('a wrong secret is SWB_GRAPH_AUTH without the secret in the message', async () => {
    clearMsalApplications();
    const provider = createMsalTokenProvider({
      tenantId: APP.tenantId,
      clientId: APP.appId,
      clientSecret: 'not-the-secret-xyz',
      authorityHost: url,
    });
    const error = await provider.getToken({ forceRefresh: false }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GraphError);
    expect((error as GraphError).code).toBe('SWB_GRAPH_AUTH');
    expect((error as GraphError).message).not.toContain('not-the-secret-xyz');
    expect((error as GraphError).message).toContain('invalid_client');
  });

  it('MSAL authenticates with a certificate: a client assertion signed by the private key, checked against the registered public key', async () => {
    clearMsalApplications();
    const pair = () =>
      generateKeyPairSync('rsa', {
        modulusLength: 2048,
        publicKeyEncoding: { type: 'spki', format: 'pem' },
        privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      });
    const registered = pair();
    const stranger = pair();
    const CERT_APP = {
      appId: 'a1b2c3d4-0000-4000-8000-00000000c001',
      tenantId: APP.tenantId,
      clientSecret: 'unused-secret',
      callbackUri: receiver.url,
      assertionKey: registered.publicKey,
    };
    const certSim = createSimulator({ apps: [CERT_APP], seed: 12, timeScale: 0.01 });
    const { url: certUrl } = await certSim.start();
    try {
      const thumbprint = createHash('sha1')
        .update(createPublicKey(registered.publicKey).export({ type: 'spki', format: 'der' }))
        .digest('hex');
      const provider = createMsalTokenProvider({
        tenantId: CERT_APP.tenantId,
        clientId: CERT_APP.appId,
        certificate: { privateKey: registered.privateKey, thumbprintSha256: createHash('sha256').update(thumbprint).digest('hex') },
        authorityHost: certUrl,
      });
      const token = await provider.getToken({ forceRefresh: false });
      const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
      expect(claims['appid']).toBe(CERT_APP.appId);
      // and the Graph client works with it against the simulator's calls API
      const client = createGraphClient({
        baseUrl: certUrl,
        auth: {
          tenantId: CERT_APP.tenantId,
          clientId: CERT_APP.appId,
          certificate: { privateKey: registered.privateKey, thumbprint },
          authorityHost: certUrl,
        },
        allowInsecureCallback: true,
      });
      const created = await client.send('create', {
        body: {
          '@odata.type': '#microsoft.graph.call',
          callbackUri: receiver.url,
          targets: [
            {
              '@odata.type': '#microsoft.graph.invitationParticipantInfo',
              identity: {
                '@odata.type': '#microsoft.graph.identitySet',
                user: { '@odata.type': '#microsoft.graph.identity', id: 'u-cert-1', displayName: 'Cert Test' },
              },
            },
          ],
          requestedModalities: ['audio'],
          mediaConfig: { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' },
          tenantId: CERT_APP.tenantId,
        },
      });
      expect(created.status).toBe(201);

      // a key the app did not register: refused, and the private key is nowhere in the error
      clearMsalApplications();
      const wrong = createMsalTokenProvider({
        tenantId: CERT_APP.tenantId,
        clientId: CERT_APP.appId,
        certificate: { privateKey: stranger.privateKey, thumbprint },
        authorityHost: certUrl,
      });
      const error = await wrong.getToken({ forceRefresh: false }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(GraphError);
      expect((error as GraphError).code).toBe('SWB_GRAPH_AUTH');
      const body = stranger.privateKey.split('\n')[1]!;
      expect(JSON.stringify({ message: (error as Error).message, cause: String((error as Error).cause) })).not.toContain(body);
    } finally {
      await certSim.stop();
    }
  });

  it('refuses a plain-http authority that is not loopback', () => {
    expect(() =>
      createMsalTokenProvider({ tenantId: 't', clientId: 'c', clientSecret: 's', authorityHost: 'http://login.example.com' }),
    ).toThrow(expect.objectContaining({ code: 'SWB_INVALID_ARGUMENT' }));
    expect(() => createMsalTokenProvider({ tenantId: 't', clientId: 'c' })).toThrow(/exactly one of clientSecret and certificate/);
  });

  for (const [apiVersion, betaPathStyle] of [
    ['v1.0', undefined],
    ['beta', 'app'],
    ['beta', 'communications'],
  ] as const) {
    it(`a call flow through MSAL auth (${apiVersion}${betaPathStyle ? ` ${betaPathStyle}` : ''}): create p2p, get, playPrompt, hang up`, async () => {
      clearMsalApplications();
      const crid = `crid-create-${apiVersion}-${betaPathStyle ?? 'none'}`;
      const logs: { level: string; obj: object; msg?: string | undefined }[] = [];
      const logger = {
        debug: (obj: object, msg?: string) => logs.push({ level: 'debug', obj, msg }),
        info: (obj: object, msg?: string) => logs.push({ level: 'info', obj, msg }),
        warn: (obj: object, msg?: string) => logs.push({ level: 'warn', obj, msg }),
        error: (obj: object, msg?: string) => logs.push({ level: 'error', obj, msg }),
      };
      const graph = createGraphClient({
        baseUrl: url, // the only difference from production
        apiVersion,
        ...(betaPathStyle ? { betaPathStyle } : {}),
        auth: { tenantId: APP.tenantId, clientId: APP.appId, clientSecret: APP.clientSecret, authorityHost: url },
        allowInsecureCallback: true,
        logger,
      });
      try {
        const created = await graph.createCall(
          {
            kind: 'peerToPeer',
            callbackUri: receiver.url,
            target: { id: 'user-alice', displayName: 'Alice' },
            source: { id: APP.appId, displayName: 'Bot' },
          },
          { clientRequestId: crid },
        );
        expect(created.status).toBe(201);
        expect(created.clientRequestId).toBe(crid);
        const callId = created.body.id;
        expect(typeof callId).toBe('string');
        expect(created.location).toContain(callId);

        const got = await graph.getCall(callId);
        expect(got.status).toBe(200);
        expect(got.body.id).toBe(callId);

        await sim.waitForState(callId, 'established', { timeoutMs: 10_000 }).catch(() => undefined);
        const prompt = await graph.playPrompt(callId, {
          clientContext: 'ctx-1',
          prompts: [
            {
              '@odata.type': '#microsoft.graph.mediaPrompt',
              mediaInfo: { '@odata.type': '#microsoft.graph.mediaInfo', uri: 'https://cdn.contoso.com/beep.wav', resourceId: 'r1' },
            },
          ],
        });
        expect(prompt.status).toBeGreaterThanOrEqual(200);
        expect(prompt.status).toBeLessThan(300);
        expect(prompt.body.clientContext).toBe('ctx-1');

        const hung = await graph.hangUp(callId);
        expect(hung.status).toBe(204);
        await sim.waitUntil(() => sim.groundTruth(callId)?.state === 'terminated', { timeoutMs: 10_000 });

        // the simulator saw exactly these requests for this call, with our client-request-ids
        const mine = sim.requests().filter((r) => r.callId === callId || r.clientRequestId === crid);
        expect(mine.map((r) => r.template)).toEqual([
          'POST /calls',
          'GET /calls/{id}',
          'POST /calls/{id}/playPrompt',
          'DELETE /calls/{id}',
        ]);
        expect(mine.every((r) => r.apiVersion === apiVersion)).toBe(true);
        expect(mine[0]!.clientRequestId).toBe(crid);
        for (const r of mine) expect(commandOf(r.method, r.path)).toBeDefined();
        const prefix =
          apiVersion === 'v1.0' ? '/v1.0/communications/calls' : betaPathStyle === 'app' ? '/beta/app/calls' : '/beta/communications/calls';
        expect(mine.every((r) => r.path.startsWith(prefix))).toBe(true);

        // after hang-up the call is gone: 404 → SWB_GRAPH_NOT_FOUND
        await sim.waitForIdle({ timeoutMs: 10_000 }).catch(() => undefined);
        const gone = await graph.getCall(callId).catch((e: unknown) => e);
        if (gone instanceof GraphError) {
          expect(gone.code).toBe('SWB_GRAPH_NOT_FOUND');
          expect(gone.status).toBe(404);
        }
        // nothing logged carries a bearer token
        expect(JSON.stringify(logs)).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}/);
      } finally {
        await graph.close();
      }
    });
  }

  it('a 401 refreshes the token through MSAL once and retries', async () => {
    clearMsalApplications();
    const provider = createMsalTokenProvider({
      tenantId: APP.tenantId,
      clientId: APP.appId,
      clientSecret: APP.clientSecret,
      authorityHost: url,
    });
    const asked: boolean[] = [];
    const graph = createGraphClient({
      baseUrl: url,
      allowInsecureCallback: true,
      getToken: async (o) => {
        asked.push(o.forceRefresh);
        return o.forceRefresh ? provider.getToken(o) : 'stale-token';
      },
    });
    try {
      const created = await graph.createCall({
        kind: 'peerToPeer',
        callbackUri: receiver.url,
        target: { id: 'user-bob' },
      });
      expect(created.status).toBe(201);
      expect(created.attempts).toBe(1);
      expect(asked).toEqual([false, true]);
      await graph.hangUp(created.body.id);
      // and a token that stays bad is SWB_GRAPH_UNAUTHORIZED after one refresh
      const bad = createGraphClient({ baseUrl: url, getToken: async () => 'always-bad' });
      const error = await bad.getCall(created.body.id).catch((e: unknown) => e);
      expect((error as GraphError).code).toBe('SWB_GRAPH_UNAUTHORIZED');
      expect((error as GraphError).status).toBe(401);
      await bad.close();
    } finally {
      await graph.close();
    }
  });
});
