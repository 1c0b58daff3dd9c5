import { randomUUID } from 'node:crypto';
import { Agent, request, type Dispatcher } from 'undici';
import { SwitchboardError, type CommandName } from '@switchboard/core';
import { createMsalTokenProvider, type GetToken, type MsalTokenProviderOptions } from './auth.js';
import { COMMAND_ROUTES, isCommandName } from './commands.js';
import { GraphError, RequestValidationError, codeForStatus, type GraphErrorCode } from './errors.js';
import { silentGraphLogger, type GraphLogger } from './logger.js';
import { buildCreateCall, type CreateCallSpec } from './builders.js';
import { validateCommandBody } from './validate.js';
import type {
  AddLargeGalleryViewBody,
  AnswerBody,
  AudioRoutingGroupBody,
  CallRequestBody,
  ChangeScreenSharingRoleBody,
  ClientContextBody,
  GraphObject,
  InviteBody,
  MuteAllBody,
  PlayPromptBody,
  RecordResponseBody,
  RedirectBody,
  RejectBody,
  SendDtmfTonesBody,
  StartHoldMusicBody,
  SubscribeToToneBody,
  TeleconferenceDeviceQualityBody,
  TransferBody,
  UpdateRecordingStatusBody,
} from './types.js';

/** Retry policy. Delays are ms. */
export interface RetryOptions {
  /** Most HTTP attempts per command, the first included (default 5). A 401's single refresh-and-retry is extra. */
  readonly maxAttempts?: number;
  /** First backoff ceiling (default 500 ms); attempt n waits random() × min(maxDelayMs, baseDelayMs × 2^(n-1)). */
  readonly baseDelayMs?: number;
  /** Backoff ceiling (default 30 s). */
  readonly maxDelayMs?: number;
  /** Longest `Retry-After` honoured (default 120 s); a longer one ends the retries. */
  readonly maxRetryAfterMs?: number;
}

/** Options of {@link createGraphClient}. Give `auth` or `getToken`. */
export interface GraphClientOptions {
  /** Default `https://graph.microsoft.com`; the simulator's URL in tests. */
  readonly baseUrl?: string;
  /** Default `v1.0`. */
  readonly apiVersion?: 'v1.0' | 'beta';
  /** Beta only: `/beta/app/calls` (`app`, the older beta pages) or `/beta/communications/calls` (default). */
  readonly betaPathStyle?: 'app' | 'communications';
  /** Client-credentials auth through MSAL (see {@link createMsalTokenProvider}). */
  readonly auth?: MsalTokenProviderOptions;
  /** Or any token source. */
  readonly getToken?: GetToken;
  /**
   * The undici dispatcher for Graph requests; default a private `Agent` closed by `close()`. It
   * must call the handler's `onConnect` (or `onRequestStart`) before writing, as undici's own
   * dispatchers do: that is how the client tells a request that never left from one Graph may
   * have acted on.
   */
  readonly dispatcher?: Dispatcher;
  readonly retry?: RetryOptions;
  /** Overall budget of one command, all attempts and waits included (default 60 s). */
  readonly deadlineMs?: number;
  /** Budget of one HTTP attempt (default 30 s). */
  readonly attemptTimeoutMs?: number;
  /** Clock for deadlines and HTTP-date `Retry-After` (default `Date.now`). */
  readonly now?: () => number;
  /** Waits between attempts (default a timer); must reject when `signal` aborts. */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** [0, 1) for jitter (default `Math.random`). */
  readonly random?: () => number;
  /** New `client-request-id`s (default `crypto.randomUUID`). */
  readonly newClientRequestId?: () => string;
  readonly logger?: GraphLogger;
  /**
   * Accept `http://127.0.0.1|localhost|[::1]` callback URIs in create, answer, reject and redirect
   * bodies (a bot under test against the simulator). Default false.
   */
  readonly allowInsecureCallback?: boolean;
  /**
   * Validate every command's body before sending it (default true): create-call bodies with
   * {@link validateCallRequest}, every other command's with {@link validateCommandBody}. An
   * invalid body rejects with a {@link RequestValidationError} (`SWB_INVALID_ARGUMENT`) listing
   * every violation with its JSON path, and nothing is sent (no token is fetched either).
   * `false` sends bodies as given and leaves the checking to Graph's 400. Bodies built from a
   * {@link CreateCallSpec} are always validated. Takes precedence over `validateCreateCall`.
   */
  readonly validateRequests?: boolean;
  /**
   * @deprecated Use `validateRequests`. Kept as its alias: when `validateRequests` is not given,
   * `validateCreateCall: false` turns validation off for every command (it once covered only
   * raw create-call bodies, the only ones validated then).
   */
  readonly validateCreateCall?: boolean;
  readonly userAgent?: string;
}

/** Per-request options of the convenience methods. */
export interface RequestOptions {
  /** Sent as `client-request-id`; default a new uuid. */
  readonly clientRequestId?: string;
  readonly signal?: AbortSignal;
}

/** The parameters of {@link GraphClient.send} (the runtime's `GraphPort`). */
export interface SendParams extends RequestOptions {
  readonly callId?: string;
  readonly participantId?: string;
  readonly body?: unknown;
}

/** Graph's successful answer. */
export interface GraphResult<T = unknown> {
  readonly status: number;
  /** Parsed JSON; `null` when Graph sent no body (202/204). */
  readonly body: T;
  readonly requestId?: string | undefined;
  readonly clientRequestId?: string | undefined;
  /** The `Location` header (a create's call URL). */
  readonly location?: string | undefined;
  /** HTTP attempts made. */
  readonly attempts: number;
}

/** A Graph call resource as returned by create/get (loosely typed). */
export interface CallResource extends GraphObject {
  readonly id: string;
  readonly state?: string;
}

/** A `commsOperation` (or one of its subtypes) as returned by the media and participant actions. */
export interface CommsOperation extends GraphObject {
  readonly id?: string;
  readonly status?: 'notStarted' | 'running' | 'completed' | 'failed';
  readonly clientContext?: string;
}

/** A Graph collection page. */
export interface Collection<T> extends GraphObject {
  readonly value: readonly T[];
}

/**
 * The Graph cloud-communications client. `send` fits the runtime's `GraphPort`; the other methods
 * are typed shorthands for each command. Every method sends a `client-request-id`, retries what is
 * safe to retry, and throws {@link GraphError} (or `SWB_INVALID_ARGUMENT` for bad arguments).
 */
export interface GraphClient {
  /** Sends one command. Errors carry a stable `code`; `SWB_GRAPH_AMBIGUOUS` means Graph may or may not have acted. */
  send(command: CommandName, params: SendParams): Promise<GraphResult>;
  /** The URL `command` goes to (for logs and tests). */
  urlOf(command: CommandName, params?: { readonly callId?: string; readonly participantId?: string }): string;
  /** Creates a call: from a {@link CreateCallSpec} (built and validated) or a raw body (validated unless disabled). */
  createCall(request: CreateCallSpec | CallRequestBody, options?: RequestOptions): Promise<GraphResult<CallResource>>;
  /**
   * The body `createCall` sends for a {@link CreateCallSpec}: {@link buildCreateCall} with this
   * client's options (`allowInsecureCallback`). The runtime uses it to log what it sends.
   */
  buildCreateCall(spec: CreateCallSpec): CallRequestBody;
  getCall(callId: string, options?: RequestOptions): Promise<GraphResult<CallResource>>;
  /** Hangs up (DELETE the call). */
  hangUp(callId: string, options?: RequestOptions): Promise<GraphResult<null>>;
  /** Same as {@link GraphClient.hangUp}. */
  deleteCall(callId: string, options?: RequestOptions): Promise<GraphResult<null>>;
  keepAlive(callId: string, options?: RequestOptions): Promise<GraphResult<null>>;
  answer(callId: string, body: AnswerBody, options?: RequestOptions): Promise<GraphResult<null>>;
  reject(callId: string, body?: RejectBody, options?: RequestOptions): Promise<GraphResult<null>>;
  redirect(callId: string, body: RedirectBody, options?: RequestOptions): Promise<GraphResult<null>>;
  transfer(callId: string, body: TransferBody, options?: RequestOptions): Promise<GraphResult<null>>;
  listParticipants(callId: string, options?: RequestOptions): Promise<GraphResult<Collection<GraphObject>>>;
  invite(callId: string, body: InviteBody, options?: RequestOptions): Promise<GraphResult<CommsOperation>>;
  muteAll(callId: string, body?: MuteAllBody, options?: RequestOptions): Promise<GraphResult<CommsOperation>>;
  muteParticipant(callId: string, participantId: string, body?: ClientContextBody, options?: RequestOptions): Promise<GraphResult<CommsOperation>>;
  deleteParticipant(callId: string, participantId: string, options?: RequestOptions): Promise<GraphResult<null>>;
  createAudioRoutingGroup(callId: string, body: AudioRoutingGroupBody, options?: RequestOptions): Promise<GraphResult<GraphObject>>;
  listAudioRoutingGroups(callId: string, options?: RequestOptions): Promise<GraphResult<Collection<GraphObject>>>;
  addLargeGalleryView(callId: string, body?: AddLargeGalleryViewBody, options?: RequestOptions): Promise<GraphResult<CommsOperation>>;
  playPrompt(callId: string, body: PlayPromptBody, options?: RequestOptions): Promise<GraphResult<CommsOperation>>;
  /** `POST /calls/{id}/recordResponse`. */
  record(callId: string, body: RecordResponseBody, options?: RequestOptions): Promise<GraphResult<CommsOperation>>;
  /** Same as {@link GraphClient.record}. */
  recordResponse(callId: string, body: RecordResponseBody, options?: RequestOptions): Promise<GraphResult<CommsOperation>>;
  cancelMediaProcessing(callId: string, body?: ClientContextBody, options?: RequestOptions): Promise<GraphResult<CommsOperation>>;
  subscribeToTone(callId: string, body?: SubscribeToToneBody, options?: RequestOptions): Promise<GraphResult<CommsOperation>>;
  sendDtmfTones(callId: string, body: SendDtmfTonesBody, options?: RequestOptions): Promise<GraphResult<CommsOperation>>;
  mute(callId: string, body?: ClientContextBody, options?: RequestOptions): Promise<GraphResult<CommsOperation>>;
  unmute(callId: string, body?: ClientContextBody, options?: RequestOptions): Promise<GraphResult<CommsOperation>>;
  changeScreenSharingRole(callId: string, body: ChangeScreenSharingRoleBody, options?: RequestOptions): Promise<GraphResult<null>>;
  updateRecordingStatus(callId: string, body: UpdateRecordingStatusBody, options?: RequestOptions): Promise<GraphResult<CommsOperation>>;
  startRecording(callId: string, body?: ClientContextBody, options?: RequestOptions): Promise<GraphResult<CommsOperation>>;
  stopRecording(callId: string, body?: ClientContextBody, options?: RequestOptions): Promise<GraphResult<CommsOperation>>;
  startTranscription(callId: string, body?: ClientContextBody, options?: RequestOptions): Promise<GraphResult<CommsOperation>>;
  stopTranscription(callId: string, body?: ClientContextBody, options?: RequestOptions): Promise<GraphResult<CommsOperation>>;
  /** `POST /calls/logTeleconferenceDeviceQuality` (a collection action: no call id). */
  logTeleconferenceDeviceQuality(body: TeleconferenceDeviceQualityBody, options?: RequestOptions): Promise<GraphResult<null>>;
  startHoldMusic(callId: string, participantId: string, body?: StartHoldMusicBody, options?: RequestOptions): Promise<GraphResult<CommsOperation>>;
  stopHoldMusic(callId: string, participantId: string, body?: ClientContextBody, options?: RequestOptions): Promise<GraphResult<CommsOperation>>;
  /** Closes the client's own HTTP agent (not a dispatcher passed in). */
  close(): Promise<void>;
}

const ID = /^[^/?#\s]+$/;
const HEADER_SAFE = /^[\x21-\x7e]{1,200}$/;
/** Errors raised before a connection existed: Graph provably did not get the request. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

function invalid(message: string): SwitchboardError {
  return new SwitchboardError('SWB_INVALID_ARGUMENT', message);
}

function errorCode(error: unknown): string | undefined {
  let e: unknown = error;
  for (let depth = 0; depth < 4 && e && typeof e === 'object'; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code !== '') {
      if (NOT_SENT_CODES.has(code)) return code;
      // undici wraps some connect errors; keep looking for a more specific one
      const inner = (e as { cause?: unknown }).cause;
      if (!inner) return code;
      const deeper = errorCode(inner);
      return deeper && NOT_SENT_CODES.has(deeper) ? deeper : code;
    }
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Parses `Retry-After` (delta-seconds or HTTP-date) into ms from `reference`; undefined if absent or malformed. */
export function parseRetryAfter(value: string | undefined, reference: number): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  if (/^\d+\.\d+$/.test(v)) return Math.round(Number(v) * 1000);
  const at = Date.parse(v);
  if (Number.isNaN(at) || !/[a-z]/i.test(v)) return undefined;
  return Math.max(0, at - reference);
}

type Attempt =
  | { readonly kind: 'response'; readonly status: number; readonly headers: Record<string, string>; readonly body: unknown }
  | {
      readonly kind: 'failure';
      /** What ended the attempt: our attempt timeout, the caller's signal, or the network. */
      readonly reason: 'timeout' | 'aborted' | 'network';
      /**
       * False when the request provably never left: it was never handed to a connection
       * (undici calls the handler's `onConnect` just before writing), or the error is one
       * raised before a connection existed (ECONNREFUSED, DNS, connect timeout).
       */
      readonly sent: boolean;
      readonly error: unknown;
      readonly errorCode: string | undefined;
    };

/**
 * The dispatcher, watching for the moment a request is handed to a connection (the handler's
 * `onConnect`, or `onRequestStart` in undici's newer handler API, just before the first byte
 * is written). `written()` is called then, unless the attempt was already aborted (undici then
 * drops the request unwritten).
 */
function observingDispatcher(dispatcher: Dispatcher, signal: AbortSignal, written: () => void): Dispatcher {
  const hook = (target: object, name: 'onConnect' | 'onRequestStart') => {
    const original = (target as Record<string, unknown>)[name];
    if (typeof original !== 'function') return undefined;
    return (...args: unknown[]): unknown => {
      if (!signal.aborted) written();
      return (original as (...a: unknown[]) => unknown).apply(target, args);
    };
  };
  const dispatch = (options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean =>
    dispatcher.dispatch(
      options,
      new Proxy(handler, {
        get(target, key) {
          if (key === 'onConnect' || key === 'onRequestStart') return hook(target, key);
          const value: unknown = Reflect.get(target, key, target);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      }),
    );
  return new Proxy(dispatcher, { get: (target, key) => (key === 'dispatch' ? dispatch : Reflect.get(target, key, target)) });
}

function parseBody(text: string): unknown {
  if (text === '') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/**
 * Creates a {@link GraphClient}.
 *
 * Resilience: `client-request-id` on every request (from the params or a new uuid), echoed in
 * results and errors. 429 — and 503 with `Retry-After` — are retried for every command, waiting
 * `Retry-After` (seconds or HTTP-date, measured from the response's `Date` header when present,
 * otherwise from `now()`), else exponential backoff with full jitter. A request that provably never
 * left (ECONNREFUSED, DNS, a connect timeout, or an attempt timeout or abort before the request
 * reached a connection) is retried for every command and is never ambiguous: when the retries or
 * the deadline run out it fails `SWB_GRAPH_NETWORK` (`SWB_GRAPH_ABORTED` for an abort). Timeouts,
 * resets after sending, 502, 504 and 503 without `Retry-After` are retried only for idempotent
 * commands (get, delete, keepAlive, listParticipants, listAudioRoutingGroups); any other command
 * fails with `SWB_GRAPH_AMBIGUOUS` and is never sent twice. A 401 refreshes the token once and
 * retries. Attempts are bounded by `retry.maxAttempts` and the whole command by `deadlineMs`.
 */
export function createGraphClient(options: GraphClientOptions): GraphClient {
  if (options.auth && options.getToken) throw invalid('createGraphClient: give auth or getToken, not both');
  const tokenSource: GetToken | undefined = options.getToken ?? (options.auth ? createMsalTokenProvider({ ...options.auth, ...(options.logger && !options.auth.logger ? { logger: options.logger } : {}) }).getToken : undefined);
  if (!tokenSource) throw invalid('createGraphClient: auth or getToken is required');
  const getToken: GetToken = tokenSource;
  const apiVersion = options.apiVersion ?? 'v1.0';
  if (apiVersion !== 'v1.0' && apiVersion !== 'beta') throw invalid(`apiVersion must be 'v1.0' or 'beta', not '${String(apiVersion)}'`);
  const baseRaw = options.baseUrl ?? 'https://graph.microsoft.com';
  let base: URL;
  try {
    base = new URL(baseRaw);
  } catch (error) {
    throw new SwitchboardError('SWB_INVALID_ARGUMENT', `baseUrl '${baseRaw}' is not a URL`, { cause: error });
  }
  if (base.protocol !== 'https:' && base.protocol !== 'http:') throw invalid(`baseUrl must be http(s), not ${base.protocol}`);
  const collection = `${base.origin}${base.pathname.replace(/\/+$/, '')}/${apiVersion}${
    apiVersion === 'beta' && options.betaPathStyle === 'app' ? '/app/calls' : '/communications/calls'
  }`;
  const retry = {
    maxAttempts: Math.max(1, Math.floor(options.retry?.maxAttempts ?? 5)),
    baseDelayMs: options.retry?.baseDelayMs ?? 500,
    maxDelayMs: options.retry?.maxDelayMs ?? 30_000,
    maxRetryAfterMs: options.retry?.maxRetryAfterMs ?? 120_000,
  };
  const deadlineMs = options.deadlineMs ?? 60_000;
  const attemptTimeoutMs = options.attemptTimeoutMs ?? 30_000;
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? defaultSleep;
  const random = options.random ?? Math.random;
  const newId = options.newClientRequestId ?? randomUUID;
  const logger = options.logger ?? silentGraphLogger;
  const ownAgent = options.dispatcher ? undefined : new Agent({ keepAliveTimeout: 10_000, connections: 64 });
  const dispatcher: Dispatcher = options.dispatcher ?? ownAgent!;
  const userAgent = options.userAgent ?? 'switchboard-transport';
  const validateRequests = options.validateRequests ?? options.validateCreateCall ?? true;
  const allowInsecureCallback = options.allowInsecureCallback ?? false;

  function urlOf(command: CommandName, params: { readonly callId?: string; readonly participantId?: string } = {}): string {
    if (!isCommandName(command)) throw invalid(`unknown command '${String(command)}'`);
    const route = COMMAND_ROUTES[command];
    const problems: string[] = [];
    let path = route.template;
    for (const [slot, value] of [['{callId}', params.callId], ['{participantId}', params.participantId]] as const) {
      if (!path.includes(slot)) continue;
      const name = slot.slice(1, -1);
      if (typeof value !== 'string' || !ID.test(value)) problems.push(`${command} needs ${name} (a non-empty id without '/', '?', '#' or spaces), got ${JSON.stringify(value)}`);
      else path = path.replace(slot, encodeURIComponent(value));
    }
    if (problems.length > 0) throw invalid(problems.join('; '));
    return collection + path;
  }

  async function attemptOnce(method: string, url: string, headers: Record<string, string>, body: string | undefined, timeoutMs: number, signal: AbortSignal | undefined): Promise<Attempt> {
    const controller = new AbortController();
    let why: 'timeout' | 'aborted' | undefined;
    const timer = setTimeout(() => {
      why ??= 'timeout';
      controller.abort(new Error(`attempt timed out after ${timeoutMs} ms`));
    }, Math.max(1, timeoutMs));
    const onAbort = (): void => {
      why ??= 'aborted';
      controller.abort(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    let written = false;
    // undici keeps an aborted request queued until its connection is up (then drops it
    // unwritten): an attempt aborted before that ends at once instead of waiting for the connect
    let giveUp = (): void => {};
    const unwritten = new Promise<never>((_, reject) => {
      giveUp = () => {
        if (!written) reject(controller.signal.reason);
      };
      controller.signal.addEventListener('abort', giveUp, { once: true });
    });
    try {
      const pending = request(url, {
        method: method as Dispatcher.HttpMethod,
        headers,
        ...(body !== undefined ? { body } : {}),
        dispatcher: observingDispatcher(dispatcher, controller.signal, () => (written = true)),
        signal: controller.signal,
      });
      pending.catch(() => undefined); // it may settle after this attempt gave up on it
      const res = await Promise.race([pending, unwritten]);
      const text = await res.body.text();
      const flat: Record<string, string> = {};
      for (const [k, v] of Object.entries(res.headers)) {
        const value = Array.isArray(v) ? v[0] : v;
        if (value !== undefined) flat[k.toLowerCase()] = value;
      }
      return { kind: 'response', status: res.statusCode, headers: flat, body: parseBody(text) };
    } catch (error) {
      const code = errorCode(error);
      const sent = written && !(code !== undefined && NOT_SENT_CODES.has(code));
      return { kind: 'failure', reason: why ?? 'network', sent, error, errorCode: code };
    } finally {
      clearTimeout(timer);
      controller.signal.removeEventListener('abort', giveUp);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  function errorFromResponse(command: CommandName, a: Extract<Attempt, { kind: 'response' }>, clientRequestId: string, attempts: number, code: GraphErrorCode, cause?: unknown): GraphError {
    const b = a.body;
    const err = b && typeof b === 'object' ? (b as { error?: unknown }).error : undefined;
    const e = err && typeof err === 'object' ? (err as Record<string, unknown>) : {};
    const inner = (e['innerError'] ?? e['innererror']) as Record<string, unknown> | undefined;
    const innerObj = inner && typeof inner === 'object' ? inner : undefined;
    const graphCode = str(e['code']);
    const graphMessage = str(e['message']);
    const requestId = str(a.headers['request-id']) ?? str(innerObj?.['request-id']);
    const date = str(innerObj?.['date']) ?? str(a.headers['date']);
    const prefix = code === 'SWB_GRAPH_AMBIGUOUS' ? 'Graph may or may not have acted: ' : '';
    return new GraphError(code, `${prefix}${command} answered ${a.status}${graphCode ? ` ${graphCode}` : ''}${graphMessage ? `: ${graphMessage}` : ''} (client-request-id ${clientRequestId})`, {
      status: a.status,
      graphCode,
      innerError: inner,
      requestId,
      clientRequestId: str(a.headers['client-request-id']) ?? clientRequestId,
      date,
      command,
      attempts,
      body: b,
      ...(cause !== undefined ? { cause } : {}),
    });
  }

  async function send(command: CommandName, params: SendParams = {}): Promise<GraphResult> {
    const url = urlOf(command, params);
    const route = COMMAND_ROUTES[command];
    if (params.clientRequestId !== undefined && (typeof params.clientRequestId !== 'string' || !HEADER_SAFE.test(params.clientRequestId))) {
      throw invalid('clientRequestId must be 1-200 visible ASCII characters');
    }
    const clientRequestId = params.clientRequestId ?? newId();
    let payload: string | undefined;
    if (params.body !== undefined && params.body !== null && !route.hasBody) throw invalid(`${command} takes no body`);
    if (validateRequests && route.hasBody) {
      // before any token or connection: an invalid body never reaches Graph
      const violations = validateCommandBody(command, params.body, { allowInsecureCallback });
      if (violations.length > 0) throw new RequestValidationError(violations, command === 'create' ? 'create-call request' : `${command} request`);
    }
    if (params.body !== undefined && params.body !== null) {
      try {
        payload = JSON.stringify(params.body);
      } catch (error) {
        throw new SwitchboardError('SWB_INVALID_ARGUMENT', `${command} body is not JSON-serialisable`, { cause: error });
      }
    } else if (route.method === 'POST') {
      payload = route.hasBody ? '{}' : undefined;
    }
    const signal = params.signal;
    const deadline = now() + deadlineMs;
    const log = { command, method: route.method, path: new URL(url).pathname, clientRequestId };
    let attempts = 0;
    let refreshed = false;
    let forceRefresh = false;
    let previous: unknown;

    const aborted = (): GraphError =>
      new GraphError('SWB_GRAPH_ABORTED', `${command} aborted (client-request-id ${clientRequestId})`, { clientRequestId, command, attempts, cause: signal?.reason ?? previous });

    for (;;) {
      if (signal?.aborted) throw aborted();
      const remaining = deadline - now();
      if (remaining <= 0) {
        if (previous instanceof GraphError) throw previous;
        throw new GraphError('SWB_GRAPH_TIMEOUT', `${command} ran past its ${deadlineMs} ms deadline (client-request-id ${clientRequestId})`, { clientRequestId, command, attempts });
      }
      let token: string;
      try {
        token = await getToken({ forceRefresh, signal });
      } catch (error) {
        if (signal?.aborted) throw aborted();
        if (error instanceof GraphError) throw error;
        throw new GraphError('SWB_GRAPH_AUTH', `no token for ${command}: ${(error as Error).message ?? String(error)}`, { clientRequestId, command, attempts, cause: error });
      }
      forceRefresh = false;
      attempts++;
      const headers: Record<string, string> = {
        authorization: `Bearer ${token}`,
        accept: 'application/json',
        'client-request-id': clientRequestId,
        'return-client-request-id': 'true',
        'user-agent': userAgent,
        ...(payload !== undefined ? { 'content-type': 'application/json' } : {}),
      };
      const startedAt = Date.now();
      const a = await attemptOnce(route.method, url, headers, payload, Math.min(attemptTimeoutMs, Math.max(1, deadline - now())), signal);
      const elapsedMs = Date.now() - startedAt;

      let retryable = false;
      let delay: number | undefined;
      let failure: GraphError;
      if (a.kind === 'response') {
        if (a.status >= 200 && a.status < 300) {
          logger.debug({ ...log, attempt: attempts, status: a.status, elapsedMs }, 'graph request');
          return {
            status: a.status,
            body: a.body,
            requestId: str(a.headers['request-id']),
            clientRequestId: str(a.headers['client-request-id']) ?? clientRequestId,
            location: str(a.headers['location']),
            attempts,
          };
        }
        logger.info({ ...log, attempt: attempts, status: a.status, elapsedMs }, 'graph request failed');
        if (a.status === 401 && !refreshed) {
          refreshed = true;
          forceRefresh = true;
          attempts--; // the refresh-and-retry does not use up an attempt
          previous = errorFromResponse(command, a, clientRequestId, attempts + 1, 'SWB_GRAPH_UNAUTHORIZED');
          continue;
        }
        const retryAfterHeader = a.headers['retry-after'];
        const serverDate = a.headers['date'] ? Date.parse(a.headers['date']) : Number.NaN;
        const retryAfter = parseRetryAfter(retryAfterHeader, Number.isNaN(serverDate) ? now() : serverDate);
        const ambiguousStatus = a.status === 502 || a.status === 504 || (a.status === 503 && retryAfter === undefined);
        if (a.status === 429 || (a.status === 503 && retryAfter !== undefined)) {
          retryable = true;
          delay = retryAfter;
          failure = errorFromResponse(command, a, clientRequestId, attempts, a.status === 429 ? 'SWB_GRAPH_THROTTLED' : 'SWB_GRAPH_HTTP', previous);
        } else if (ambiguousStatus) {
          if (route.idempotent) {
            retryable = true;
            failure = errorFromResponse(command, a, clientRequestId, attempts, 'SWB_GRAPH_HTTP', previous);
          } else {
            throw errorFromResponse(command, a, clientRequestId, attempts, 'SWB_GRAPH_AMBIGUOUS', previous);
          }
        } else if (a.status === 500 && route.idempotent) {
          retryable = true;
          failure = errorFromResponse(command, a, clientRequestId, attempts, 'SWB_GRAPH_HTTP', previous);
        } else {
          throw errorFromResponse(command, a, clientRequestId, attempts, codeForStatus(a.status), previous);
        }
      } else {
        logger.info({ ...log, attempt: attempts, reason: a.reason, sent: a.sent, errorCode: a.errorCode, elapsedMs }, 'graph request failed');
        const detail = `${a.sent ? a.reason : a.reason === 'network' ? 'not sent' : `${a.reason} before connecting`}${a.errorCode ? ` ${a.errorCode}` : ''}`;
        const base = { clientRequestId, command, attempts, cause: a.error };
        if (a.reason === 'aborted') {
          if (route.idempotent || !a.sent) throw aborted();
          throw new GraphError('SWB_GRAPH_AMBIGUOUS', `Graph may or may not have acted: ${command} was aborted in flight (client-request-id ${clientRequestId})`, base);
        }
        if (!a.sent) {
          retryable = true;
          // an idempotent command out of time is a timeout whether or not its last attempt got out
          const code = route.idempotent && a.reason === 'timeout' ? 'SWB_GRAPH_TIMEOUT' : 'SWB_GRAPH_NETWORK';
          failure = new GraphError(code, `${command} could not reach Graph (${detail}; client-request-id ${clientRequestId})`, base);
        } else if (!route.idempotent) {
          throw new GraphError('SWB_GRAPH_AMBIGUOUS', `Graph may or may not have acted: ${command} failed after sending (${detail}; client-request-id ${clientRequestId})`, base);
        } else {
          retryable = true;
          failure = new GraphError(a.reason === 'timeout' ? 'SWB_GRAPH_TIMEOUT' : 'SWB_GRAPH_NETWORK', `${command} failed (${detail}; client-request-id ${clientRequestId})`, base);
        }
      }

      if (!retryable || attempts >= retry.maxAttempts) throw failure;
      if (delay === undefined) {
        delay = Math.floor(random() * Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (attempts - 1)));
      } else if (delay > retry.maxRetryAfterMs) {
        logger.warn({ ...log, attempt: attempts, retryAfterMs: delay }, 'Retry-After beyond the longest wait; giving up');
        throw failure;
      }
      if (now() + delay >= deadline) {
        logger.warn({ ...log, attempt: attempts, delayMs: delay }, 'the next retry would pass the deadline; giving up');
        throw failure;
      }
      logger.warn({ ...log, attempt: attempts, status: failure.status, code: failure.code, delayMs: delay }, 'retrying graph request');
      previous = failure;
      try {
        await sleep(delay, signal);
      } catch {
        throw aborted();
      }
    }
  }

  const call = <T>(command: CommandName, params: SendParams): Promise<GraphResult<T>> => send(command, params) as Promise<GraphResult<T>>;
  const opts = (o: RequestOptions | undefined): RequestOptions => ({
    ...(o?.clientRequestId !== undefined ? { clientRequestId: o.clientRequestId } : {}),
    ...(o?.signal !== undefined ? { signal: o.signal } : {}),
  });
  const withBody = (body: unknown): { body?: unknown } => (body === undefined ? {} : { body });

  return {
    send,
    urlOf,
    createCall(requestOrSpec, o) {
      let body: CallRequestBody;
      // a raw body has mediaConfig; a spec has kind (and media). A raw body is validated by send.
      if (!('mediaConfig' in requestOrSpec) && 'kind' in requestOrSpec) {
        body = buildCreateCall(requestOrSpec as CreateCallSpec, { allowInsecureCallback });
      } else {
        body = requestOrSpec as CallRequestBody;
      }
      return call('create', { body, ...opts(o) });
    },
    buildCreateCall: (spec) => buildCreateCall(spec, { allowInsecureCallback }),
    getCall: (callId, o) => call('get', { callId, ...opts(o) }),
    hangUp: (callId, o) => call('delete', { callId, ...opts(o) }),
    deleteCall: (callId, o) => call('delete', { callId, ...opts(o) }),
    keepAlive: (callId, o) => call('keepAlive', { callId, ...opts(o) }),
    answer: (callId, body, o) => call('answer', { callId, body, ...opts(o) }),
    reject: (callId, body, o) => call('reject', { callId, ...withBody(body), ...opts(o) }),
    redirect: (callId, body, o) => call('redirect', { callId, body, ...opts(o) }),
    transfer: (callId, body, o) => call('transfer', { callId, body, ...opts(o) }),
    listParticipants: (callId, o) => call('listParticipants', { callId, ...opts(o) }),
    invite: (callId, body, o) => call('invite', { callId, body, ...opts(o) }),
    muteAll: (callId, body, o) => call('muteAll', { callId, ...withBody(body), ...opts(o) }),
    muteParticipant: (callId, participantId, body, o) => call('muteParticipant', { callId, participantId, ...withBody(body), ...opts(o) }),
    deleteParticipant: (callId, participantId, o) => call('deleteParticipant', { callId, participantId, ...opts(o) }),
    createAudioRoutingGroup: (callId, body, o) => call('createAudioRoutingGroup', { callId, body, ...opts(o) }),
    listAudioRoutingGroups: (callId, o) => call('listAudioRoutingGroups', { callId, ...opts(o) }),
    addLargeGalleryView: (callId, body, o) => call('addLargeGalleryView', { callId, ...withBody(body), ...opts(o) }),
    playPrompt: (callId, body, o) => call('playPrompt', { callId, body, ...opts(o) }),
    record: (callId, body, o) => call('record', { callId, body, ...opts(o) }),
    recordResponse: (callId, body, o) => call('record', { callId, body, ...opts(o) }),
    cancelMediaProcessing: (callId, body, o) => call('cancelMediaProcessing', { callId, ...withBody(body), ...opts(o) }),
    subscribeToTone: (callId, body, o) => call('subscribeToTone', { callId, ...withBody(body), ...opts(o) }),
    sendDtmfTones: (callId, body, o) => call('sendDtmfTones', { callId, body, ...opts(o) }),
    mute: (callId, body, o) => call('mute', { callId, ...withBody(body), ...opts(o) }),
    unmute: (callId, body, o) => call('unmute', { callId, ...withBody(body), ...opts(o) }),
    changeScreenSharingRole: (callId, body, o) => call('changeScreenSharingRole', { callId, body, ...opts(o) }),
    updateRecordingStatus: (callId, body, o) => call('updateRecordingStatus', { callId, body, ...opts(o) }),
    startRecording: (callId, body, o) => call('startRecording', { callId, ...withBody(body), ...opts(o) }),
    stopRecording: (callId, body, o) => call('stopRecording', { callId, ...withBody(body), ...opts(o) }),
    startTranscription: (callId, body, o) => call('startTranscription', { callId, ...withBody(body), ...opts(o) }),
    stopTranscription: (callId, body, o) => call('stopTranscription', { callId, ...withBody(body), ...opts(o) }),
    logTeleconferenceDeviceQuality: (body, o) => call('logTeleconferenceDeviceQuality', { body, ...opts(o) }),
    startHoldMusic: (callId, participantId, body, o) => call('startHoldMusic', { callId, participantId, ...withBody(body), ...opts(o) }),
    stopHoldMusic: (callId, participantId, body, o) => call('stopHoldMusic', { callId, participantId, ...withBody(body), ...opts(o) }),
    async close() {
      await ownAgent?.close();
    },
  };
}
