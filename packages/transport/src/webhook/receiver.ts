import type { IncomingMessage, ServerResponse } from 'node:http';
import { errors as joseErrors, decodeProtectedHeader, jwtVerify, type JWTPayload } from 'jose';
import { SwitchboardError } from '@switchboard/core';
import { KeySet } from './keys.js';

/** What the webhook hands the sink: the whole batch, persisted by the sink before 202. */
export interface WebhookDelivery {
  /** The parsed `commsNotifications` body. */
  readonly body: { readonly value: readonly unknown[]; readonly [key: string]: unknown };
  readonly rawBody: string;
  /** When it was received (ms), from the receiver's clock. */
  readonly receivedAt: number;
  /** The verified token's claims; null only when verification is explicitly disabled. */
  readonly claims: JWTPayload | null;
  readonly headers: { readonly 'client-request-id'?: string; readonly 'request-id'?: string; readonly 'scenario-id'?: string; readonly 'x-microsoft-skype-message-id'?: string };
}

export interface WebhookLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface WebhookReceiverOptions {
  /** The bot's app id: the audience every token must name. */
  readonly appId: string;
  /** Persist the delivery; the receiver answers 202 only after this resolved. */
  readonly sink: (delivery: WebhookDelivery) => Promise<void>;
  /** Default `https://api.aps.skype.com/v1/.well-known/OpenIdConfiguration`. */
  readonly openIdConfigurationUrl?: string;
  /** Accepted issuers; default `['https://api.botframework.com']`. */
  readonly issuers?: readonly string[];
  /** Tolerated clock difference for exp/nbf, seconds (default 300). */
  readonly clockSkewSeconds?: number;
  /** Bodies past this many bytes are refused with 413 while they stream in (default 1 MiB). */
  readonly maxBodyBytes?: number;
  /**
   * A body not fully received this long after its headers is refused with 408 and its
   * connection closed (default 10 s): a slow sender cannot hold a connection open.
   */
  readonly bodyTimeoutMs?: number;
  /** `'disabled-insecure'` turns token verification off, loudly. Default `'enabled'`. */
  readonly verification?: 'enabled' | 'disabled-insecure';
  /** Fewest ms between key refreshes caused by unknown kids (default 30 s). */
  readonly minKeyRefreshIntervalMs?: number;
  readonly logger?: WebhookLogger;
  readonly now?: () => number;
  readonly fetch?: typeof fetch;
}

export interface WebhookReceiver {
  /** The Fetch-standard handler (Hono, Next.js, Deno, Bun, undici's server ...). Never throws. */
  fetch(request: Request): Promise<Response>;
  /** The node:http handler. Never throws. */
  node(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** The signing keys (refreshes count, for metrics). */
  readonly keys: KeySet;
}

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** Reading a body: the text, or `too-large` once it passed the limit (reading stopped there). */
/** The body, or why there is none: over the limit, too slow, or the sender went away. */
type BodyRead = string | 'too-large' | 'timeout' | 'aborted';
type BodyReader = (limit: number, timeoutMs: number) => Promise<BodyRead>;

const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512'];
const silent: WebhookLogger = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * The webhook Graph posts call notifications to. Every POST is authenticated (the Bearer JWT
 * against Graph's published keys, issuer, audience, expiry); bad input gets a 4xx with a
 * problem body and changes nothing; a good batch goes to the sink whole, and 202 is answered
 * only after the sink resolved (503 when it failed, so Graph delivers again).
 */
export function createWebhookReceiver(options: WebhookReceiverOptions): WebhookReceiver {
  if (!options?.appId) throw new SwitchboardError('SWB_INVALID_ARGUMENT', 'createWebhookReceiver needs the bot appId (the token audience)');
  if (typeof options.sink !== 'function') throw new SwitchboardError('SWB_INVALID_ARGUMENT', 'createWebhookReceiver needs a sink');
  const now = options.now ?? Date.now;
  const log = options.logger ?? silent;
  const maxBody = options.maxBodyBytes ?? 1024 * 1024;
  const bodyTimeoutMs = options.bodyTimeoutMs ?? 10_000;
  if (!(bodyTimeoutMs > 0)) throw new SwitchboardError('SWB_INVALID_ARGUMENT', `bodyTimeoutMs must be positive, got ${String(options.bodyTimeoutMs)}`);
  const issuers = [...(options.issuers ?? ['https://api.botframework.com'])];
  const skew = options.clockSkewSeconds ?? 300;
  const verify = (options.verification ?? 'enabled') === 'enabled';
  if (!verify) log.warn({ appId: options.appId }, 'WEBHOOK TOKEN VERIFICATION IS DISABLED: anyone who can reach this endpoint can forge call notifications');
  const keys = new KeySet({
    openIdConfigurationUrl: options.openIdConfigurationUrl ?? 'https://api.aps.skype.com/v1/.well-known/OpenIdConfiguration',
    now,
    ...(options.minKeyRefreshIntervalMs !== undefined ? { minRefreshIntervalMs: options.minKeyRefreshIntervalMs } : {}),
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  // Graph reuses a token across deliveries: a verified one is remembered until it expires.
  const verified = new Map<string, { claims: JWTPayload; expiresAt: number }>();

  async function authenticate(header: string | null): Promise<{ claims: JWTPayload | null } | Answer> {
    if (!verify) return { claims: null };
    const match = /^Bearer\s+(\S+)$/i.exec(header ?? '');
    if (!match) return problem(401, 'missing-token', 'Unauthorized', 'a Bearer token is required', { 'www-authenticate': 'Bearer' });
    const token = match[1]!;
    const cached = verified.get(token);
    if (cached && cached.expiresAt > now()) return { claims: cached.claims };
    try {
      const alg = decodeProtectedHeader(token).alg;
      if (!alg || !ALGORITHMS.includes(alg)) {
        return problem(401, 'invalid-token', 'Unauthorized', `tokens signed with '${String(alg)}' are not accepted`, { 'www-authenticate': 'Bearer error="invalid_token"' });
      }
      const { payload } = await jwtVerify(token, (h) => keys.keyFor(h), {
        issuer: issuers,
        audience: options.appId,
        algorithms: ALGORITHMS,
        clockTolerance: skew,
        currentDate: new Date(now()),
        requiredClaims: ['exp'],
      });
      // jose checks `iat` only against a maximum age; a token issued in the future (beyond the
      // skew) was minted by a clock nobody should trust, whatever its `exp` says.
      if (typeof payload.iat === 'number' && payload.iat * 1000 > now() + skew * 1000) {
        log.debug({ claim: 'iat' }, 'webhook token refused');
        return problem(401, 'invalid-token', 'Unauthorized', "the token's iat claim is in the future", { 'www-authenticate': 'Bearer error="invalid_token"' });
      }
      if (verified.size > 1000) verified.clear();
      verified.set(token, { claims: payload, expiresAt: (payload.exp ?? 0) * 1000 + skew * 1000 });
      return { claims: payload };
    } catch (error) {
      if (error instanceof joseErrors.JWTClaimValidationFailed && (error.claim === 'aud' || error.claim === 'iss')) {
        log.warn({ claim: error.claim }, 'webhook token for another audience or issuer');
        return problem(403, 'wrong-audience-or-issuer', 'Forbidden', `the token's ${error.claim === 'aud' ? 'audience' : 'issuer'} is not accepted here`);
      }
      if ((error as { code?: string }).code === 'SWB_WEBHOOK_KEYS_UNAVAILABLE') {
        log.error({ err: (error as Error).message }, 'webhook signing keys unavailable');
        return problem(503, 'keys-unavailable', 'Service Unavailable', 'the signing keys cannot be loaded right now', { 'retry-after': '5' });
      }
      const reason = error instanceof joseErrors.JWTExpired ? 'the token has expired' : error instanceof joseErrors.JWTClaimValidationFailed ? `the token's ${error.claim} claim is not valid` : 'the token is not valid';
      log.debug({ code: (error as { code?: string }).code }, 'webhook token refused');
      return problem(401, 'invalid-token', 'Unauthorized', reason, { 'www-authenticate': 'Bearer error="invalid_token"' });
    }
  }

  async function handle(method: string, header: (name: string) => string | null, readBody: BodyReader): Promise<Answer> {
    try {
      if (method !== 'POST') return problem(405, 'method-not-allowed', 'Method Not Allowed', 'the webhook takes POST', { allow: 'POST' });
      const auth = await authenticate(header('authorization'));
      if ('status' in auth) return auth;
      const type = (header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
      if (type !== 'application/json' && !type.endsWith('+json')) {
        return problem(415, 'unsupported-media-type', 'Unsupported Media Type', `expected application/json, got '${type || 'nothing'}'`);
      }
      const declared = Number(header('content-length') ?? Number.NaN);
      if (Number.isFinite(declared) && declared > maxBody) return problem(413, 'too-large', 'Payload Too Large', `the body is over ${maxBody} bytes`);
      const raw = await readBody(maxBody, bodyTimeoutMs);
      if (raw === 'too-large') return problem(413, 'too-large', 'Payload Too Large', `the body is over ${maxBody} bytes`);
      if (raw === 'timeout') return problem(408, 'body-timeout', 'Request Timeout', `the body did not arrive within ${bodyTimeoutMs} ms`);
      if (raw === 'aborted') {
        // the sender went away mid-body: nothing to store, nobody to answer
        log.debug({}, 'webhook sender went away before the body ended');
        return problem(400, 'aborted', 'Bad Request', 'the body ended before it was complete');
      }
      let body: unknown;
      try {
        body = JSON.parse(raw);
      } catch {
        return problem(400, 'malformed-json', 'Bad Request', 'the body is not valid JSON');
      }
      if (typeof body !== 'object' || body === null || Array.isArray(body) || !Array.isArray((body as { value?: unknown }).value)) {
        return problem(400, 'not-comms-notifications', 'Bad Request', 'the body is not a commsNotifications object with a value array');
      }
      const headers: Record<string, string> = {};
      for (const name of ['client-request-id', 'request-id', 'scenario-id', 'x-microsoft-skype-message-id']) {
        const value = header(name);
        if (value) headers[name] = value;
      }
      try {
        await options.sink({ body: body as WebhookDelivery['body'], rawBody: raw, receivedAt: now(), claims: auth.claims, headers });
      } catch (error) {
        if ((error as { code?: string }).code === 'SWB_DECODE') {
          const path = (error as { path?: string }).path;
          return problem(400, 'malformed-notification', 'Bad Request', (error as Error).message, {}, path !== undefined ? { path } : {});
        }
        log.error({ code: (error as { code?: string }).code, err: (error as Error).message }, 'webhook sink failed; Graph will deliver again');
        return problem(503, 'not-persisted', 'Service Unavailable', 'the notification could not be stored; deliver it again', { 'retry-after': '1' });
      }
      return { status: 202, headers: {}, body: '' };
    } catch (error) {
      log.error({ err: (error as Error).message }, 'webhook failed unexpectedly');
      return problem(500, 'internal', 'Internal Server Error', 'the webhook failed');
    }
  }

  return {
    keys,
    async fetch(request) {
      const answer = await handle(request.method.toUpperCase(), (n) => request.headers.get(n), (limit, ms) => readStream(request, limit, ms));
      return new Response(answer.body === '' ? null : answer.body, { status: answer.status, headers: answer.headers });
    },
    async node(req, res) {
      const answer = await handle(
        (req.method ?? 'GET').toUpperCase(),
        (n) => {
          const v = req.headers[n];
          return Array.isArray(v) ? (v[0] ?? null) : (v ?? null);
        },
        (limit, ms) => readNode(req, limit, ms),
      );
      try {
        if (answer.status === 413 || answer.status === 408 || answer.status === 401 || answer.status === 403) {
          // do not keep reading what we refused; close the connection after answering
          res.setHeader('connection', 'close');
        }
        res.writeHead(answer.status, answer.headers).end(answer.body || undefined);
        if (answer.status === 413 || answer.status === 408) lingeringClose(req);
        else if (!req.complete) req.resume();
      } catch {
        // the client went away
      }
    },
  };
}

/**
 * Closes a connection whose body we refused without cutting off our answer: destroying the
 * socket while the sender's bytes are still arriving makes the kernel reset the connection,
 * and a reset can discard the answer before the sender read it. So the rest of the body is
 * read and thrown away for a short while (at most 2 s), then the socket is closed.
 */
function lingeringClose(req: IncomingMessage): void {
  const timer = setTimeout(() => req.destroy(), 2_000);
  timer.unref();
  req.once('end', () => {
    clearTimeout(timer);
    req.destroy();
  });
  req.once('close', () => clearTimeout(timer));
  req.on('data', () => {});
  req.resume();
}

function problem(status: number, type: string, title: string, detail: string, headers: Record<string, string> = {}, extra: Record<string, unknown> = {}): Answer {
  return {
    status,
    headers: { 'content-type': 'application/problem+json', ...headers },
    body: JSON.stringify({ type: `urn:switchboard:webhook:${type}`, title, status, detail, ...extra }),
  };
}

async function readStream(request: Request, limit: number, timeoutMs: number): Promise<BodyRead> {
  if (!request.body) return '';
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  try {
    for (;;) {
      const next = await Promise.race([reader.read(), timedOut]);
      if (next === 'timeout') {
        await reader.cancel().catch(() => {});
        return 'timeout';
      }
      const { done, value } = next;
      if (done) break;
      size += value.byteLength;
      if (size > limit) {
        await reader.cancel().catch(() => {});
        return 'too-large';
      }
      chunks.push(value);
    }
  } catch {
    return 'aborted';
  } finally {
    clearTimeout(timer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function readNode(req: IncomingMessage, limit: number, timeoutMs: number): Promise<BodyRead> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (result: BodyRead) => {
      cleanup();
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.pause();
        done('too-large');
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => done(Buffer.concat(chunks).toString('utf8'));
    // the sender reset the connection or closed it before the body ended
    const onAbort = () => done('aborted');
    const onClose = () => {
      if (!req.complete) done('aborted');
    };
    const timer = setTimeout(() => {
      req.pause();
      done('timeout');
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onAbort);
      req.off('aborted', onAbort);
      req.off('close', onClose);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onAbort);
    req.on('aborted', onAbort);
    req.on('close', onClose);
  });
}
