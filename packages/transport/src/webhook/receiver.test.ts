import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { DecodeError } from '@switchboard/core';
import { createWebhookReceiver, DEFAULT_MAX_TOKEN_LIFETIME_SECONDS, type WebhookDelivery, type WebhookReceiver } from './receiver.js';

const APP = 'app-0000-1111';
const ISS = 'https://api.botframework.com';
const body = JSON.stringify({
  value: [
    {
      changeType: 'updated',
      resourceUrl: '/communications/calls/c1',
      resourceData: { '@odata.type': '#microsoft.graph.call', state: 'established' },
    },
  ],
});

let keyServer: Server;
let keyUrl: string;
const published: JWK[] = [];
let keyFetches = 0;
const signing: Record<string, CryptoKey> = {};

async function addKey(kid: string): Promise<void> {
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
  signing[kid] = privateKey as CryptoKey;
  published.push({ ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' });
}

function token(claims: { aud?: string; iss?: string; exp?: number; nbf?: number; iat?: number } = {}, kid = 'k1'): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: 'RS256', kid })
    .setIssuer(claims.iss ?? ISS)
    .setAudience(claims.aud ?? APP)
    .setIssuedAt(claims.iat ?? now)
    .setNotBefore(claims.nbf ?? now - 60)
    .setExpirationTime(claims.exp ?? now + 3600)
    .sign(signing[kid]!);
}

beforeAll(async () => {
  await addKey('k1');
  keyServer = createServer((req, res) => {
    if (req.url === '/v1/.well-known/OpenIdConfiguration') {
      res.setHeader('content-type', 'application/json').end(JSON.stringify({ issuer: ISS, jwks_uri: `${keyUrl}/v1/keys` }));
    } else if (req.url === '/v1/keys') {
      keyFetches += 1;
      res.setHeader('content-type', 'application/json').end(JSON.stringify({ keys: published }));
    } else res.writeHead(404).end();
  });
  await new Promise<void>((r) => keyServer.listen(0, '127.0.0.1', r));
  keyUrl = `http://127.0.0.1:${(keyServer.address() as AddressInfo).port}`;
});

afterAll(async () => {
  // the receiver's server of the last test too (each test's beforeEach closes the one before)
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  await new Promise<void>((r) => keyServer.close(() => r()));
});

let delivered: WebhookDelivery[];
let sinkImpl: (d: WebhookDelivery) => Promise<void>;
let receiver: WebhookReceiver;
let server: Server;
let url: string;

beforeEach(async () => {
  delivered = [];
  sinkImpl = async (d) => void delivered.push(d);
  receiver = createWebhookReceiver({
    appId: APP,
    openIdConfigurationUrl: `${keyUrl}/v1/.well-known/OpenIdConfiguration`,
    sink: (d) => sinkImpl(d),
    maxBodyBytes: 64 * 1024,
    minKeyRefreshIntervalMs: 0,
  });
  server?.close();
  server = createServer((req, res) => void receiver.node(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/calls`;
});

async function post(
  headers: Record<string, string>,
  payload: string = body,
): Promise<{ status: number; json: Record<string, unknown> | null; headers: Headers }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: payload });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : null, headers: res.headers };
}

describe('webhook receiver over node:http', () => {
  it('accepts a valid token and answers 202 only after the sink resolved', async () => {
    let release!: () => void;
    const order: string[] = [];
    sinkImpl = (d) =>
      new Promise<void>((resolve) => {
        delivered.push(d);
        release = () => {
          order.push('sink resolved');
          resolve();
        };
      });
    const pending = post({ authorization: `Bearer ${await token()}`, 'client-request-id': 'cr-1' }).then((r) => {
      order.push(`answered ${r.status}`);
      return r;
    });
    await expect.poll(() => delivered.length).toBe(1);
    await new Promise((r) => setTimeout(r, 50));
    expect(order).toEqual([]);
    release();
    expect((await pending).status).toBe(202);
    expect(order).toEqual(['sink resolved', 'answered 202']);
    expect(delivered[0]).toMatchObject({
      body: JSON.parse(body),
      claims: { aud: APP, iss: ISS },
      headers: { 'client-request-id': 'cr-1' },
    });
  });

  it.each([
    ['no token', {}, 401],
    ['not a bearer token', { authorization: 'Basic abc' }, 401],
    ['a malformed token', { authorization: 'Bearer not.a.jwt' }, 401],
  ])('refuses %s with 401 and a problem body', async (_name, headers, status) => {
    const r = await post(headers);
    expect(r.status).toBe(status);
    expect(r.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(r.headers.get('content-type')).toBe('application/problem+json');
    expect(r.json).toMatchObject({ status, title: 'Unauthorized' });
    expect(delivered).toEqual([]);
  });

  it('refuses expired and not-yet-valid tokens (401), beyond the clock skew', async () => {
    const now = Math.floor(Date.now() / 1000);
    expect((await post({ authorization: `Bearer ${await token({ exp: now - 3600 })}` })).status).toBe(401);
    expect((await post({ authorization: `Bearer ${await token({ nbf: now + 3600, exp: now + 7200 })}` })).status).toBe(401);
    // within the 5 minute skew: accepted
    expect((await post({ authorization: `Bearer ${await token({ exp: now - 60 })}` })).status).toBe(202);
    // issued in the future, beyond the skew (jose alone would accept it)
    const future = await post({ authorization: `Bearer ${await token({ iat: now + 3600, exp: now + 7200 })}` });
    expect(future.status).toBe(401);
    expect(String(future.json?.['detail'])).toMatch(/iat/);
    expect((await post({ authorization: `Bearer ${await token({ iat: now + 60 })}` })).status).toBe(202);
  });

  it('refuses a token valid for longer than Graph issues them (default two hours, configurable)', async () => {
    const now = Math.floor(Date.now() / 1000);
    expect(DEFAULT_MAX_TOKEN_LIFETIME_SECONDS).toBe(7200);
    const long = await post({ authorization: `Bearer ${await token({ iat: now, nbf: now, exp: now + 10 * 365 * 86_400 })}` });
    expect(long.status).toBe(401);
    expect(String(long.json?.['detail'])).toMatch(/valid for \d+ s, longer than the 7200 s accepted/);
    expect((await post({ authorization: `Bearer ${await token({ iat: now, nbf: now, exp: now + 7200 })}` })).status).toBe(202);
    expect((await post({ authorization: `Bearer ${await token({ iat: now, nbf: now, exp: now + 7201 })}` })).status).toBe(401);
    // a back-dated nbf counts: the token was valid from then
    expect((await post({ authorization: `Bearer ${await token({ iat: now, nbf: now - 7200, exp: now + 60 })}` })).status).toBe(401);
    const strict = createWebhookReceiver({
      appId: APP,
      openIdConfigurationUrl: `${keyUrl}/v1/.well-known/OpenIdConfiguration`,
      sink: async () => {},
      maxTokenLifetimeSeconds: 600,
    });
    const ask = async (exp: number) =>
      (
        await strict.fetch(
          new Request(url, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${await token({ iat: now, nbf: now, exp })}` },
            body,
          }),
        )
      ).status;
    expect(await ask(now + 3600)).toBe(401);
    expect(await ask(now + 300)).toBe(202);
    expect(() => createWebhookReceiver({ appId: APP, sink: async () => {}, maxTokenLifetimeSeconds: 0 })).toThrow(
      /maxTokenLifetimeSeconds/,
    );
    expect(() => createWebhookReceiver({ appId: APP, sink: async () => {}, maxDiscardBytes: -1 })).toThrow(/maxDiscardBytes/);
  });

  it('refuses a wrong audience or issuer with 403', async () => {
    expect((await post({ authorization: `Bearer ${await token({ aud: 'someone-else' })}` })).status).toBe(403);
    expect((await post({ authorization: `Bearer ${await token({ iss: 'https://evil.example' })}` })).status).toBe(403);
    expect(delivered).toEqual([]);
  });

  it("refuses alg 'none' and HS256 tokens", async () => {
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const claims = { aud: APP, iss: ISS, exp: Math.floor(Date.now() / 1000) + 600 };
    expect((await post({ authorization: `Bearer ${b64({ alg: 'none', kid: 'k1' })}.${b64(claims)}.` })).status).toBe(401);
    const hs = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
      .sign(new TextEncoder().encode('guessed-secret-guessed-secret-32'));
    expect((await post({ authorization: `Bearer ${hs}` })).status).toBe(401);
  });

  it('refreshes the keys once for an unknown kid, and accepts a key rotated in', async () => {
    await addKey('k2');
    const before = keyFetches;
    expect((await post({ authorization: `Bearer ${await token({}, 'k2')}` })).status).toBe(202);
    expect(keyFetches - before).toBeLessThanOrEqual(2); // the first load, then at most one refresh
    const afterRotation = keyFetches;
    // a kid nobody publishes: one refresh, then 401
    signing['ghost'] = signing['k1']!;
    expect((await post({ authorization: `Bearer ${await token({}, 'ghost')}` })).status).toBe(401);
    expect(keyFetches - afterRotation).toBe(1);
  });

  it('rate-limits refreshes caused by unknown kids', async () => {
    const limited = createWebhookReceiver({
      appId: APP,
      openIdConfigurationUrl: `${keyUrl}/v1/.well-known/OpenIdConfiguration`,
      sink: async () => {},
      minKeyRefreshIntervalMs: 60_000,
    });
    signing['ghost'] = signing['k1']!;
    const req = async () =>
      (
        await limited.fetch(
          new Request(url, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${await token({}, 'ghost')}` },
            body,
          }),
        )
      ).status;
    const before = limited.keys.refreshes;
    for (let i = 0; i < 5; i++) expect(await req()).toBe(401);
    expect(limited.keys.refreshes - before).toBe(1);
  });

  it('verifies a token once and reuses it until it expires (Graph reuses tokens)', async () => {
    const t = await token();
    await post({ authorization: `Bearer ${t}` });
    const fetches = keyFetches;
    for (let i = 0; i < 5; i++) expect((await post({ authorization: `Bearer ${t}` })).status).toBe(202);
    expect(keyFetches).toBe(fetches);
    expect(delivered).toHaveLength(6);
  });

  it('refuses a body over the limit while it streams in: chunked and slow, and with a lying content-length', async () => {
    const auth = `Bearer ${await token()}`;
    const slow = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: auth } }, (res) =>
        resolve(res.statusCode ?? 0),
      );
      req.on('error', reject);
      let sent = 0;
      const timer = setInterval(() => {
        if (sent > 200 * 1024 || req.destroyed) {
          clearInterval(timer);
          req.end();
          return;
        }
        req.write('x'.repeat(16 * 1024));
        sent += 16 * 1024;
      }, 5);
    }).catch(() => 413);
    expect(slow).toBe(413);
    const lying = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        url,
        { method: 'POST', headers: { 'content-type': 'application/json', authorization: auth, 'content-length': '100' } },
        (res) => resolve(res.statusCode ?? 0),
      );
      req.on('error', reject);
      req.end('{"value":[]}'.padEnd(100, ' '));
    });
    expect(lying).toBe(202); // the length it declared and sent: fine
    expect((await post({ authorization: auth }, JSON.stringify({ value: [], pad: 'x'.repeat(70 * 1024) }))).status).toBe(413);
    expect(delivered).toHaveLength(1);
  });

  it('answers 408 and closes the connection when a body trickles in past the body timeout; a sender that goes away mid-body is not an error', async () => {
    const logged: string[] = [];
    const log = (level: string) => (obj: object, msg?: string) => void logged.push(`${level} ${msg ?? ''} ${JSON.stringify(obj)}`);
    receiver = createWebhookReceiver({
      appId: APP,
      openIdConfigurationUrl: `${keyUrl}/v1/.well-known/OpenIdConfiguration`,
      sink: (d) => sinkImpl(d),
      bodyTimeoutMs: 300,
      logger: { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') },
    });
    const auth = `Bearer ${await token()}`;
    const started = Date.now();
    const slow = await new Promise<{ status: number; closed: boolean }>((resolve, reject) => {
      const req = httpRequest(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: auth } }, (res) =>
        resolve({ status: res.statusCode ?? 0, closed: res.headers.connection === 'close' }),
      );
      req.on('error', reject);
      req.write('{"value":['); // ... and nothing more
    });
    expect(slow).toEqual({ status: 408, closed: true });
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    // a sender that resets the connection half way
    await new Promise<void>((resolve) => {
      const req = httpRequest(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: auth, 'content-length': '1000' },
      });
      req.on('error', () => resolve());
      req.write('{"value":[');
      setTimeout(() => req.destroy(), 50);
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(delivered).toHaveLength(0);
    expect(logged.filter((l) => l.startsWith('error'))).toEqual([]);
    expect(logged.some((l) => l.includes('went away'))).toBe(true);
    expect(() => createWebhookReceiver({ appId: APP, sink: async () => {}, bodyTimeoutMs: 0 })).toThrow(/bodyTimeoutMs/);
  });

  it('answers 415 for non-JSON content, 400 for malformed JSON or not a commsNotifications, 405 for GET', async () => {
    const auth = `Bearer ${await token()}`;
    expect((await post({ authorization: auth, 'content-type': 'text/plain' })).status).toBe(415);
    expect((await post({ authorization: auth, 'content-type': 'application/json; charset=utf-8' })).status).toBe(202);
    expect((await post({ authorization: auth }, '{"value": [')).status).toBe(400);
    expect((await post({ authorization: auth }, '{"values": []}')).json).toMatchObject({
      status: 400,
      type: 'urn:switchboard:webhook:not-comms-notifications',
    });
    const get = await fetch(url);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
  });

  it('maps a DecodeError from the sink to 400 with its path, any other failure to 503', async () => {
    const auth = `Bearer ${await token()}`;
    sinkImpl = async () => {
      throw new DecodeError('wrong-type', '$.value[0].changeType', 'changeType must be a string');
    };
    const bad = await post({ authorization: auth });
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({ path: '$.value[0].changeType' });
    sinkImpl = async () => {
      throw new Error('disk full');
    };
    const failed = await post({ authorization: auth });
    expect(failed.status).toBe(503);
    expect(failed.headers.get('retry-after')).toBe('1');
  });

  it('repeats at most a short prefix of what a DecodeError quotes, and of its path', async () => {
    const auth = `Bearer ${await token()}`;
    const huge = 'x'.repeat(900_000);
    sinkImpl = async () => {
      throw new DecodeError('invalid-value', `$.value[0].${huge}`, `'${huge}' is not created, updated or deleted`);
    };
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: auth }, body });
    const text = await res.text();
    expect(res.status).toBe(400);
    expect(text.length).toBeLessThan(1200);
    const problem = JSON.parse(text) as { detail: string; path: string };
    expect(problem.path).toMatch(/^\$\.value\[0\]\.xxx+\.\.\. \(900011 characters\)$/);
    expect(problem.detail).toMatch(/characters\)$/);
  });
});

describe('webhook receiver, Fetch-standard handler', () => {
  it('serves the same logic for Request objects', async () => {
    const ok = await receiver.fetch(
      new Request(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${await token()}` }, body }),
    );
    expect(ok.status).toBe(202);
    const big = await receiver.fetch(
      new Request(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${await token()}` },
        body: 'x'.repeat(65 * 1024),
      }),
    );
    expect(big.status).toBe(413);
    const none = await receiver.fetch(new Request(url, { method: 'POST', body }));
    expect(none.status).toBe(401);
  });

  it('refuses two Authorization values (joined by the Request) and bodies that are not UTF-8 with 400', async () => {
    const t = await token();
    const headers = new Headers({ 'content-type': 'application/json' });
    headers.append('authorization', `Bearer ${t}`);
    headers.append('authorization', 'Bearer junk');
    const dup = await receiver.fetch(new Request(url, { method: 'POST', headers, body }));
    expect(dup.status).toBe(400);
    expect(((await dup.json()) as { type: string }).type).toBe('urn:switchboard:webhook:duplicate-authorization');
    const bytes = Buffer.concat([Buffer.from(body.slice(0, 60)), Buffer.from([0xff]), Buffer.from(body.slice(60))]);
    const bad = await receiver.fetch(
      new Request(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${t}` }, body: bytes }),
    );
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { type: string }).type).toBe('urn:switchboard:webhook:invalid-utf8');
    expect(delivered).toEqual([]);
  });

  it('reads the rest of a refused body before answering, up to the body deadline; then answers with connection: close and lets go of it', async () => {
    const quick = createWebhookReceiver({
      appId: APP,
      openIdConfigurationUrl: `${keyUrl}/v1/.well-known/OpenIdConfiguration`,
      sink: async () => {},
      bodyTimeoutMs: 300,
    });
    // a body that arrives whole: the 405 waits for it, and the connection may stay open
    const whole = await quick.fetch(new Request(url, { method: 'PUT', body }));
    expect(whole.status).toBe(405);
    expect(whole.headers.get('connection')).toBeNull();
    // a body that never ends: the 405 comes at the deadline, says the connection closes, and the body is cancelled
    let cancelled = false;
    const endless = new ReadableStream<Uint8Array>({
      pull: () => new Promise(() => {}),
      cancel: () => void (cancelled = true),
    });
    const started = performance.now();
    const held = await quick.fetch(new Request(url, { method: 'PUT', body: endless, duplex: 'half' } as RequestInit));
    expect(held.status).toBe(405);
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
    expect(held.headers.get('connection')).toBe('close');
    await expect.poll(() => cancelled).toBe(true);
  });

  it('with verification explicitly disabled, warns loudly and passes claims as null', async () => {
    const warnings: string[] = [];
    const open = createWebhookReceiver({
      appId: APP,
      verification: 'disabled-insecure',
      sink: async (d) => void delivered.push(d),
      logger: { debug() {}, info() {}, warn: (_o, m) => void warnings.push(m ?? ''), error() {} },
    });
    expect(warnings[0]).toMatch(/VERIFICATION IS DISABLED/);
    const r = await open.fetch(new Request(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body }));
    expect(r.status).toBe(202);
    expect(delivered.at(-1)?.claims).toBeNull();
  });
});
