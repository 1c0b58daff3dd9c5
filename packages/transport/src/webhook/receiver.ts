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
  /** Tolerated clock difference for exp/nbf/iat, seconds (default 300). */
  readonly clockSkewSeconds?: number;
  /**
   * The longest a token may be valid, seconds: `exp` minus the earlier of `iat` and `nbf`
   * (minus now when it has neither). Default {@link DEFAULT_MAX_TOKEN_LIFETIME_SECONDS}.
   */
  readonly maxTokenLifetimeSeconds?: number;
  /** Bodies past this many bytes are refused with 413 while they stream in (default 1 MiB). */
  readonly maxBodyBytes?: number;
  /**
   * A body not fully received this long after its headers is refused with 408 and its
   * connection closed (default 10 s): a slow sender cannot hold a connection open. The same
   * bound holds for the rest of a body the receiver refused before reading it.
   */
  readonly bodyTimeoutMs?: number;
  /**
   * When the receiver refuses a request whose body is still arriving (405, 401, 413 ...), it
   * reads and throws away up to this many more bytes of it, within `bodyTimeoutMs`, so that an
   * honest sender still writing can read the answer; past that it stops reading and closes the
   * connection. Default {@link DEFAULT_MAX_DISCARD_BYTES}.
   */
  readonly maxDiscardBytes?: number;
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

/**
 * The longest lifetime the receiver accepts in a token, by default: two hours. Graph's webhook
 * tokens come from the Bot Framework's token service (issuer `https://api.botframework.com`):
 * the Bot Connector authentication page's connector-to-bot example token runs 3,900 s from
 * `nbf` to `exp` (https://learn.microsoft.com/azure/bot-service/rest-api/bot-framework-rest-connector-authentication),
 * Microsoft's answer in github.com/microsoft/botframework-sdk/issues/6000 says they are issued
 * for an hour, and a Teams callback token quoted in github.com/MicrosoftDocs/bot-docs/issues/2242
 * runs 300 s (it has no `iat`). Twice the hour leaves room for a back-dated `nbf`; a token
 * valid for longer was not minted the way Graph mints them.
 */
export const DEFAULT_MAX_TOKEN_LIFETIME_SECONDS = 2 * 60 * 60;

/** The default clock skew tolerated on `exp`, `nbf` and `iat` (the Bot Framework's "industry-standard" 5 minutes). */
export const DEFAULT_CLOCK_SKEW_SECONDS = 300;

/** How much of a refused body the receiver reads and throws away by default (16 MiB), so its sender can read the answer. */
export const DEFAULT_MAX_DISCARD_BYTES = 16 * 1024 * 1024;

/** After an answer given when the body's time was already up (408), the sender still gets this long to read it before the connection closes. */
const ANSWER_GRACE_MS = 500;

/** The most characters of a sender's own input an answer repeats from a header or a token. */
const ECHO_LIMIT = 120;
/** The most characters of an error message (which may quote the body) an answer or a log line repeats. */
const MESSAGE_LIMIT = 480;

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** The body's bytes, or why there are none: over the limit, too slow, or the sender went away. */
type BodyRead = Buffer | 'too-large' | 'timeout' | 'aborted';

/** A request body, read at most once, by a deadline fixed when the request arrived. */
interface BodySource {
  /** Reads the whole body, stopping once it is past `limit` bytes or the deadline passed. */
  read(limit: number): Promise<BodyRead>;
}

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
  const maxDiscard = options.maxDiscardBytes ?? DEFAULT_MAX_DISCARD_BYTES;
  if (!(maxDiscard >= 0)) throw new SwitchboardError('SWB_INVALID_ARGUMENT', `maxDiscardBytes must be zero or more, got ${String(options.maxDiscardBytes)}`);
  const issuers = [...(options.issuers ?? ['https://api.botframework.com'])];
  const skew = options.clockSkewSeconds ?? DEFAULT_CLOCK_SKEW_SECONDS;
  const maxLifetime = options.maxTokenLifetimeSeconds ?? DEFAULT_MAX_TOKEN_LIFETIME_SECONDS;
  if (!(maxLifetime > 0)) throw new SwitchboardError('SWB_INVALID_ARGUMENT', `maxTokenLifetimeSeconds must be positive, got ${String(options.maxTokenLifetimeSeconds)}`);
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
    // Authorization holds one value. Two headers reach node:http as a list and a Fetch Request
    // joined with ", "; a token has no comma, so a comma is how both handlers see two of them.
    if (header?.includes(',')) {
      return problem(400, 'duplicate-authorization', 'Bad Request', 'the Authorization header must hold one Bearer token, not several', { 'www-authenticate': 'Bearer error="invalid_request"' });
    }
    if (!verify) return { claims: null };
    const match = /^Bearer\s+(\S+)$/i.exec(header ?? '');
    if (!match) return problem(401, 'missing-token', 'Unauthorized', 'a Bearer token is required', { 'www-authenticate': 'Bearer' });
    const token = match[1]!;
    const cached = verified.get(token);
    if (cached && cached.expiresAt > now()) return { claims: cached.claims };
    try {
      const alg = decodeProtectedHeader(token).alg;
      if (!alg || !ALGORITHMS.includes(alg)) {
        return problem(401, 'invalid-token', 'Unauthorized', `tokens signed with '${clip(String(alg))}' are not accepted`, { 'www-authenticate': 'Bearer error="invalid_token"' });
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
      // Graph's tokens live about an hour; one valid for years was not minted by Graph, or was
      // minted to be replayed. Without iat or nbf, its life is counted from now (skew allowed).
      const starts = [payload.iat, payload.nbf].filter((t): t is number => typeof t === 'number');
      const lifetime = (payload.exp ?? 0) - (starts.length > 0 ? Math.min(...starts) : Math.floor(now() / 1000) + skew);
      if (lifetime > maxLifetime) {
        log.debug({ claim: 'exp', lifetime }, 'webhook token refused');
        return problem(401, 'invalid-token', 'Unauthorized', `the token is valid for ${lifetime} s, longer than the ${maxLifetime} s accepted`, { 'www-authenticate': 'Bearer error="invalid_token"' });
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

  async function handle(method: string, header: (name: string) => string | null, body: BodySource): Promise<Answer> {
    try {
      if (method !== 'POST') return problem(405, 'method-not-allowed', 'Method Not Allowed', 'the webhook takes POST', { allow: 'POST' });
      const auth = await authenticate(header('authorization'));
      if ('status' in auth) return auth;
      const type = (header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
      if (type !== 'application/json' && !type.endsWith('+json')) {
        return problem(415, 'unsupported-media-type', 'Unsupported Media Type', `expected application/json, got '${clip(type) || 'nothing'}'`);
      }
      const declared = Number(header('content-length') ?? Number.NaN);
      if (Number.isFinite(declared) && declared > maxBody) return problem(413, 'too-large', 'Payload Too Large', `the body is over ${maxBody} bytes`);
      const bytes = await body.read(maxBody);
      if (bytes === 'too-large') return problem(413, 'too-large', 'Payload Too Large', `the body is over ${maxBody} bytes`);
      if (bytes === 'timeout') return problem(408, 'body-timeout', 'Request Timeout', `the body did not arrive within ${bodyTimeoutMs} ms`);
      if (bytes === 'aborted') {
        // the sender went away mid-body: nothing to store, nobody to answer
        log.debug({}, 'webhook sender went away before the body ended');
        return problem(400, 'aborted', 'Bad Request', 'the body ended before it was complete');
      }
      let raw: string;
      try {
        // fatal: bytes that are not UTF-8 would otherwise become U+FFFD, and two different
        // bodies the same text (and the same content-derived entry id)
        raw = utf8.decode(bytes);
      } catch {
        return problem(400, 'invalid-utf8', 'Bad Request', 'the body is not valid UTF-8');
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw);
      } catch {
        return problem(400, 'malformed-json', 'Bad Request', 'the body is not valid JSON');
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || !Array.isArray((parsed as { value?: unknown }).value)) {
        return problem(400, 'not-comms-notifications', 'Bad Request', 'the body is not a commsNotifications object with a value array');
      }
      const headers: Record<string, string> = {};
      for (const name of ['client-request-id', 'request-id', 'scenario-id', 'x-microsoft-skype-message-id']) {
        const value = header(name);
        if (value) headers[name] = value;
      }
      try {
        await options.sink({ body: parsed as WebhookDelivery['body'], rawBody: raw, receivedAt: now(), claims: auth.claims, headers });
      } catch (error) {
        if ((error as { code?: string }).code === 'SWB_DECODE') {
          // the message may quote the bad value (a 900 KB changeType): a prefix is enough to act on
          const path = (error as { path?: unknown }).path;
          return problem(400, 'malformed-notification', 'Bad Request', clip(String((error as Error).message), MESSAGE_LIMIT), {}, typeof path === 'string' ? { path: clip(path, MESSAGE_LIMIT) } : {});
        }
        log.error({ code: (error as { code?: string }).code, err: clip(String((error as Error).message), MESSAGE_LIMIT) }, 'webhook sink failed; Graph will deliver again');
        return problem(503, 'not-persisted', 'Service Unavailable', 'the notification could not be stored; deliver it again', { 'retry-after': '1' });
      }
      return { status: 202, headers: {}, body: '' };
    } catch (error) {
      log.error({ err: clip(String((error as Error).message), MESSAGE_LIMIT) }, 'webhook failed unexpectedly');
      return problem(500, 'internal', 'Internal Server Error', 'the webhook failed');
    }
  }

  return {
    keys,
    async fetch(request) {
      const body = new StreamBody(request.body, performance.now() + bodyTimeoutMs);
      const answer = await handle(request.method.toUpperCase(), (n) => request.headers.get(n), body);
      let headers = answer.headers;
      // Answered before the body ended (405, 401, 413 ...): a Fetch handler cannot answer and
      // go on reading, and a server that closes under a sender still writing may reset the
      // connection before the sender read the answer. So the rest of the body is read and
      // thrown away first, within the body's deadline and maxDiscardBytes (not at all when its
      // declared length is past those); otherwise the answer says the connection closes.
      if (!(await body.discard(maxDiscard, declaredLength(request.headers.get('content-length'))))) {
        headers = { ...headers, connection: 'close' };
        body.abandon(ANSWER_GRACE_MS);
      }
      return new Response(answer.body === '' ? null : answer.body, { status: answer.status, headers });
    },
    async node(req, res) {
      const deadline = performance.now() + bodyTimeoutMs;
      const answer = await handle((req.method ?? 'GET').toUpperCase(), (n) => nodeHeader(req, n), { read: (limit) => readNode(req, limit, deadline) });
      try {
        if (req.complete || req.destroyed) res.writeHead(answer.status, answer.headers).end(answer.body || undefined);
        else answerThenDiscard(req, res, answer, deadline, maxDiscard, declaredLength(nodeHeader(req, 'content-length')));
      } catch {
        // the client went away
      }
    },
  };
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** A header as a Fetch `Headers` gives it: repeated ones joined with ", " (node:http keeps only the first of some). */
function nodeHeader(req: IncomingMessage, name: string): string | null {
  const values = req.headersDistinct[name];
  return values && values.length > 0 ? values.join(', ') : null;
}

/** A declared Content-Length, or NaN when there is none (chunked) or it is not one number. */
function declaredLength(header: string | null): number {
  return header !== null && /^\d+$/.test(header.trim()) ? Number(header) : Number.NaN;
}

/** At most `max` characters of a sender's text, saying how long the whole was. */
function clip(text: string, max = ECHO_LIMIT): string {
  return text.length <= max ? text : `${text.slice(0, max)}... (${text.length} characters)`;
}

/**
 * Answers a request whose body has not ended (refused before or while reading it), without
 * letting it hold the connection: the whole answer goes out at once (with `connection: close`
 * and its length, so the sender has all of it), then what is still arriving is read and thrown
 * away, up to `maxDiscard` bytes. The connection closes when the body ends, or at the body's
 * deadline (the sender then gets `ANSWER_GRACE_MS` more to read an answer given at the
 * deadline). Closing while the sender's bytes still arrive makes the kernel reset the
 * connection, and a reset can discard the answer before the sender read it: that is why the
 * rest is read rather than left, and why past `maxDiscard` reading stops (the sender's writes
 * then block) instead of the socket being destroyed at once. A body declared longer than
 * `maxDiscard` is not read at all: it would not end within it anyway.
 */
function answerThenDiscard(req: IncomingMessage, res: ServerResponse, answer: Answer, deadline: number, maxDiscard: number, declared: number): void {
  const body = Buffer.from(answer.body);
  res.writeHead(answer.status, { ...answer.headers, connection: 'close', 'content-length': String(body.length) });
  if (body.length > 0) res.write(body);
  else res.flushHeaders();
  let thrown = 0;
  let finished = false;
  const finish = (ended: boolean) => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    req.off('data', onData);
    req.off('end', onEnd);
    req.off('error', onGone);
    req.off('close', onGone);
    res.end();
    // the body ended: node closes the connection once the answer is flushed (`connection: close`)
    if (!ended) req.socket?.destroy();
  };
  const onData = (chunk: Buffer) => {
    thrown += chunk.length;
    if (thrown > maxDiscard) {
      req.off('data', onData);
      req.pause();
    }
  };
  const onEnd = () => finish(true);
  const onGone = () => finish(false);
  const timer = setTimeout(onGone, Math.max(deadline - performance.now(), ANSWER_GRACE_MS));
  timer.unref();
  req.once('end', onEnd);
  req.once('error', onGone);
  req.once('close', onGone);
  if (declared > maxDiscard) {
    req.pause();
    return;
  }
  req.on('data', onData);
  req.resume();
}

function problem(status: number, type: string, title: string, detail: string, headers: Record<string, string> = {}, extra: Record<string, unknown> = {}): Answer {
  return {
    status,
    headers: { 'content-type': 'application/problem+json', ...headers },
    body: JSON.stringify({ type: `urn:switchboard:webhook:${type}`, title, status, detail, ...extra }),
  };
}

type ReadResult = Awaited<ReturnType<ReadableStreamDefaultReader<Uint8Array>['read']>>;

/**
 * A Fetch request's body, read by a deadline. A read still pending at the deadline is kept for
 * the next call, so `discard` can go on where `read` stopped.
 */
class StreamBody implements BodySource {
  readonly #stream: ReadableStream<Uint8Array> | null;
  readonly #deadline: number;
  #reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  #pending: Promise<ReadResult | 'error'> | undefined;
  #ended: boolean;
  /** Bytes read so far. */
  #size = 0;

  constructor(stream: ReadableStream<Uint8Array> | null, deadline: number) {
    this.#stream = stream;
    this.#deadline = deadline;
    this.#ended = stream === null;
  }

  async read(limit: number): Promise<BodyRead> {
    const chunks: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      const next = await this.#next();
      if (next === 'timeout') return 'timeout';
      if (next === 'error') return 'aborted';
      if (next.done) return Buffer.concat(chunks);
      size += next.value.byteLength;
      this.#size += next.value.byteLength;
      if (size > limit) return 'too-large';
      chunks.push(next.value);
    }
  }

  /**
   * Reads and throws away the rest, at most `max` more bytes, by the deadline; nothing when the
   * declared length says more than `max` are still to come. True when the body ended.
   */
  async discard(max: number, declared: number): Promise<boolean> {
    if (this.#ended) return true;
    if (declared - this.#size > max) return false;
    let thrown = 0;
    while (!this.#ended) {
      const next = await this.#next();
      if (next === 'timeout' || next === 'error') return false;
      if (next.done) return true;
      thrown += next.value.byteLength;
      if (thrown > max) return false;
    }
    return true;
  }

  /** Lets go of a body nobody will read: cancelled after `ms`, once the answer is on its way. */
  abandon(ms: number): void {
    const reader = this.#reader;
    if (this.#ended || !reader) return;
    setTimeout(() => void reader.cancel().catch(() => {}), ms).unref();
  }

  async #next(): Promise<ReadResult | 'error' | 'timeout'> {
    if (this.#ended || !this.#stream) return { done: true, value: undefined };
    this.#reader ??= this.#stream.getReader();
    const pending = (this.#pending ??= this.#reader.read().then(
      (result) => {
        this.#pending = undefined;
        if (result.done) this.#ended = true;
        return result;
      },
      () => {
        this.#pending = undefined;
        this.#ended = true;
        return 'error' as const;
      },
    ));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), Math.max(0, this.#deadline - performance.now()));
    });
    try {
      return await Promise.race([pending, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

function readNode(req: IncomingMessage, limit: number, deadline: number): Promise<BodyRead> {
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
    const onEnd = () => done(Buffer.concat(chunks));
    // the sender reset the connection or closed it before the body ended
    const onAbort = () => done('aborted');
    const onClose = () => {
      if (!req.complete) done('aborted');
    };
    const timer = setTimeout(
      () => {
        req.pause();
        done('timeout');
      },
      Math.max(0, deadline - performance.now()),
    );
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
