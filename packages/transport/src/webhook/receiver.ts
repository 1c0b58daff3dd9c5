import type { IncomingMessage, ServerResponse } from 'node:http';
import type { JWTPayload } from 'jose';
import { SwitchboardError, silentLogger, type Logger } from '@switchboard/core';
import { ANSWER_GRACE_MS, MESSAGE_LIMIT, answerThenDiscard, clip, problem, type Answer } from './answers.js';
import { StreamBody, declaredLength, nodeBody, type BodySource } from './body.js';
import { WEBHOOK_DEFAULTS } from './defaults.js';
import { KeySet } from './keys.js';
import { tokenCheck } from './verify.js';

export { DEFAULT_MAX_TOKEN_LIFETIME_SECONDS } from './defaults.js';

/** What the webhook hands the sink: the whole batch, persisted by the sink before 202. */
export interface WebhookDelivery {
  /** The parsed `commsNotifications` body. */
  readonly body: { readonly value: readonly unknown[]; readonly [key: string]: unknown };
  readonly rawBody: string;
  /** When it was received (ms), from the receiver's clock. */
  readonly receivedAt: number;
  /** The verified token's claims; null only when verification is explicitly disabled. */
  readonly claims: JWTPayload | null;
  readonly headers: {
    readonly 'client-request-id'?: string;
    readonly 'request-id'?: string;
    readonly 'scenario-id'?: string;
    readonly 'x-microsoft-skype-message-id'?: string;
  };
}

/**
 * The webhook receiver's logger: core's `Logger` (pino-compatible).
 * @deprecated Use `Logger` from `@switchboard/core`.
 */
export type WebhookLogger = Logger;

export interface WebhookReceiverOptions {
  /** The bot's app id: the audience every token must name. */
  readonly appId: string;
  /** Persist the delivery; the receiver answers 202 only after this resolved. */
  readonly sink: (delivery: WebhookDelivery) => Promise<void>;
  /** Default `WEBHOOK_DEFAULTS.openIdConfigurationUrl` (`https://api.aps.skype.com/v1/.well-known/OpenIdConfiguration`). */
  readonly openIdConfigurationUrl?: string;
  /** Accepted issuers; default `WEBHOOK_DEFAULTS.issuers` (`['https://api.botframework.com']`). */
  readonly issuers?: readonly string[];
  /** Tolerated clock difference for exp/nbf/iat, seconds (default `WEBHOOK_DEFAULTS.clockSkewSeconds`). */
  readonly clockSkewSeconds?: number;
  /**
   * The longest a token may be valid, seconds: `exp` minus the earlier of `iat` and `nbf`
   * (minus now when it has neither). Default `WEBHOOK_DEFAULTS.maxTokenLifetimeSeconds`.
   */
  readonly maxTokenLifetimeSeconds?: number;
  /** Bodies past this many bytes are refused with 413 while they stream in (default `WEBHOOK_DEFAULTS.maxBodyBytes`). */
  readonly maxBodyBytes?: number;
  /**
   * A body not fully received this long after its headers is refused with 408 and its
   * connection closed (default `WEBHOOK_DEFAULTS.bodyTimeoutMs`): a slow sender cannot hold a connection open. The same
   * bound holds for the rest of a body the receiver refused before reading it.
   */
  readonly bodyTimeoutMs?: number;
  /**
   * When the receiver refuses a request whose body is still arriving (405, 401, 413 ...), it
   * reads and throws away up to this many more bytes of it, within `bodyTimeoutMs`, so that an
   * honest sender still writing can read the answer; past that it stops reading and closes the
   * connection. Default `WEBHOOK_DEFAULTS.maxDiscardBytes`.
   */
  readonly maxDiscardBytes?: number;
  /** `'disabled-insecure'` turns token verification off, loudly. Default `'enabled'`. */
  readonly verification?: 'enabled' | 'disabled-insecure';
  /** Fewest ms between key refreshes caused by unknown kids (default `WEBHOOK_DEFAULTS.minKeyRefreshIntervalMs`). */
  readonly minKeyRefreshIntervalMs?: number;
  readonly logger?: Logger;
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
 * The webhook Graph posts call notifications to. Every POST is authenticated (the Bearer JWT
 * against Graph's published keys, issuer, audience, expiry); bad input gets a 4xx with a
 * problem body and changes nothing; a good batch goes to the sink whole, and 202 is answered
 * only after the sink resolved (503 when it failed, so Graph delivers again). Every limit not
 * given is {@link WEBHOOK_DEFAULTS}'s.
 *
 * It does not decode the notifications (the sink does, and a `SWB_DECODE` error from it is
 * answered 400) and does not deduplicate them: a redelivery reaches the sink again.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 * import { createWebhookReceiver } from '@switchboard/transport';
 *
 * const webhook = createWebhookReceiver({
 *   appId: process.env.APP_ID!, // the audience of Graph's tokens
 *   // resolves once the batch is persisted: only then the answer is 202
 *   sink: (delivery) => switchboard.sink({ body: delivery.body, receivedAt: delivery.receivedAt }),
 *   bodyTimeoutMs: 5_000, // every other limit: WEBHOOK_DEFAULTS
 * });
 * createServer((req, res) => void webhook.node(req, res)).listen(8443);
 * // or, in a Fetch-standard framework: app.post('/api/calls', (c) => webhook.fetch(c.req.raw))
 * ```
 */
export function createWebhookReceiver(options: WebhookReceiverOptions): WebhookReceiver {
  if (!options?.appId) throw new SwitchboardError('SWB_INVALID_ARGUMENT', 'createWebhookReceiver needs the bot appId (the token audience)');
  if (typeof options.sink !== 'function') throw new SwitchboardError('SWB_INVALID_ARGUMENT', 'createWebhookReceiver needs a sink');
  const now = options.now ?? Date.now;
  const log = options.logger ?? silentLogger;
  const maxBody = options.maxBodyBytes ?? WEBHOOK_DEFAULTS.maxBodyBytes;
  const bodyTimeoutMs = options.bodyTimeoutMs ?? WEBHOOK_DEFAULTS.bodyTimeoutMs;
  if (!(bodyTimeoutMs > 0))
    throw new SwitchboardError('SWB_INVALID_ARGUMENT', `bodyTimeoutMs must be positive, got ${String(options.bodyTimeoutMs)}`);
  const maxDiscard = options.maxDiscardBytes ?? WEBHOOK_DEFAULTS.maxDiscardBytes;
  if (!(maxDiscard >= 0))
    throw new SwitchboardError('SWB_INVALID_ARGUMENT', `maxDiscardBytes must be zero or more, got ${String(options.maxDiscardBytes)}`);
  const maxLifetime = options.maxTokenLifetimeSeconds ?? WEBHOOK_DEFAULTS.maxTokenLifetimeSeconds;
  if (!(maxLifetime > 0))
    throw new SwitchboardError(
      'SWB_INVALID_ARGUMENT',
      `maxTokenLifetimeSeconds must be positive, got ${String(options.maxTokenLifetimeSeconds)}`,
    );
  const verify = (options.verification ?? 'enabled') === 'enabled';
  if (!verify)
    log.warn(
      { appId: options.appId },
      'WEBHOOK TOKEN VERIFICATION IS DISABLED: anyone who can reach this endpoint can forge call notifications',
    );
  const keys = new KeySet({
    openIdConfigurationUrl: options.openIdConfigurationUrl ?? WEBHOOK_DEFAULTS.openIdConfigurationUrl,
    now,
    ...(options.minKeyRefreshIntervalMs !== undefined ? { minRefreshIntervalMs: options.minKeyRefreshIntervalMs } : {}),
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  const authenticate = tokenCheck({
    appId: options.appId,
    issuers: options.issuers ?? WEBHOOK_DEFAULTS.issuers,
    clockSkewSeconds: options.clockSkewSeconds ?? WEBHOOK_DEFAULTS.clockSkewSeconds,
    maxTokenLifetimeSeconds: maxLifetime,
    verify,
    keys,
    now,
    log,
  });

  async function handle(method: string, header: (name: string) => string | null, body: BodySource): Promise<Answer> {
    try {
      if (method !== 'POST') return problem(405, 'method-not-allowed', 'Method Not Allowed', 'the webhook takes POST', { allow: 'POST' });
      const auth = await authenticate(header('authorization'));
      if ('status' in auth) return auth;
      const type = (header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
      if (type !== 'application/json' && !type.endsWith('+json')) {
        return problem(
          415,
          'unsupported-media-type',
          'Unsupported Media Type',
          `expected application/json, got '${clip(type) || 'nothing'}'`,
        );
      }
      const declared = Number(header('content-length') ?? Number.NaN);
      if (Number.isFinite(declared) && declared > maxBody)
        return problem(413, 'too-large', 'Payload Too Large', `the body is over ${maxBody} bytes`);
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
          return problem(
            400,
            'malformed-notification',
            'Bad Request',
            clip(String((error as Error).message), MESSAGE_LIMIT),
            {},
            typeof path === 'string' ? { path: clip(path, MESSAGE_LIMIT) } : {},
          );
        }
        const code = (error as { code?: string }).code;
        const fields = { code, err: clip(String((error as Error).message), MESSAGE_LIMIT) };
        // a switchboard that is stopping refuses deliveries: Graph delivers them again, to
        // this instance once restarted or to another; no failure
        if (code === 'SWB_STOPPED') log.info(fields, 'webhook delivery refused while stopping; Graph will deliver again');
        else log.error(fields, 'webhook sink failed; Graph will deliver again');
        return problem(503, 'not-persisted', 'Service Unavailable', 'the notification could not be stored; deliver it again', {
          'retry-after': '1',
        });
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
      const answer = await handle((req.method ?? 'GET').toUpperCase(), (n) => nodeHeader(req, n), nodeBody(req, deadline));
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
