import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AttemptFailure, AttemptOutcome, AttemptResponse } from './attempt.js';
import { COMMAND_ROUTES } from './commands.js';
import { GRAPH_CLIENT_DEFAULTS } from './defaults.js';
import { GraphError } from './errors.js';
import { decideRetry, parseRetryAfter, retryLimits, type RetryDecision, type RetryState } from './retry.js';

const NOW = Date.UTC(2025, 0, 1, 12, 0, 0);
const GET = COMMAND_ROUTES.get; // idempotent
const PLAY = COMMAND_ROUTES.playPrompt; // not idempotent

function state(over: Partial<RetryState> & { attempts?: number } = {}): RetryState {
  const { attempts = 1, ...rest } = over;
  return {
    route: PLAY,
    exchange: { command: 'playPrompt', clientRequestId: 'crid-1', attempts },
    refreshed: false,
    previous: undefined,
    deadline: NOW + 60_000,
    now: NOW,
    limits: retryLimits(),
    random: () => 0.5,
    ...rest,
  };
}

function answer(status: number, headers: Record<string, string> = {}, body: unknown = null): AttemptResponse {
  return { kind: 'response', status, headers, body };
}

function failed(reason: AttemptFailure['reason'], sent: boolean): AttemptFailure {
  return { kind: 'failure', reason, sent, error: new Error(reason), errorCode: sent ? 'ECONNRESET' : 'ECONNREFUSED' };
}

/** The decision in a line: `retry 5000 SWB_GRAPH_THROTTLED`, `fail SWB_GRAPH_AMBIGUOUS`, `abort`. */
function summary(d: RetryDecision): string {
  switch (d.kind) {
    case 'done':
    case 'abort':
      return d.kind;
    case 'refresh':
      return `refresh ${d.failure.code}`;
    case 'retry':
      return `retry ${d.delayMs} ${d.failure.code}`;
    case 'fail':
      return `fail ${d.error.code}${d.because ? ` (${d.because})` : ''}`;
  }
}

describe('the retry policy, decision by decision', () => {
  it.each([
    ['200', 'done', answer(200), PLAY],
    ['204', 'done', answer(204), PLAY],
    ['429 with Retry-After, any command', 'retry 5000 SWB_GRAPH_THROTTLED', answer(429, { 'retry-after': '5' }), PLAY],
    ['429 without Retry-After: backoff', 'retry 250 SWB_GRAPH_THROTTLED', answer(429), PLAY],
    ['503 with Retry-After, any command', 'retry 2000 SWB_GRAPH_HTTP', answer(503, { 'retry-after': '2' }), PLAY],
    ['503 without Retry-After, not idempotent', 'fail SWB_GRAPH_AMBIGUOUS', answer(503), PLAY],
    ['503 without Retry-After, idempotent', 'retry 250 SWB_GRAPH_HTTP', answer(503), GET],
    ['502, not idempotent', 'fail SWB_GRAPH_AMBIGUOUS', answer(502), PLAY],
    ['504, idempotent', 'retry 250 SWB_GRAPH_HTTP', answer(504), GET],
    ['500, not idempotent: definite', 'fail SWB_GRAPH_HTTP', answer(500), PLAY],
    ['500, idempotent', 'retry 250 SWB_GRAPH_HTTP', answer(500), GET],
    ['400', 'fail SWB_GRAPH_BAD_REQUEST', answer(400), GET],
    ['403', 'fail SWB_GRAPH_UNAUTHORIZED', answer(403), GET],
    ['404', 'fail SWB_GRAPH_NOT_FOUND', answer(404), GET],
    ['409', 'fail SWB_GRAPH_HTTP', answer(409), GET],
    ['a first 401', 'refresh SWB_GRAPH_UNAUTHORIZED', answer(401), PLAY],
    ['refused (never left), not idempotent', 'retry 250 SWB_GRAPH_NETWORK', failed('network', false), PLAY],
    ['attempt timeout before connecting, not idempotent', 'retry 250 SWB_GRAPH_NETWORK', failed('timeout', false), PLAY],
    ['attempt timeout before connecting, idempotent', 'retry 250 SWB_GRAPH_TIMEOUT', failed('timeout', false), GET],
    ['reset after sending, not idempotent', 'fail SWB_GRAPH_AMBIGUOUS', failed('network', true), PLAY],
    ['timeout after sending, not idempotent', 'fail SWB_GRAPH_AMBIGUOUS', failed('timeout', true), PLAY],
    ['reset after sending, idempotent', 'retry 250 SWB_GRAPH_NETWORK', failed('network', true), GET],
    ['timeout after sending, idempotent', 'retry 250 SWB_GRAPH_TIMEOUT', failed('timeout', true), GET],
    ['aborted before connecting, not idempotent', 'abort', failed('aborted', false), PLAY],
    ['aborted in flight, idempotent', 'abort', failed('aborted', true), GET],
    ['aborted in flight, not idempotent', 'fail SWB_GRAPH_AMBIGUOUS', failed('aborted', true), PLAY],
  ] as const)('%s → %s', (_name, expected, outcome, route) => {
    // attempt 1 with random() = 0.5: backoff is floor(0.5 × min(30 s, 500 ms × 2^0)) = 250 ms
    expect(summary(decideRetry(outcome, state({ route })))).toBe(expected);
  });

  it('a second 401 is final', () => {
    expect(summary(decideRetry(answer(401), state({ refreshed: true })))).toBe('fail SWB_GRAPH_UNAUTHORIZED');
  });

  it('backoff: random() × min(maxDelayMs, baseDelayMs × 2^(attempts-1)), floored', () => {
    const limits = retryLimits({ maxAttempts: 10, baseDelayMs: 100, maxDelayMs: 300 });
    const delays = [1, 2, 3, 4].map((attempts) => decideRetry(answer(429), state({ attempts, limits, random: () => 0.5 })));
    expect(delays.map(summary)).toEqual([
      'retry 50 SWB_GRAPH_THROTTLED',
      'retry 100 SWB_GRAPH_THROTTLED',
      'retry 150 SWB_GRAPH_THROTTLED',
      'retry 150 SWB_GRAPH_THROTTLED',
    ]);
  });

  it('draws random() only for a backoff', () => {
    let draws = 0;
    const random = (): number => {
      draws++;
      return 0;
    };
    decideRetry(answer(429, { 'retry-after': '1' }), state({ random }));
    decideRetry(answer(404), state({ random }));
    decideRetry(failed('network', true), state({ random }));
    expect(draws).toBe(0);
    decideRetry(answer(429), state({ random }));
    expect(draws).toBe(1);
  });

  it('gives up with the failure once the attempts are used up', () => {
    const d = decideRetry(answer(429, { 'retry-after': '1' }), state({ attempts: GRAPH_CLIENT_DEFAULTS.maxAttempts }));
    expect(summary(d)).toBe('fail SWB_GRAPH_THROTTLED');
    expect(decideRetry(answer(429), state({ attempts: 4, limits: retryLimits({ maxAttempts: 4 }) })).kind).toBe('fail');
    expect(decideRetry(answer(429), state({ attempts: 3, limits: retryLimits({ maxAttempts: 4 }) })).kind).toBe('retry');
  });

  it('gives up when Retry-After is past maxRetryAfterMs, saying so', () => {
    const d = decideRetry(answer(429, { 'retry-after': '121' }), state({ deadline: NOW + 10 * 60_000 }));
    expect(d).toMatchObject({ kind: 'fail', because: 'retry-after', delayMs: 121_000 });
    expect(summary(decideRetry(answer(429, { 'retry-after': '120' }), state({ deadline: NOW + 10 * 60_000 })))).toBe(
      'retry 120000 SWB_GRAPH_THROTTLED',
    );
  });

  it('gives up when the wait would reach the deadline, saying so', () => {
    expect(decideRetry(answer(429, { 'retry-after': '30' }), state({ deadline: NOW + 10_000 }))).toMatchObject({
      kind: 'fail',
      because: 'deadline',
      delayMs: 30_000,
    });
    expect(decideRetry(answer(429, { 'retry-after': '10' }), state({ deadline: NOW + 10_000 })).kind).toBe('fail');
    expect(decideRetry(answer(429, { 'retry-after': '9' }), state({ deadline: NOW + 10_000 })).kind).toBe('retry');
  });

  it('an HTTP-date Retry-After counts from the response Date header, else from now', () => {
    const at = new Date(NOW + 7_000).toUTCString();
    const withDate = answer(429, { 'retry-after': at, date: new Date(NOW + 5_000).toUTCString() });
    expect(summary(decideRetry(withDate, state()))).toBe('retry 2000 SWB_GRAPH_THROTTLED');
    expect(summary(decideRetry(answer(429, { 'retry-after': at }), state()))).toBe('retry 7000 SWB_GRAPH_THROTTLED');
  });

  it("chains the previous failure as a response error's cause; a network error keeps its own", () => {
    const previous = new GraphError('SWB_GRAPH_THROTTLED', 'before');
    const d = decideRetry(answer(404, {}, { error: { code: '7503', message: 'gone' } }), state({ previous }));
    expect(d.kind === 'fail' && d.error.cause).toBe(previous);
    expect(d.kind === 'fail' && d.error.graphCode).toBe('7503');
    const reset = failed('network', true);
    const n = decideRetry(reset, state({ previous }));
    expect(n.kind === 'fail' && n.error.cause).toBe(reset.error);
  });

  it('errors carry the command, its client-request-id and the attempts so far', () => {
    const d = decideRetry(answer(429), state({ attempts: 3 }));
    expect(d.kind === 'retry' && d.failure).toMatchObject({ command: 'playPrompt', clientRequestId: 'crid-1', attempts: 3, status: 429 });
  });
});

// What may have reached Graph: a response other than 429, 503-with-Retry-After and a first
// 401, or a failure after the request was handed to a connection.
const outcomes: fc.Arbitrary<AttemptOutcome> = fc.oneof(
  fc.record({
    kind: fc.constant('response' as const),
    status: fc.oneof(fc.integer({ min: 200, max: 599 }), fc.constantFrom(401, 429, 500, 502, 503, 504)),
    headers: fc.oneof(fc.constant({}), fc.record({ 'retry-after': fc.constantFrom('0', '1', '30', '500', 'soon') })),
    body: fc.constant(null),
  }),
  fc.record({
    kind: fc.constant('failure' as const),
    reason: fc.constantFrom('timeout' as const, 'aborted' as const, 'network' as const),
    sent: fc.boolean(),
    error: fc.constant(new Error('x')),
    errorCode: fc.constant(undefined),
  }),
);

describe('the retry policy, for any outcome', () => {
  it('a command that is not idempotent is retried only when Graph asked for it or never got it', () => {
    fc.assert(
      fc.property(outcomes, fc.integer({ min: 1, max: 8 }), fc.boolean(), (outcome, attempts, refreshed) => {
        const d = decideRetry(
          outcome,
          state({ route: PLAY, attempts, refreshed, limits: retryLimits({ maxAttempts: 8 }), deadline: NOW + 3_600_000 }),
        );
        if (d.kind !== 'retry') return;
        if (outcome.kind === 'failure') {
          expect(outcome.sent).toBe(false);
        } else {
          const retryAfter = (outcome.headers as { 'retry-after'?: string })['retry-after'];
          expect(outcome.status === 429 || (outcome.status === 503 && retryAfter !== undefined && retryAfter !== 'soon')).toBe(true);
        }
      }),
    );
  });

  it('a retry never waits past the deadline or maxRetryAfterMs, and never follows the last attempt', () => {
    fc.assert(
      fc.property(outcomes, fc.integer({ min: 1, max: 8 }), fc.integer({ min: 0, max: 200_000 }), (outcome, attempts, left) => {
        const limits = retryLimits({ maxAttempts: 5 });
        const d = decideRetry(outcome, state({ route: GET, attempts, limits, deadline: NOW + left, random: () => 0.999 }));
        if (d.kind !== 'retry') return;
        expect(attempts).toBeLessThan(5);
        expect(d.delayMs).toBeLessThan(left);
        expect(d.delayMs).toBeLessThanOrEqual(limits.maxRetryAfterMs);
      }),
    );
  });
});

describe('parseRetryAfter', () => {
  it('reads delta-seconds and HTTP-dates', () => {
    expect(parseRetryAfter('5', 0)).toBe(5000);
    expect(parseRetryAfter(' 0 ', 0)).toBe(0);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', Date.UTC(2015, 9, 21, 7, 27, 50))).toBe(10_000);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', Date.UTC(2016, 0, 1))).toBe(0);
    expect(parseRetryAfter('soon', 0)).toBeUndefined();
    expect(parseRetryAfter(undefined, 0)).toBeUndefined();
  });
});

describe('retryLimits', () => {
  it('fills what is not given from GRAPH_CLIENT_DEFAULTS; at least one whole attempt', () => {
    expect(retryLimits()).toEqual({
      maxAttempts: GRAPH_CLIENT_DEFAULTS.maxAttempts,
      baseDelayMs: GRAPH_CLIENT_DEFAULTS.baseDelayMs,
      maxDelayMs: GRAPH_CLIENT_DEFAULTS.maxDelayMs,
      maxRetryAfterMs: GRAPH_CLIENT_DEFAULTS.maxRetryAfterMs,
    });
    expect(retryLimits({ maxAttempts: 0 }).maxAttempts).toBe(1);
    expect(retryLimits({ maxAttempts: 2.7, baseDelayMs: 10 })).toMatchObject({ maxAttempts: 2, baseDelayMs: 10 });
  });
});
