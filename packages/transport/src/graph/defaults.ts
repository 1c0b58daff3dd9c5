/**
 * What `createGraphClient` uses for every option not given. Retry delays and budgets are
 * ms. Docs name these fields (`GRAPH_CLIENT_DEFAULTS.deadlineMs`) rather than restate the figures.
 */
export const GRAPH_CLIENT_DEFAULTS = Object.freeze({
  /** Graph's public endpoint; the simulator's URL in tests. */
  baseUrl: 'https://graph.microsoft.com',
  apiVersion: 'v1.0',
  /** Most HTTP attempts per command, the first included. A 401's single refresh-and-retry is extra. */
  maxAttempts: 5,
  /** First backoff ceiling: attempt n waits random() × min(maxDelayMs, baseDelayMs × 2^(n-1)). */
  baseDelayMs: 500,
  /** Backoff ceiling. */
  maxDelayMs: 30_000,
  /** Longest `Retry-After` honoured; a longer one ends the retries. */
  maxRetryAfterMs: 120_000,
  /** Overall budget of one command, all attempts and waits included. */
  deadlineMs: 60_000,
  /** Budget of one HTTP attempt. */
  attemptTimeoutMs: 30_000,
  /** The client's own undici `Agent`: how long an idle connection is kept for the next request. */
  keepAliveTimeoutMs: 10_000,
  /** The client's own undici `Agent`: most connections per origin. */
  connections: 64,
  userAgent: 'switchboard-transport',
} as const);
