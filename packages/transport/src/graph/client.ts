import { randomUUID } from 'node:crypto';
import { Agent, type Dispatcher } from 'undici';
import {
  COMMAND_NAMES,
  COMMANDS,
  SwitchboardError,
  silentLogger,
  type CommandBodyArgs,
  type CommandName,
  type CommandResponse,
  type CommandTargetArgs,
  type GraphPort,
  type Logger,
  type SendParams,
} from '@switchboard/core';
import { createMsalTokenProvider, type GetToken, type MsalTokenProviderOptions } from './auth.js';
import { buildCreateCall, type CreateCallSpec } from './builders.js';
import { COMMAND_ROUTES, isCommandName } from './commands.js';
import { GRAPH_CLIENT_DEFAULTS } from './defaults.js';
import { RequestValidationError } from './errors.js';
import { retryLimits, type RetryOptions } from './retry.js';
import { sendCommand, timerSleep, type GraphResult, type SendContext } from './send.js';
import type { CallRequestBody, GraphObject, RecordResponseBody } from './types.js';
import { validateCommandBody } from './validate.js';

/** Options of {@link createGraphClient}. Give `auth` or `getToken`. */
export interface GraphClientOptions {
  /** Default `GRAPH_CLIENT_DEFAULTS.baseUrl` (`https://graph.microsoft.com`); the simulator's URL in tests. */
  readonly baseUrl?: string;
  /** Default `GRAPH_CLIENT_DEFAULTS.apiVersion` (`v1.0`). */
  readonly apiVersion?: 'v1.0' | 'beta';
  /** Beta only: `/beta/app/calls` (`app`, the older beta pages) or `/beta/communications/calls` (default). */
  readonly betaPathStyle?: 'app' | 'communications';
  /** Client-credentials auth through MSAL (see {@link createMsalTokenProvider}). */
  readonly auth?: MsalTokenProviderOptions;
  /** Or any token source. */
  readonly getToken?: GetToken;
  /**
   * The undici dispatcher for Graph requests; default a private `Agent` closed by `close()`
   * (`GRAPH_CLIENT_DEFAULTS.keepAliveTimeoutMs` and `.connections`). It
   * must call the handler's `onConnect` (or `onRequestStart`) before writing, as undici's own
   * dispatchers do: that is how the client tells a request that never left from one Graph may
   * have acted on.
   */
  readonly dispatcher?: Dispatcher;
  readonly retry?: RetryOptions;
  /** Overall budget of one command, ms, all attempts and waits included (default `GRAPH_CLIENT_DEFAULTS.deadlineMs`). */
  readonly deadlineMs?: number;
  /** Budget of one HTTP attempt, ms (default `GRAPH_CLIENT_DEFAULTS.attemptTimeoutMs`). */
  readonly attemptTimeoutMs?: number;
  /** Clock for deadlines and HTTP-date `Retry-After` (default `Date.now`). */
  readonly now?: () => number;
  /** Waits between attempts (default a timer); must reject when `signal` aborts. */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** [0, 1) for jitter (default `Math.random`). */
  readonly random?: () => number;
  /** New `client-request-id`s (default `crypto.randomUUID`). */
  readonly newClientRequestId?: () => string;
  readonly logger?: Logger;
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

/** Per-request options of the convenience methods: `client-request-id` (default a new uuid) and an abort signal. */
export type RequestOptions = Pick<SendParams, 'clientRequestId' | 'signal'>;

/** The parameters of {@link GraphClient.send}: core's `SendParams` (the `GraphPort`'s). */
export type { SendParams };

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

/** The commands with a method of their own name on the client (`create`, `get` and `delete` are `createCall`, `getCall` and `hangUp`). */
export type GraphClientCommand = Exclude<CommandName, 'create' | 'get' | 'delete'>;

/**
 * One method per row of the command table: the ids the path needs (none, the call's, or the
 * call's and the participant's), the body when the command has one, and the request options.
 */
export type GraphCommandMethods = {
  readonly [C in GraphClientCommand]: (
    ...args: [...CommandTargetArgs<C>, ...CommandBodyArgs<C>, options?: RequestOptions]
  ) => Promise<GraphResult<CommandResponse<C>>>;
};

/**
 * The Graph cloud-communications client. `send` fits the runtime's `GraphPort`; the other methods
 * are typed shorthands for each command. Every method sends a `client-request-id`, retries what is
 * safe to retry, and throws {@link GraphError} (or `SWB_INVALID_ARGUMENT` for bad arguments).
 */
export interface GraphClient extends GraphPort, GraphCommandMethods {
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
  getCall(callId: string, options?: RequestOptions): Promise<GraphResult<CommandResponse<'get'>>>;
  /** Hangs up (DELETE the call). */
  hangUp(callId: string, options?: RequestOptions): Promise<GraphResult<null>>;
  /** Same as {@link GraphClient.hangUp}. */
  deleteCall(callId: string, options?: RequestOptions): Promise<GraphResult<null>>;
  /** Same as `record` (`POST /calls/{id}/recordResponse`). */
  recordResponse(callId: string, body?: RecordResponseBody, options?: RequestOptions): Promise<GraphResult<CommandResponse<'record'>>>;
  /** Closes the client's own HTTP agent (not a dispatcher passed in). */
  close(): Promise<void>;
}

const ID = /^[^/?#\s]+$/;
const HEADER_SAFE = /^[\x21-\x7e]{1,200}$/;

function invalid(message: string): SwitchboardError {
  return new SwitchboardError('SWB_INVALID_ARGUMENT', message);
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
 * retries. Attempts are bounded by `retry.maxAttempts` and the whole command by `deadlineMs`;
 * every limit not given is {@link GRAPH_CLIENT_DEFAULTS}'s.
 *
 * It does not keep state between commands (beyond its connections and the token source's
 * cache), and it does not know the call's state: whether a command makes sense now is the
 * runtime's question, and Graph's.
 *
 * @example
 * ```ts
 * import { createGraphClient, GraphError } from '@switchboard/transport';
 *
 * const graph = createGraphClient({
 *   auth: { tenantId: process.env.TENANT_ID!, clientId: process.env.APP_ID!, clientSecret: process.env.CLIENT_SECRET! },
 *   deadlineMs: 20_000, // every other limit: GRAPH_CLIENT_DEFAULTS
 * });
 * try {
 *   const { body: op } = await graph.playPrompt(callId, {
 *     prompts: [{ '@odata.type': '#microsoft.graph.mediaPrompt', mediaInfo: { uri: 'https://cdn.contoso.com/welcome.wav' } }],
 *   });
 *   console.log(op.id, op.status); // 'running'; the outcome comes as a notification
 * } catch (error) {
 *   // Graph may have started the prompt: resync the call rather than send it again
 *   if (error instanceof GraphError && error.code === 'SWB_GRAPH_AMBIGUOUS') await graph.getCall(callId);
 *   else throw error;
 * } finally {
 *   await graph.close();
 * }
 * ```
 */
export function createGraphClient(options: GraphClientOptions): GraphClient {
  if (options.auth && options.getToken) throw invalid('createGraphClient: give auth or getToken, not both');
  const tokenSource: GetToken | undefined =
    options.getToken ??
    (options.auth
      ? createMsalTokenProvider({ ...options.auth, ...(options.logger && !options.auth.logger ? { logger: options.logger } : {}) }).getToken
      : undefined);
  if (!tokenSource) throw invalid('createGraphClient: auth or getToken is required');
  const apiVersion = options.apiVersion ?? GRAPH_CLIENT_DEFAULTS.apiVersion;
  if (apiVersion !== 'v1.0' && apiVersion !== 'beta') throw invalid(`apiVersion must be 'v1.0' or 'beta', not '${String(apiVersion)}'`);
  const baseRaw = options.baseUrl ?? GRAPH_CLIENT_DEFAULTS.baseUrl;
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
  const ownAgent = options.dispatcher
    ? undefined
    : new Agent({ keepAliveTimeout: GRAPH_CLIENT_DEFAULTS.keepAliveTimeoutMs, connections: GRAPH_CLIENT_DEFAULTS.connections });
  const context: SendContext = {
    dispatcher: options.dispatcher ?? (ownAgent as Dispatcher),
    getToken: tokenSource,
    retry: retryLimits(options.retry),
    deadlineMs: options.deadlineMs ?? GRAPH_CLIENT_DEFAULTS.deadlineMs,
    attemptTimeoutMs: options.attemptTimeoutMs ?? GRAPH_CLIENT_DEFAULTS.attemptTimeoutMs,
    now: options.now ?? Date.now,
    sleep: options.sleep ?? timerSleep,
    random: options.random ?? Math.random,
    logger: options.logger ?? silentLogger,
    userAgent: options.userAgent ?? GRAPH_CLIENT_DEFAULTS.userAgent,
  };
  const newId = options.newClientRequestId ?? randomUUID;
  const validateRequests = options.validateRequests ?? options.validateCreateCall ?? true;
  const allowInsecureCallback = options.allowInsecureCallback ?? false;

  function urlOf(command: CommandName, params: { readonly callId?: string; readonly participantId?: string } = {}): string {
    if (!isCommandName(command)) throw invalid(`unknown command '${String(command)}'`);
    const route = COMMAND_ROUTES[command];
    const problems: string[] = [];
    let path = route.template;
    for (const [slot, value] of [
      ['{callId}', params.callId],
      ['{participantId}', params.participantId],
    ] as const) {
      if (!path.includes(slot)) continue;
      const name = slot.slice(1, -1);
      if (typeof value !== 'string' || !ID.test(value))
        problems.push(`${command} needs ${name} (a non-empty id without '/', '?', '#' or spaces), got ${JSON.stringify(value)}`);
      else path = path.replace(slot, encodeURIComponent(value));
    }
    if (problems.length > 0) throw invalid(problems.join('; '));
    return collection + path;
  }

  /** Checks the arguments (nothing is sent, no token fetched, when they are wrong), then sends. */
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
      if (violations.length > 0)
        throw new RequestValidationError(violations, command === 'create' ? 'create-call request' : `${command} request`);
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
    return sendCommand(context, { command, route, url, payload, clientRequestId, signal: params.signal, callId: params.callId });
  }

  const call = <T>(command: CommandName, params: SendParams): Promise<GraphResult<T>> => send(command, params) as Promise<GraphResult<T>>;
  const opts = (o: RequestOptions | undefined): RequestOptions => ({
    ...(o?.clientRequestId !== undefined ? { clientRequestId: o.clientRequestId } : {}),
    ...(o?.signal !== undefined ? { signal: o.signal } : {}),
  });
  const withBody = (body: unknown): { body?: unknown } => (body === undefined ? {} : { body });

  /** A command method from its table row: the path's ids first, then the body (if any), then the options. */
  const commandMethod =
    (command: GraphClientCommand) =>
    (...args: unknown[]): Promise<GraphResult> => {
      const spec = COMMANDS[command];
      const ids = spec.scope === 'participant' ? 2 : spec.scope === 'call' ? 1 : 0;
      const [callId, participantId] = args as [string, string];
      const body = spec.body === 'none' ? undefined : args[ids];
      const o = args[spec.body === 'none' ? ids : ids + 1] as RequestOptions | undefined;
      return send(command, {
        ...(ids >= 1 ? { callId } : {}),
        ...(ids === 2 ? { participantId } : {}),
        ...withBody(body),
        ...opts(o),
      });
    };
  const commandMethods = Object.fromEntries(
    COMMAND_NAMES.filter((c): c is GraphClientCommand => c !== 'create' && c !== 'get' && c !== 'delete').map((c) => [c, commandMethod(c)]),
  ) as unknown as GraphCommandMethods;

  return {
    ...commandMethods,
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
    recordResponse: (callId, body, o) => call('record', { callId, ...withBody(body), ...opts(o) }),
    async close() {
      await ownAgent?.close();
    },
  };
}
