import { SignJWT, createLocalJWKSet, decodeProtectedHeader, exportSPKI, generateKeyPair, jwtVerify } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { createSimulator, type Simulator } from './simulator.js';
import { APP, harness, type Harness } from './testkit.js';
import type { Json } from './types.js';

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((x) => x.close()));
});

async function sim(extra: Partial<Parameters<typeof createSimulator>[0]> = {}): Promise<Simulator> {
  const s = createSimulator({ apps: [{ ...APP, callbackUri: 'http://127.0.0.1:9/none' }], timeScale: 0.01, ...extra });
  await s.start();
  open.push({ close: () => s.stop() });
  return s;
}

async function token(s: Simulator, form: Record<string, string>, headers: Record<string, string> = {}, tenant: string = APP.tenantId) {
  const res = await fetch(`${s.url}/${tenant}/oauth2/v2.0/token`, { method: 'POST', body: new URLSearchParams(form), headers });
  return { status: res.status, body: (await res.json()) as Json };
}

const GRAPH_SCOPE = 'https://graph.microsoft.com/.default';

describe('client-credentials token endpoint', () => {
  it('issues a Bearer JWT for Graph, verifiable with the tenant JWKS from discovery', async () => {
    const s = await sim();
    const res = await token(s, {
      grant_type: 'client_credentials',
      client_id: APP.appId,
      client_secret: APP.clientSecret,
      scope: GRAPH_SCOPE,
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ token_type: 'Bearer', expires_in: 3599 });
    const config = (await (await fetch(`${s.url}/${APP.tenantId}/v2.0/.well-known/openid-configuration`)).json()) as Json;
    expect(config['token_endpoint']).toBe(`${s.url}/${APP.tenantId}/oauth2/v2.0/token`);
    expect(new URL(config['issuer'] as string).host).toBe(new URL(s.url).host);
    for (const key of ['authorization_endpoint', 'token_endpoint', 'issuer', 'jwks_uri']) expect(config).toHaveProperty(key);
    const jwks = (await (await fetch(config['jwks_uri'] as string)).json()) as { keys: [] };
    const { payload, protectedHeader } = await jwtVerify(res.body['access_token'] as string, createLocalJWKSet(jwks), {
      audience: 'https://graph.microsoft.com',
    });
    expect(protectedHeader.alg).toBe('RS256');
    expect(payload).toMatchObject({ appid: APP.appId, tid: APP.tenantId, idtyp: 'app' });
    expect(payload['roles']).toContain('Calls.Initiate.All');
  });

  it('accepts the secret in a Basic Authorization header', async () => {
    const s = await sim();
    const basic = Buffer.from(`${APP.appId}:${APP.clientSecret}`).toString('base64');
    const res = await token(s, { grant_type: 'client_credentials', scope: GRAPH_SCOPE }, { Authorization: `Basic ${basic}` });
    expect(res.status).toBe(200);
  });

  it('accepts a client assertion signed with the registered certificate key, and rejects others', async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
    const s = await sim({ apps: [{ ...APP, callbackUri: 'http://127.0.0.1:9/x', assertionKey: await exportSPKI(publicKey) }] });
    const assertion = async (key: Parameters<SignJWT['sign']>[0]) =>
      new SignJWT({ jti: 'j1' })
        .setProtectedHeader({ alg: 'RS256' })
        .setIssuer(APP.appId)
        .setSubject(APP.appId)
        .setAudience(`${s.url}/${APP.tenantId}/oauth2/v2.0/token`)
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(key);
    const form = (a: string) => ({
      grant_type: 'client_credentials',
      client_id: APP.appId,
      scope: GRAPH_SCOPE,
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: a,
    });
    expect((await token(s, form(await assertion(privateKey)))).status).toBe(200);
    const other = await generateKeyPair('RS256');
    const bad = await token(s, form(await assertion(other.privateKey)));
    expect(bad.status).toBe(401);
    expect(bad.body['error']).toBe('invalid_client');
  });

  it("answers Entra's errors", async () => {
    const s = await sim();
    const base = { grant_type: 'client_credentials', client_id: APP.appId, client_secret: APP.clientSecret, scope: GRAPH_SCOPE };
    const cases: [Record<string, string>, number, string, number, string?][] = [
      [{ ...base, client_secret: 'wrong' }, 401, 'invalid_client', 7000215],
      [{ ...base, client_id: 'nobody' }, 400, 'unauthorized_client', 700016],
      [{ ...base, grant_type: 'password' }, 400, 'unsupported_grant_type', 70003],
      [{ ...base, scope: 'https://graph.microsoft.com/Calls.Initiate.All' }, 400, 'invalid_scope', 1002012],
      [{ grant_type: 'client_credentials', client_id: APP.appId, scope: GRAPH_SCOPE }, 401, 'invalid_client', 7000218],
      [base, 400, 'invalid_request', 90002, 'other-tenant'],
    ];
    for (const [form, status, error, code, tenant] of cases) {
      const res = await token(s, form, {}, tenant);
      expect(res.status, error).toBe(status);
      expect(res.body['error']).toBe(error);
      expect(res.body['error_codes']).toEqual([code]);
      expect(res.body['error_description']).toMatch(new RegExp(`^AADSTS${code}: `));
    }
  });

  it('rejects expired and foreign access tokens on Graph', async () => {
    const s = await sim({ tokenLifetimeSeconds: -1 });
    const expired = await s.accessToken(APP.appId);
    const res = await fetch(`${s.url}/v1.0/communications/calls/x`, { headers: { Authorization: `Bearer ${expired}` } });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer /);
    const { privateKey } = await generateKeyPair('RS256');
    const foreign = await new SignJWT({ appid: APP.appId, aud: 'https://graph.microsoft.com' })
      .setProtectedHeader({ alg: 'RS256' })
      .setExpirationTime('1h')
      .sign(privateKey);
    expect((await fetch(`${s.url}/v1.0/communications/calls/x`, { headers: { Authorization: `Bearer ${foreign}` } })).status).toBe(401);
  });

  it('serves the discovery documents MSAL asks for', async () => {
    const s = await sim();
    const authorize = encodeURIComponent(`https://login.microsoftonline.com/${APP.tenantId}/oauth2/v2.0/authorize`);
    const discovery = (await (
      await fetch(`${s.url}/common/discovery/instance?api-version=1.1&authorization_endpoint=${authorize}`)
    ).json()) as Json;
    expect(discovery).toMatchObject({
      'api-version': '1.1',
      tenant_discovery_endpoint: `${s.url}/${APP.tenantId}/v2.0/.well-known/openid-configuration`,
    });
    const host = new URL(s.url).host;
    expect(discovery['metadata']).toEqual([{ preferred_network: host, preferred_cache: host, aliases: [host] }]);
    expect((await fetch(`${s.url}/${APP.tenantId}/.well-known/openid-configuration`)).status).toBe(200);
  });
});

describe('webhook signing identity', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('publishes an OpenIdConfiguration and JWKS, and rotates keys', async () => {
    h = await harness({ timings: { incomingAnswerMs: 3_600_000 } }); // no deadline drops mid-test
    const config = (await (await fetch(`${h.sim.url}/v1/.well-known/OpenIdConfiguration`)).json()) as Json;
    expect(config).toMatchObject({ issuer: 'https://api.botframework.com', jwks_uri: `${h.sim.url}/v1/keys` });
    const before = (await (await fetch(config['jwks_uri'] as string)).json()) as { keys: Json[] };
    expect(before.keys[0]).toMatchObject({ kty: 'RSA', use: 'sig', alg: 'RS256', kid: h.sim.signingKeyId() });

    const oldKid = h.sim.signingKeyId();
    h.sim.placeIncomingCall({ appId: h.app.appId, from: 'a' });
    await h.sim.waitForIdle();
    const { kid } = await h.sim.rotateSigningKey();
    expect(kid).not.toBe(oldKid);
    expect(h.sim.signingKeyId()).toBe(kid);
    h.sim.placeIncomingCall({ appId: h.app.appId, from: 'b' });
    await h.sim.waitForIdle();
    expect(h.receiver.posts.map((p) => p.kid)).toEqual([oldKid, kid]);
    expect(h.receiver.posts.every((p) => p.verifyError === undefined)).toBe(true);
    const after = (await (await fetch(`${h.sim.url}/v1/keys`)).json()) as { keys: Json[] };
    expect(after.keys.map((k) => k['kid'])).toEqual([kid, oldKid]);

    await h.sim.rotateSigningKey({ retirePrevious: true });
    const retired = (await (await fetch(`${h.sim.url}/v1/keys`)).json()) as { keys: Json[] };
    expect(retired.keys).toHaveLength(1);
  });

  it('signs webhook tokens with iss, aud, exp, nbf, iat and a kid', async () => {
    h = await harness();
    const t = await h.sim.webhookToken(h.app.appId);
    expect(decodeProtectedHeader(t)).toMatchObject({ alg: 'RS256', kid: h.sim.signingKeyId() });
    const jwks = (await (await fetch(`${h.sim.url}/v1/keys`)).json()) as { keys: [] };
    const { payload } = await jwtVerify(t, createLocalJWKSet(jwks), { issuer: 'https://api.botframework.com', audience: h.app.appId });
    for (const claim of ['exp', 'nbf', 'iat']) expect(typeof payload[claim]).toBe('number');
  });

  it.each(['none', 'expired', 'wrongAudience', 'wrongIssuer', 'unknownKey'] as const)(
    'delivers a raw POST with a %s token, which a verifying receiver refuses',
    async (variant) => {
      h = await harness();
      const body = { '@odata.type': '#microsoft.graph.commsNotifications', value: [] };
      expect(await h.sim.deliverRaw({ appId: h.app.appId, body, token: variant })).toEqual({ status: 401 });
      expect(await h.sim.deliverRaw({ appId: h.app.appId, body })).toEqual({ status: 202 });
    },
  );
});
