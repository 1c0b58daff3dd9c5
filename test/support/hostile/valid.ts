import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const RECORDED = join(import.meta.dirname, '..', '..', 'fixtures', 'graph', 'recorded');

/** One valid delivery: a commsNotifications body as Graph sent it. */
export interface ValidDelivery {
  readonly name: string;
  readonly body: string;
  /** Extra request headers (content-type variants, Graph's ids). */
  readonly headers?: Record<string, string>;
  /** Send with this token instead of the run's token. */
  readonly token?: string;
}

/** Every notification of the recorded calls (a working bot's traffic), one delivery each, in order. */
export function recordedDeliveries(): ValidDelivery[] {
  const files = [
    'sambetts-graph-calling-bots--p2p-simpletest.jsonl',
    'sambetts-graph-calling-bots--p2p-callupdates.jsonl',
    'sambetts-graph-calling-bots--groupcall.jsonl',
    'sambetts-graph-calling-bots--failed-p2p.jsonl',
  ];
  return files.flatMap((file) =>
    readFileSync(join(RECORDED, file), 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as { kind: string; body: unknown })
      .filter((line) => line.kind === 'notification')
      .map((line, i) => ({
        name: `${file.replace('sambetts-graph-calling-bots--', '').replace('.jsonl', '')} #${i + 1}`,
        body: JSON.stringify(line.body),
      })),
  );
}

/** A call-state notification for a call of our own naming (timing batches). */
export function established(callId: string): string {
  return JSON.stringify({
    '@odata.type': '#microsoft.graph.commsNotifications',
    value: [
      {
        '@odata.type': '#microsoft.graph.commsNotification',
        changeType: 'updated',
        resourceUrl: `/communications/calls/${callId}`,
        resourceData: {
          '@odata.type': '#microsoft.graph.call',
          state: 'established',
          direction: 'incoming',
          callChainId: `chain-${callId}`,
        },
      },
    ],
  });
}

const note = (callId: string, data: Record<string, unknown>, path = '') =>
  JSON.stringify({
    value: [
      {
        '@odata.type': '#microsoft.graph.commsNotification',
        changeType: 'updated',
        resourceUrl: `/communications/calls/${callId}${path}`,
        resourceData: data,
      },
    ],
  });

/**
 * Odd but authenticated and well-formed: accepted (202) and kept, by design. They go to the
 * reference run too. See docs/reliability.md for why each one is accepted.
 */
export interface OddTokens {
  /** A token whose iat is a minute ahead (within the clock skew). */
  readonly futureIat: string;
  /** Shaped like the Bot Connector documentation's example: nbf 5 minutes back, exp an hour ahead, no iat. */
  readonly documented: string;
  /** Valid for exactly DEFAULT_MAX_TOKEN_LIFETIME_SECONDS. */
  readonly longest: string;
}

export function acceptedByDesign(token: string, tokens: OddTokens, earlier: ValidDelivery): ValidDelivery[] {
  return [
    { name: 'a call id never seen before (an incoming call starts this way)', body: established('4d1f0a00-aaaa-4bbb-8ccc-000000000001') },
    {
      name: 'a call id that looks like path traversal (an opaque string to the log)',
      body: note('..%2F..%2Fetc%2Fpasswd', { '@odata.type': '#microsoft.graph.call', state: 'established' }),
    },
    { name: 'a 256-character call id (the longest accepted)', body: established('z'.repeat(256)) },
    {
      name: 'a non-string @odata.type (ignored, read as a call)',
      body: note('odd-odata-number', { '@odata.type': 42, state: 'established' }),
    },
    {
      name: 'a participant @odata.type on a call path (kept as unknown)',
      body: note('odd-odata-participant', { '@odata.type': '#microsoft.graph.participant', id: 'p1' }),
    },
    { name: 'an unknown state string (kept)', body: note('odd-state', { '@odata.type': '#microsoft.graph.call', state: 'exploded' }) },
    { name: 'an empty value[] (nothing to store)', body: '{"value":[]}' },
    { name: 'a token whose iat is a minute ahead (within the clock skew)', body: established('odd-iat'), token: tokens.futureIat },
    {
      name: "a token shaped like the Bot Connector docs' example (no iat, nbf 300 s back, exp an hour ahead)",
      body: established('odd-documented-token'),
      token: tokens.documented,
    },
    { name: 'a token valid for exactly the longest lifetime accepted', body: established('odd-longest-token'), token: tokens.longest },
    {
      name: 'application/json; charset=utf-8',
      body: established('odd-charset'),
      headers: { 'content-type': 'application/json; charset=utf-8' },
    },
    { name: 'a +json media type', body: established('odd-plus-json'), headers: { 'content-type': 'application/vnd.graph+json' } },
    { name: 'a lower-case "bearer" scheme', body: established('odd-bearer'), headers: { authorization: `bearer ${token}` } },
    { name: `an exact replay of "${earlier.name}" (same token, same body: deduplicated)`, body: earlier.body },
    { name: 'the same token with a body of its own (tokens do not sign bodies)', body: established('odd-reused-token') },
  ];
}
