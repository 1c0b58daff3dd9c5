import type { AttemptOutcome, AttemptResponse } from './attempt.js';
import type { CommandRoute } from './commands.js';
import { GRAPH_CLIENT_DEFAULTS } from './defaults.js';
import { codeForStatus, errorFromFailure, errorFromResponse, type Exchange, type GraphError } from './errors.js';

/**
 * The retry policy: after one attempt, what the client does next. A function of its arguments
 * (the clock reading and the jitter source come in), with no I/O: `send.ts` makes the attempts,
 * waits and logs; this decides.
 *
 * - 2xx: done.
 * - 401, the first time: refresh the token and try again at once; that attempt is not counted.
 * - 429, and 503 with `Retry-After`: retried for every command, waiting `Retry-After` (from
 *   the response's `Date`, else from now), else backoff.
 * - A request that provably never left (refused, DNS, a connect or abort before a connection
 *   took it): retried for every command; never ambiguous.
 * - Timeouts, resets after sending, 502, 504, 503 without `Retry-After`: retried only when the
 *   route is idempotent; otherwise `SWB_GRAPH_AMBIGUOUS` at once, never sent twice. 500
 *   likewise, but definite (`SWB_GRAPH_HTTP`) for a non-idempotent command.
 * - The caller's abort: `abort` (the client's `SWB_GRAPH_ABORTED`), unless a non-idempotent
 *   request was already in flight, which is ambiguous.
 * - Anything else: the definite error for its status ({@link codeForStatus}).
 *
 * A retry waits `Retry-After`, or random() × min(maxDelayMs, baseDelayMs × 2^(attempts-1)) (full
 * jitter). It gives up when the attempts are used up, when `Retry-After` is longer than
 * `maxRetryAfterMs`, or when the wait would reach the deadline.
 */

/** The limits of the policy; every field defaults to {@link GRAPH_CLIENT_DEFAULTS}. */
export interface RetryOptions {
  /** Most HTTP attempts per command, the first included (default `GRAPH_CLIENT_DEFAULTS.maxAttempts`). A 401's single refresh-and-retry is extra. */
  readonly maxAttempts?: number;
  /** First backoff ceiling, ms (default `GRAPH_CLIENT_DEFAULTS.baseDelayMs`); attempt n waits random() × min(maxDelayMs, baseDelayMs × 2^(n-1)). */
  readonly baseDelayMs?: number;
  /** Backoff ceiling, ms (default `GRAPH_CLIENT_DEFAULTS.maxDelayMs`). */
  readonly maxDelayMs?: number;
  /** Longest `Retry-After` honoured, ms (default `GRAPH_CLIENT_DEFAULTS.maxRetryAfterMs`); a longer one ends the retries. */
  readonly maxRetryAfterMs?: number;
}

/** {@link RetryOptions} with every limit set. */
export type RetryLimits = { readonly [K in keyof RetryOptions]-?: number };

/** `options` over the defaults; at least one attempt, a whole number. */
export function retryLimits(options: RetryOptions = {}): RetryLimits {
  return {
    maxAttempts: Math.max(1, Math.floor(options.maxAttempts ?? GRAPH_CLIENT_DEFAULTS.maxAttempts)),
    baseDelayMs: options.baseDelayMs ?? GRAPH_CLIENT_DEFAULTS.baseDelayMs,
    maxDelayMs: options.maxDelayMs ?? GRAPH_CLIENT_DEFAULTS.maxDelayMs,
    maxRetryAfterMs: options.maxRetryAfterMs ?? GRAPH_CLIENT_DEFAULTS.maxRetryAfterMs,
  };
}

/** Where one command stands when an attempt has ended. */
export interface RetryState {
  readonly route: CommandRoute;
  /** The command, its `client-request-id`, and the attempts made, this one included. */
  readonly exchange: Exchange;
  /** Whether the token was already refreshed after a 401. */
  readonly refreshed: boolean;
  /** The failure that led to this attempt, chained as `cause` of a response's error. */
  readonly previous: unknown;
  /** When the command must be over (ms, the client's clock), and the clock now. */
  readonly deadline: number;
  readonly now: number;
  readonly limits: RetryLimits;
  /** [0, 1), drawn only when a backoff is computed. */
  readonly random: () => number;
}

/** What the client does after an attempt. */
export type RetryDecision =
  /** Graph answered 2xx. */
  | { readonly kind: 'done'; readonly response: AttemptResponse }
  /** A first 401: refresh the token and try again now, this attempt not counted; `failure` if that fails too. */
  | { readonly kind: 'refresh'; readonly failure: GraphError }
  /** Wait `delayMs`, then try again; `failure` is what this attempt's failure was. */
  | { readonly kind: 'retry'; readonly delayMs: number; readonly failure: GraphError }
  /** The caller's signal ended it, with nothing ambiguous: the client throws `SWB_GRAPH_ABORTED`. */
  | { readonly kind: 'abort' }
  /**
   * Throw `error`. `because` says why a retryable failure was not retried: the next wait would
   * reach the deadline, or `Retry-After` (`delayMs`) is past `maxRetryAfterMs`.
   */
  | { readonly kind: 'fail'; readonly error: GraphError; readonly because?: 'deadline' | 'retry-after'; readonly delayMs?: number };

/** A failure worth another attempt, and the wait Graph asked for (`Retry-After`), if it did. */
interface Retryable {
  readonly failure: GraphError;
  readonly retryAfterMs?: number | undefined;
}

/** Decides what follows `outcome`, the attempt `state.exchange.attempts` of one command. */
export function decideRetry(outcome: AttemptOutcome, state: RetryState): RetryDecision {
  const classed = classify(outcome, state);
  if ('kind' in classed) return classed;
  const { failure, retryAfterMs } = classed;
  const { attempts } = state.exchange;
  const { limits } = state;
  if (attempts >= limits.maxAttempts) return { kind: 'fail', error: failure };
  let delayMs = retryAfterMs;
  if (delayMs === undefined) {
    delayMs = Math.floor(state.random() * Math.min(limits.maxDelayMs, limits.baseDelayMs * 2 ** (attempts - 1)));
  } else if (delayMs > limits.maxRetryAfterMs) {
    return { kind: 'fail', error: failure, because: 'retry-after', delayMs };
  }
  if (state.now + delayMs >= state.deadline) return { kind: 'fail', error: failure, because: 'deadline', delayMs };
  return { kind: 'retry', delayMs, failure };
}

/** The outcome's class: a decision already, or a failure that may be retried. */
function classify(outcome: AttemptOutcome, state: RetryState): Exclude<RetryDecision, { kind: 'retry' }> | Retryable {
  const { route, exchange, previous } = state;
  if (outcome.kind === 'failure') {
    if (outcome.reason === 'aborted') {
      if (route.idempotent || !outcome.sent) return { kind: 'abort' };
      return { kind: 'fail', error: errorFromFailure('SWB_GRAPH_AMBIGUOUS', outcome, exchange) };
    }
    if (!outcome.sent) {
      // an idempotent command out of time is a timeout whether or not its last attempt got out
      return {
        failure: errorFromFailure(
          route.idempotent && outcome.reason === 'timeout' ? 'SWB_GRAPH_TIMEOUT' : 'SWB_GRAPH_NETWORK',
          outcome,
          exchange,
        ),
      };
    }
    if (!route.idempotent) return { kind: 'fail', error: errorFromFailure('SWB_GRAPH_AMBIGUOUS', outcome, exchange) };
    return { failure: errorFromFailure(outcome.reason === 'timeout' ? 'SWB_GRAPH_TIMEOUT' : 'SWB_GRAPH_NETWORK', outcome, exchange) };
  }
  const { status } = outcome;
  if (status >= 200 && status < 300) return { kind: 'done', response: outcome };
  if (status === 401 && !state.refreshed)
    return { kind: 'refresh', failure: errorFromResponse('SWB_GRAPH_UNAUTHORIZED', outcome, exchange) };
  const serverDate = outcome.headers['date'] ? Date.parse(outcome.headers['date']) : Number.NaN;
  const retryAfterMs = parseRetryAfter(outcome.headers['retry-after'], Number.isNaN(serverDate) ? state.now : serverDate);
  if (status === 429 || (status === 503 && retryAfterMs !== undefined)) {
    return {
      failure: errorFromResponse(status === 429 ? 'SWB_GRAPH_THROTTLED' : 'SWB_GRAPH_HTTP', outcome, exchange, previous),
      retryAfterMs,
    };
  }
  if (status === 502 || status === 504 || status === 503) {
    if (!route.idempotent) return { kind: 'fail', error: errorFromResponse('SWB_GRAPH_AMBIGUOUS', outcome, exchange, previous) };
    return { failure: errorFromResponse('SWB_GRAPH_HTTP', outcome, exchange, previous) };
  }
  if (status === 500 && route.idempotent) return { failure: errorFromResponse('SWB_GRAPH_HTTP', outcome, exchange, previous) };
  return { kind: 'fail', error: errorFromResponse(codeForStatus(status), outcome, exchange, previous) };
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
