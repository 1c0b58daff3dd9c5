import { SwitchboardError, type CommandName } from '@switchboard/core';
import { nonEmpty, type AttemptFailure, type AttemptResponse } from './attempt.js';

/**
 * The stable codes a {@link GraphError} carries. Callers branch on these, never on messages.
 *
 * - `SWB_GRAPH_NOT_FOUND`: 404, the call (or participant) is gone.
 * - `SWB_GRAPH_THROTTLED`: 429 and the retries (or the deadline) ran out.
 * - `SWB_GRAPH_AMBIGUOUS`: a non-idempotent command may or may not have acted (timeout, reset
 *   after sending, 502/504, 503 without `Retry-After`, abort mid-flight). Resync, don't resend.
 *   Never for a request that provably did not leave (see `SWB_GRAPH_NETWORK`).
 * - `SWB_GRAPH_UNAUTHORIZED`: 401 (after one token refresh) or 403.
 * - `SWB_GRAPH_BAD_REQUEST`: 400.
 * - `SWB_GRAPH_HTTP`: any other non-2xx answer.
 * - `SWB_GRAPH_NETWORK`: the request provably never reached Graph (connection refused, DNS, a
 *   connect that did not complete before the attempt timed out: it was never handed to a
 *   connection) and the retries or the deadline ran out; or an idempotent request failed on the
 *   network.
 * - `SWB_GRAPH_TIMEOUT`: an idempotent request ran past its attempt timeout or overall deadline.
 * - `SWB_GRAPH_ABORTED`: the caller's `AbortSignal` fired before anything ambiguous happened.
 * - `SWB_GRAPH_AUTH`: no token could be obtained.
 */
export type GraphErrorCode =
  | 'SWB_GRAPH_NOT_FOUND'
  | 'SWB_GRAPH_THROTTLED'
  | 'SWB_GRAPH_AMBIGUOUS'
  | 'SWB_GRAPH_UNAUTHORIZED'
  | 'SWB_GRAPH_BAD_REQUEST'
  | 'SWB_GRAPH_HTTP'
  | 'SWB_GRAPH_NETWORK'
  | 'SWB_GRAPH_TIMEOUT'
  | 'SWB_GRAPH_ABORTED'
  | 'SWB_GRAPH_AUTH';

/** What a {@link GraphError} knows about the failed exchange. */
export interface GraphErrorDetails {
  /** HTTP status, when Graph answered at all. */
  readonly status?: number | undefined;
  /** Graph's `error.code` (`"7503"`, `"Forbidden"`, `"UnknownError"`...). */
  readonly graphCode?: string | undefined;
  /** Graph's `error.innerError` object, as sent. */
  readonly innerError?: unknown;
  /** Graph's `request-id` (header or innerError). */
  readonly requestId?: string | undefined;
  /** The `client-request-id` this client sent (and Graph echoed). */
  readonly clientRequestId?: string | undefined;
  /** Graph's `innerError.date` or the `Date` header. */
  readonly date?: string | undefined;
  /** The command that failed. */
  readonly command?: string | undefined;
  /** How many HTTP attempts were made. */
  readonly attempts?: number | undefined;
  /** The parsed response body, if any. */
  readonly body?: unknown;
  readonly cause?: unknown;
}

/**
 * A Graph request failed. `code` is stable (see {@link GraphErrorCode}); the rest describes the
 * exchange. `cause` chains the underlying network error or the previous failure.
 */
export class GraphError extends SwitchboardError {
  override readonly code: GraphErrorCode;
  readonly status: number | undefined;
  readonly graphCode: string | undefined;
  readonly innerError: unknown;
  readonly requestId: string | undefined;
  readonly clientRequestId: string | undefined;
  readonly date: string | undefined;
  readonly command: string | undefined;
  readonly attempts: number | undefined;
  readonly body: unknown;

  constructor(code: GraphErrorCode, message: string, details: GraphErrorDetails = {}) {
    super(code, message, details.cause !== undefined ? { cause: details.cause } : undefined);
    this.name = 'GraphError';
    this.code = code;
    this.status = details.status;
    this.graphCode = details.graphCode;
    this.innerError = details.innerError;
    this.requestId = details.requestId;
    this.clientRequestId = details.clientRequestId;
    this.date = details.date;
    this.command = details.command;
    this.attempts = details.attempts;
    this.body = details.body;
  }
}

/** Maps an HTTP status to the stable code of a definitive (non-ambiguous) failure. */
export function codeForStatus(status: number): GraphErrorCode {
  if (status === 404) return 'SWB_GRAPH_NOT_FOUND';
  if (status === 429) return 'SWB_GRAPH_THROTTLED';
  if (status === 401 || status === 403) return 'SWB_GRAPH_UNAUTHORIZED';
  if (status === 400) return 'SWB_GRAPH_BAD_REQUEST';
  return 'SWB_GRAPH_HTTP';
}

/** The command an error is about: which, under which `client-request-id`, after how many attempts. */
export interface Exchange {
  readonly command: CommandName;
  readonly clientRequestId: string;
  readonly attempts: number;
}

/**
 * Graph's non-2xx answer as a {@link GraphError} with `code`: Graph's `error.code`, message and
 * `innerError`, its `request-id` and date (header or `innerError`), and the body as sent.
 */
export function errorFromResponse(code: GraphErrorCode, response: AttemptResponse, exchange: Exchange, cause?: unknown): GraphError {
  const { command, clientRequestId, attempts } = exchange;
  const b = response.body;
  const err = b && typeof b === 'object' ? (b as { error?: unknown }).error : undefined;
  const e = err && typeof err === 'object' ? (err as Record<string, unknown>) : {};
  const inner = (e['innerError'] ?? e['innererror']) as Record<string, unknown> | undefined;
  const innerObj = inner && typeof inner === 'object' ? inner : undefined;
  const graphCode = nonEmpty(e['code']);
  const graphMessage = nonEmpty(e['message']);
  const requestId = nonEmpty(response.headers['request-id']) ?? nonEmpty(innerObj?.['request-id']);
  const date = nonEmpty(innerObj?.['date']) ?? nonEmpty(response.headers['date']);
  const prefix = code === 'SWB_GRAPH_AMBIGUOUS' ? 'Graph may or may not have acted: ' : '';
  return new GraphError(
    code,
    `${prefix}${command} answered ${response.status}${graphCode ? ` ${graphCode}` : ''}${graphMessage ? `: ${graphMessage}` : ''} (client-request-id ${clientRequestId})`,
    {
      status: response.status,
      graphCode,
      innerError: inner,
      requestId,
      clientRequestId: nonEmpty(response.headers['client-request-id']) ?? clientRequestId,
      date,
      command,
      attempts,
      body: b,
      ...(cause !== undefined ? { cause } : {}),
    },
  );
}

/**
 * An attempt that got no answer as a {@link GraphError} with `code`, its message saying whether
 * the request left (`could not reach Graph`) and, for `SWB_GRAPH_AMBIGUOUS`, that Graph may
 * have acted. `cause` is the network error.
 */
export function errorFromFailure(code: GraphErrorCode, failure: AttemptFailure, exchange: Exchange): GraphError {
  const { command, clientRequestId } = exchange;
  const detail = `${failure.sent ? failure.reason : failure.reason === 'network' ? 'not sent' : `${failure.reason} before connecting`}${failure.errorCode ? ` ${failure.errorCode}` : ''}`;
  const message =
    code === 'SWB_GRAPH_AMBIGUOUS'
      ? failure.reason === 'aborted'
        ? `Graph may or may not have acted: ${command} was aborted in flight (client-request-id ${clientRequestId})`
        : `Graph may or may not have acted: ${command} failed after sending (${detail}; client-request-id ${clientRequestId})`
      : failure.sent
        ? `${command} failed (${detail}; client-request-id ${clientRequestId})`
        : `${command} could not reach Graph (${detail}; client-request-id ${clientRequestId})`;
  return new GraphError(code, message, { ...exchange, cause: failure.error });
}

/** The caller's signal ended the command before anything ambiguous happened. */
export function abortedError(exchange: Exchange, cause: unknown): GraphError {
  return new GraphError('SWB_GRAPH_ABORTED', `${exchange.command} aborted (client-request-id ${exchange.clientRequestId})`, {
    ...exchange,
    cause,
  });
}

/** The command's deadline passed before an attempt that could have been made. */
export function deadlineError(exchange: Exchange, deadlineMs: number): GraphError {
  return new GraphError(
    'SWB_GRAPH_TIMEOUT',
    `${exchange.command} ran past its ${deadlineMs} ms deadline (client-request-id ${exchange.clientRequestId})`,
    exchange,
  );
}

/** The token source failed. */
export function authError(exchange: Exchange, cause: unknown): GraphError {
  return new GraphError('SWB_GRAPH_AUTH', `no token for ${exchange.command}: ${(cause as Error).message ?? String(cause)}`, {
    ...exchange,
    cause,
  });
}

/** One problem with a request: the JSON path of the field (`$.targets[0].identity.phone.id`) and what is wrong. */
export interface Violation {
  readonly path: string;
  readonly message: string;
}

/**
 * A request failed validation before anything was sent. `violations` lists every problem found,
 * not just the first. Its code is `SWB_INVALID_ARGUMENT`.
 */
export class RequestValidationError extends SwitchboardError {
  readonly violations: readonly Violation[];

  constructor(violations: readonly Violation[], what = 'request') {
    super('SWB_INVALID_ARGUMENT', `invalid ${what}: ${violations.map((v) => `${v.path}: ${v.message}`).join('; ')}`);
    this.name = 'RequestValidationError';
    this.violations = violations;
  }
}
