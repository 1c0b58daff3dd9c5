import type { Dispatcher } from 'undici';
import type { CommandName, GraphResponse, Logger } from '@switchboard/core';
import { attemptOnce, nonEmpty } from './attempt.js';
import type { GetToken } from './auth.js';
import type { CommandRoute } from './commands.js';
import { GraphError, abortedError, authError, deadlineError, type Exchange } from './errors.js';
import { decideRetry, type RetryLimits } from './retry.js';

/**
 * One command, start to end: a token, an attempt, the retry policy's decision, a wait, and
 * again, until Graph answered 2xx or the policy gives up. What happens between the attempts
 * is logged here (never a token or a body).
 */

/** What the command loop needs from the client, its options resolved. */
export interface SendContext {
  readonly dispatcher: Dispatcher;
  readonly getToken: GetToken;
  readonly retry: RetryLimits;
  readonly deadlineMs: number;
  readonly attemptTimeoutMs: number;
  readonly now: () => number;
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly random: () => number;
  readonly logger: Logger;
  readonly userAgent: string;
}

/** One command, ready to go: its URL and body checked, its `client-request-id` chosen. */
export interface CommandRequest {
  readonly command: CommandName;
  readonly route: CommandRoute;
  readonly url: string;
  /** The JSON body, or undefined for none. */
  readonly payload: string | undefined;
  readonly clientRequestId: string;
  readonly signal: AbortSignal | undefined;
  /** The call the command is about (its log lines carry it), if any. */
  readonly callId?: string | undefined;
}

/** Graph's successful answer: core's `GraphResponse`, with the body typed and what the client adds. */
export interface GraphResult<T = unknown> extends GraphResponse {
  /** Parsed JSON; `null` when Graph sent no body (202/204). */
  readonly body: T;
  /** The `Location` header (a create's call URL). */
  readonly location?: string | undefined;
  /** HTTP attempts made. */
  readonly attempts: number;
}

/** Sends `req` until Graph answers 2xx; throws the {@link GraphError} the retry policy gave up with. */
export async function sendCommand(ctx: SendContext, req: CommandRequest): Promise<GraphResult> {
  const { command, route, url, payload, clientRequestId, signal } = req;
  const { logger, now } = ctx;
  const deadline = now() + ctx.deadlineMs;
  const log = {
    ...(req.callId !== undefined ? { callId: req.callId } : {}),
    command,
    method: route.method,
    path: new URL(url).pathname,
    clientRequestId,
  };
  let attempts = 0;
  let refreshed = false;
  let forceRefresh = false;
  let previous: unknown;
  const exchange = (): Exchange => ({ command, clientRequestId, attempts });
  const aborted = (): GraphError => abortedError(exchange(), signal?.reason ?? previous);

  for (;;) {
    if (signal?.aborted) throw aborted();
    if (deadline - now() <= 0) {
      if (previous instanceof GraphError) throw previous;
      throw deadlineError(exchange(), ctx.deadlineMs);
    }
    let token: string;
    try {
      token = await ctx.getToken({ forceRefresh, signal });
    } catch (error) {
      if (signal?.aborted) throw aborted();
      if (error instanceof GraphError) throw error;
      throw authError(exchange(), error);
    }
    forceRefresh = false;
    attempts++;
    const headers: Record<string, string> = {
      authorization: `Bearer ${token}`,
      accept: 'application/json',
      'client-request-id': clientRequestId,
      'return-client-request-id': 'true',
      'user-agent': ctx.userAgent,
      ...(payload !== undefined ? { 'content-type': 'application/json' } : {}),
    };
    const startedAt = Date.now();
    const timeoutMs = Math.min(ctx.attemptTimeoutMs, Math.max(1, deadline - now()));
    const outcome = await attemptOnce(ctx.dispatcher, { method: route.method, url, headers, body: payload, timeoutMs, signal });
    const elapsedMs = Date.now() - startedAt;

    if (outcome.kind === 'response') {
      const ok = outcome.status >= 200 && outcome.status < 300;
      if (ok) logger.debug({ ...log, attempt: attempts, status: outcome.status, elapsedMs }, 'graph request');
      else logger.info({ ...log, attempt: attempts, status: outcome.status, elapsedMs }, 'graph request failed');
    } else {
      logger.info(
        { ...log, attempt: attempts, reason: outcome.reason, sent: outcome.sent, errorCode: outcome.errorCode, elapsedMs },
        'graph request failed',
      );
    }

    const decision = decideRetry(outcome, {
      route,
      exchange: exchange(),
      refreshed,
      previous,
      deadline,
      now: now(),
      limits: ctx.retry,
      random: ctx.random,
    });
    switch (decision.kind) {
      case 'done': {
        const { status, headers, body } = decision.response;
        return {
          status,
          body,
          requestId: nonEmpty(headers['request-id']),
          clientRequestId: nonEmpty(headers['client-request-id']) ?? clientRequestId,
          location: nonEmpty(headers['location']),
          attempts,
        };
      }
      case 'refresh':
        refreshed = true;
        forceRefresh = true;
        attempts--; // the refresh-and-retry does not use up an attempt
        previous = decision.failure;
        continue;
      case 'abort':
        throw aborted();
      case 'fail':
        if (decision.because === 'retry-after')
          logger.warn({ ...log, attempt: attempts, retryAfterMs: decision.delayMs }, 'Retry-After beyond the longest wait; giving up');
        if (decision.because === 'deadline')
          logger.warn({ ...log, attempt: attempts, delayMs: decision.delayMs }, 'the next retry would pass the deadline; giving up');
        throw decision.error;
      case 'retry':
        logger.warn(
          { ...log, attempt: attempts, status: decision.failure.status, code: decision.failure.code, delayMs: decision.delayMs },
          'retrying graph request',
        );
        previous = decision.failure;
        try {
          await ctx.sleep(decision.delayMs, signal);
        } catch {
          throw aborted();
        }
    }
  }
}

/** Waits `ms` on a timer; rejects with the signal's reason when it aborts. */
export function timerSleep(ms: number, signal?: AbortSignal): Promise<void> {
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
