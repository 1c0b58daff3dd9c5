import { gzipSync } from 'node:zlib';
import { forge, ISSUER, type KeyServer } from './keys.js';
import { DEFAULT_MAX_TOKEN_LIFETIME_SECONDS } from '@switchboard/transport';
import type { RawRequest } from './http.js';

/** One hostile request and exactly what the webhook must answer. */
export interface HostileCase {
  readonly name: string;
  readonly category: Category;
  /** The exact status (431 comes from node:http itself, before the receiver runs). */
  readonly status: number;
  /** The problem type (`urn:switchboard:webhook:<type>`), when the receiver answers. */
  readonly type?: string;
  /** For 400 malformed-notification: the JSON path the answer names (exactly, or starting so). */
  readonly path?: string;
  readonly pathPrefix?: string;
  /**
   * For a delivery that is accepted (202) because the odd notification in it is quarantined:
   * the JSON path its quarantined entry names. The rest of the delivery is applied.
   */
  readonly quarantinedPath?: string;
  /** Appended to the webhook URL. */
  readonly query?: string;
  readonly request: RawRequest;
  /** Run just before / after sending (e.g. move the receiver's clock). */
  readonly before?: () => void;
  readonly after?: () => void;
}

type Category =
  | 'method'
  | 'content-type'
  | 'body-size'
  | 'json'
  | 'utf-8'
  | 'shape'
  | 'field-type'
  | 'forbidden-key'
  | 'depth'
  | 'batch-size'
  | 'unstorable'
  | 'auth-header'
  | 'token-claims'
  | 'token-forgery'
  | 'token-replay';

export interface CorpusContext {
  readonly appId: string;
  readonly keys: KeyServer;
  /** The token the valid deliveries carry (Graph reuses one for minutes). */
  readonly token: string;
  /** A short-lived token a valid delivery used early in the run: replayed after it expired. */
  readonly shortLivedToken: string;
  /** Moves the receiver's clock (ms). */
  shiftClock(ms: number): void;
  readonly maxBodyBytes: number;
}

/** A call notification that would be visible in the log had it been accepted: it creates call `evil-<tag>`. */
function evil(tag: string | number): Record<string, unknown> {
  return {
    '@odata.type': '#microsoft.graph.commsNotification',
    changeType: 'created',
    resourceUrl: `/communications/calls/evil-${tag}`,
    resourceData: { '@odata.type': '#microsoft.graph.call', state: 'established', direction: 'incoming' },
  };
}

const call = (tag: string, data: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  '@odata.type': '#microsoft.graph.commsNotification',
  changeType: 'updated',
  resourceUrl: `/communications/calls/evil-${tag}`,
  resourceData: { '@odata.type': '#microsoft.graph.call', ...data },
  ...extra,
});
const sub = (tag: string, path: string, data: unknown, changeType = 'updated') => ({
  '@odata.type': '#microsoft.graph.commsNotification',
  changeType,
  resourceUrl: `/communications/calls/evil-${tag}/${path}`,
  resourceData: data,
});
const participant = (id: unknown, extra: Record<string, unknown> = {}) => ({
  '@odata.type': '#microsoft.graph.participant',
  ...(id === undefined ? {} : { id }),
  info: { '@odata.type': '#microsoft.graph.participantInfo' },
  ...extra,
});
const nested = (depth: number): unknown => {
  let v: unknown = { leaf: true };
  for (let i = 0; i < depth; i++) v = { n: v };
  return v;
};

/**
 * The hostile corpus: every refused case carries a payload that would change state if it got
 * in (a notification creating `evil-<n>`), so "no state change" is checked by looking for it.
 * The field cases are not refused: the odd notification is quarantined (`quarantinedPath`)
 * and the good one before it applied, as for any authenticated delivery.
 */
export async function hostileCorpus(ctx: CorpusContext): Promise<HostileCase[]> {
  const out: HostileCase[] = [];
  const json = { 'content-type': 'application/json' };
  const auth = { authorization: `Bearer ${ctx.token}`, ...json };
  let n = 0;
  const tag = () => `c${++n}`;
  const batch = (...items: unknown[]) => JSON.stringify({ '@odata.type': '#microsoft.graph.commsNotifications', value: items });
  const poison = () => batch(evil(tag()));
  const add = (c: HostileCase) => out.push(c);
  const now = Math.floor(Date.now() / 1000);

  // --- methods: 405 before anything else is looked at
  for (const method of ['GET', 'PUT', 'DELETE', 'PATCH']) {
    add({
      name: `${method} with a valid token and body`,
      category: 'method',
      status: 405,
      type: 'method-not-allowed',
      request: { method, headers: auth, body: poison() },
    });
  }

  // --- content types: 415
  for (const [label, type] of [
    ['text/plain', 'text/plain'],
    ['form-urlencoded', 'application/x-www-form-urlencoded'],
    ['multipart', 'multipart/form-data; boundary=x'],
    ['application/jsonx', 'application/jsonx'],
    ['text/json', 'text/json'],
    ['application/xml', 'application/xml'],
  ] as const) {
    add({
      name: `content-type ${label}`,
      category: 'content-type',
      status: 415,
      type: 'unsupported-media-type',
      request: { headers: { ...auth, 'content-type': type }, body: poison() },
    });
  }
  add({
    name: 'no content-type',
    category: 'content-type',
    status: 415,
    type: 'unsupported-media-type',
    request: { headers: { authorization: auth.authorization }, body: poison() },
  });
  add({
    name: 'an 8 KB content-type (echoed only as a prefix)',
    category: 'content-type',
    status: 415,
    type: 'unsupported-media-type',
    request: { headers: { ...auth, 'content-type': `text/${'x'.repeat(8000)}` }, body: poison() },
  });
  add({
    name: 'two content-types, JSON first (both handlers see "application/json, text/plain")',
    category: 'content-type',
    status: 415,
    type: 'unsupported-media-type',
    request: { headers: { ...auth, 'content-type': ['application/json', 'text/plain'] }, body: poison() },
  });

  // --- bodies over the limit: 413, while they stream in
  const over = ctx.maxBodyBytes + 1024;
  const pad = (prefix: string, size: number) => prefix + ' '.repeat(Math.max(0, size - prefix.length));
  add({
    name: 'over the limit, honest content-length',
    category: 'body-size',
    status: 413,
    type: 'too-large',
    request: { headers: auth, body: pad(poison(), over) },
  });
  add({
    name: 'declares 5 MiB, sends a little, slowly',
    category: 'body-size',
    status: 413,
    type: 'too-large',
    request: { headers: { ...auth, 'content-length': String(5 * 1024 * 1024) }, chunks: ['{"value":[', '{}'], delayMs: 40 },
  });
  const slowChunks = (first: string) => [first, ...Array.from({ length: Math.ceil(over / 65536) + 2 }, () => ' '.repeat(65536))];
  add({
    name: 'chunked, no length, slowly past the limit',
    category: 'body-size',
    status: 413,
    type: 'too-large',
    request: { headers: auth, chunks: slowChunks('{"value":['), delayMs: 4 },
  });
  add({
    name: 'chunked valid batch padded slowly past the limit',
    category: 'body-size',
    status: 413,
    type: 'too-large',
    request: { headers: auth, chunks: slowChunks(poison().slice(0, -1)), delayMs: 4 },
  });
  add({
    name: 'value[] of 12,000 entries, over the limit',
    category: 'body-size',
    status: 413,
    type: 'too-large',
    request: { headers: auth, body: batch(...Array.from({ length: 12_000 }, (_, i) => evil(`big${i}`))) },
  });

  // --- JSON that does not parse: 400 malformed-json
  const valid = poison();
  for (const [label, body] of [
    ['empty body', ''],
    ['truncated', valid.slice(0, Math.floor(valid.length / 2))],
    ['unterminated array', '{"value": ['],
    ['trailing garbage', `${valid}xyz`],
    ['NaN literal', '{"value": [NaN]}'],
    ['single quotes', "{'value': []}"],
    ['byte-order mark', `\uFEFF${valid}`],
    ['comment', `/* hi */${valid}`],
  ] as const) {
    add({ name: `malformed JSON: ${label}`, category: 'json', status: 400, type: 'malformed-json', request: { headers: auth, body } });
  }
  add({
    name: 'gzip body (content-encoding is not supported; its bytes are not UTF-8)',
    category: 'utf-8',
    status: 400,
    type: 'invalid-utf8',
    request: { headers: { ...auth, 'content-encoding': 'gzip' }, body: gzipSync(valid) },
  });

  // --- bytes that are not UTF-8: 400 invalid-utf8. Decoding them leniently would turn each
  // into U+FFFD, so two different bodies would become one text and one entry id.
  const inString = (bytes: number[]) => {
    const text = valid;
    const at = text.indexOf('evil-') + 5;
    return Buffer.concat([Buffer.from(text.slice(0, at)), Buffer.from(bytes), Buffer.from(text.slice(at))]);
  };
  for (const [label, bytes] of [
    ['0xFF inside a call id', [0xff]],
    ['0xFE inside a call id (0xFF would decode the same)', [0xfe]],
    ['a lone continuation byte', [0x80]],
    ['an overlong "/" (C0 AF)', [0xc0, 0xaf]],
    ['an encoded surrogate half (ED A0 80)', [0xed, 0xa0, 0x80]],
    ['past U+10FFFF (F4 90 80 80)', [0xf4, 0x90, 0x80, 0x80]],
    ['a three-byte sequence cut short', [0xe2, 0x82]],
  ] as const) {
    add({
      name: `invalid UTF-8: ${label}`,
      category: 'utf-8',
      status: 400,
      type: 'invalid-utf8',
      request: { headers: auth, body: inString([...bytes]) },
    });
  }
  add({
    name: 'invalid UTF-8 outside strings',
    category: 'utf-8',
    status: 400,
    type: 'invalid-utf8',
    request: { headers: auth, body: Buffer.concat([Buffer.from('{"value":['), Buffer.from([0xff, 0xfe, 0xfd]), Buffer.from(']}')]) },
  });

  // --- JSON that is not a commsNotifications: 400 not-comms-notifications
  for (const [label, body] of [
    ['null', 'null'],
    ['an array', `[${valid}]`],
    ['a string', '"value"'],
    ['a number', '42'],
    ['value is an object', '{"value": {}}'],
    ['value is a string', '{"value": "[]"}'],
    ['values instead of value', '{"values": []}'],
    ['duplicate key, last one not an array', `{"value": [${JSON.stringify(evil(tag()))}], "value": 5}`],
  ] as const) {
    add({
      name: `not a commsNotifications: ${label}`,
      category: 'shape',
      status: 400,
      type: 'not-comms-notifications',
      request: { headers: auth, body },
    });
  }

  // --- wrong types and values for each field: the delivery is authenticated, so it is stored
  // and acknowledged (202): the good notification before the bad one is applied, the bad one
  // quarantined with its path (Graph does not redeliver a 400: refusing would lose the batch)
  const field = (name: string, bad: unknown, path: string) => {
    const t = tag();
    add({
      name: `field: ${name}`,
      category: 'field-type',
      status: 202,
      quarantinedPath: path,
      request: { headers: auth, body: batch(evil(t), bad) },
    });
  };
  const { changeType: _ct, ...noChange } = call('x', { state: 'established' });
  field('changeType missing', noChange, '$.value[1].changeType');
  field('changeType a number', { ...call('x', {}), changeType: 42 }, '$.value[1].changeType');
  field('changeType null', { ...call('x', {}), changeType: null }, '$.value[1].changeType');
  field('changeType an array', { ...call('x', {}), changeType: ['updated'] }, '$.value[1].changeType');
  field('changeType unknown', { ...call('x', {}), changeType: 'exploded' }, '$.value[1].changeType');
  field('changeType of 900 KB (echoed only as a prefix)', { ...call('x', {}), changeType: 'x'.repeat(900_000) }, '$.value[1].changeType');
  field('resourceUrl a number', { ...call('x', {}), resourceUrl: 42 }, '$.value[1].resourceUrl');
  field('resourceUrl an object', { ...call('x', {}), resourceUrl: { path: '/communications/calls/x' } }, '$.value[1].resourceUrl');
  field('resourceUrl not a call', { ...call('x', {}), resourceUrl: '/users/someone/messages' }, '$.value[1].resourceUrl');
  field('resourceUrl empty', { ...call('x', {}), resourceUrl: '' }, '$.value[1].resourceUrl');
  field('resourceUrl with an empty call id', { ...call('x', {}), resourceUrl: '/communications/calls/' }, '$.value[1].resourceUrl');
  field(
    'resourceUrl with broken percent-encoding',
    { ...call('x', {}), resourceUrl: '/communications/calls/%E0%A4%A' },
    '$.value[1].resourceUrl',
  );
  const { resourceUrl: _ru, ...noUrl } = call('x', {});
  field('neither resourceUrl nor resource', noUrl, '$.value[1].resourceUrl');
  field('resource a number', { ...noUrl, resource: 42 }, '$.value[1].resource');
  field('resource names no call beside a good resourceUrl', { ...call('x', {}), resource: 'javascript:alert(1)' }, '$.value[1].resource');
  // (a call notification with resourceData null now reads as one with none, which Graph sends: accepted, not quarantined)
  add({
    name: 'field: call resourceData null',
    category: 'field-type',
    status: 202,
    request: { headers: auth, body: batch(evil(tag()), { ...call('x', {}), resourceData: null }) },
  });
  field('call resourceData a string', { ...call('x', {}), resourceData: 'established' }, '$.value[1].resourceData');
  field('call resourceData an array', { ...call('x', {}), resourceData: [] }, '$.value[1].resourceData');
  field('state a number', call('x', { state: 42 }), '$.value[1].resourceData.state');
  field('state an object', call('x', { state: {} }), '$.value[1].resourceData.state');
  field('state a boolean', call('x', { state: true }), '$.value[1].resourceData.state');
  field('direction a number', call('x', { direction: 7 }), '$.value[1].resourceData.direction');
  field('terminationReason an array', call('x', { terminationReason: [] }), '$.value[1].resourceData.terminationReason');
  field('resultInfo a string', call('x', { resultInfo: 'failed' }), '$.value[1].resourceData.resultInfo');
  field('resultInfo.code not numeric', call('x', { resultInfo: { code: 'abc' } }), '$.value[1].resourceData.resultInfo.code');
  field(
    'resultInfo.subcode an object',
    call('x', { resultInfo: { code: 500, subcode: {} } }),
    '$.value[1].resourceData.resultInfo.subcode',
  );
  field('toneInfo a number', call('x', { toneInfo: 5 }), '$.value[1].resourceData.toneInfo');
  field(
    'toneInfo.sequenceId a word',
    call('x', { toneInfo: { sequenceId: 'six', tone: 'tone1' } }),
    '$.value[1].resourceData.toneInfo.sequenceId',
  );
  field('toneInfo.tone a number', call('x', { toneInfo: { sequenceId: 1, tone: 1 } }), '$.value[1].resourceData.toneInfo.tone');
  field('mediaState a string', call('x', { mediaState: 'active' }), '$.value[1].resourceData.mediaState');
  field('roster a string', sub('x', 'participants', 'everyone'), '$.value[1].resourceData');
  field('participant id a number', sub('x', 'participants', [participant(5)]), '$.value[1].resourceData[0].id');
  field('participant without id or identity', sub('x', 'participants', [participant(undefined)]), '$.value[1].resourceData[0].id');
  field(
    'participant isInLobby a string',
    sub('x', 'participants', [participant('p1', { isInLobby: 'yes' })]),
    '$.value[1].resourceData[0].isInLobby',
  );
  field(
    'participant isMuted a number',
    sub('x', 'participants', [participant('p1', { isMuted: 1 })]),
    '$.value[1].resourceData[0].isMuted',
  );
  field(
    'participant rosterSequenceNumber a word',
    sub('x', 'participants', [participant('p1', { rosterSequenceNumber: 'abc' })]),
    '$.value[1].resourceData[0].rosterSequenceNumber',
  );
  field(
    'participant mediaStreams an object',
    sub('x', 'participants', [participant('p1', { mediaStreams: {} })]),
    '$.value[1].resourceData[0].mediaStreams',
  );
  field('participant item not an object', sub('x', 'participants', ['p1']), '$.value[1].resourceData[0]');
  field(
    'operation id a number',
    sub('x', 'operations', { '@odata.type': '#microsoft.graph.playPromptOperation', id: 5, status: 'completed' }),
    '$.value[1].resourceData.id',
  );
  field(
    'operation without any id',
    sub('x', 'operations', { '@odata.type': '#microsoft.graph.playPromptOperation', status: 'completed' }),
    '$.value[1].resourceData.id',
  );
  field(
    'operation status a number',
    sub('x', 'operations/op1', { '@odata.type': '#microsoft.graph.playPromptOperation', id: 'op1', status: 7 }),
    '$.value[1].resourceData.status',
  );
  field('content sharing session id a number', sub('x', 'contentSharingSessions', { id: 5 }), '$.value[1].resourceData.id');
  field('notification null', null, '$.value[1]');
  field('notification a string', 'updated /communications/calls/x', '$.value[1]');
  field('notification an array', [call('x', {})], '$.value[1]');

  // --- prototype-polluting keys: 400 forbidden-key (sent as raw text: JSON.parse keeps them as own keys)
  const raw = (name: string, body: string, path: string) =>
    add({
      name: `forbidden key: ${name}`,
      category: 'forbidden-key',
      status: 400,
      type: 'malformed-notification',
      path,
      request: { headers: auth, body },
    });
  const e = () => JSON.stringify(evil(tag()));
  raw('__proto__ at the top', `{"__proto__":{"polluted":true},"value":[${e()}]}`, '$.__proto__');
  raw(
    '__proto__ in a notification',
    `{"value":[${e()},{"changeType":"updated","resourceUrl":"/communications/calls/evil-p","__proto__":{"polluted":true},"resourceData":{}}]}`,
    '$.value[1].__proto__',
  );
  raw(
    '__proto__ in resourceData',
    `{"value":[${e()},{"changeType":"updated","resourceUrl":"/communications/calls/evil-p","resourceData":{"state":"established","__proto__":{"isAdmin":true}}}]}`,
    '$.value[1].resourceData.__proto__',
  );
  raw(
    '__proto__ with a primitive value',
    `{"value":[${e()},{"changeType":"updated","resourceUrl":"/communications/calls/evil-p","resourceData":{"__proto__":1}}]}`,
    '$.value[1].resourceData.__proto__',
  );
  raw(
    'constructor.prototype deep in resourceData',
    `{"value":[${e()},{"changeType":"updated","resourceUrl":"/communications/calls/evil-p","resourceData":{"a":{"b":{"constructor":{"prototype":{"polluted":true}}}}}}]}`,
    '$.value[1].resourceData.a.b.constructor',
  );
  raw(
    'prototype key',
    `{"value":[${e()},{"changeType":"updated","resourceUrl":"/communications/calls/evil-p","resourceData":{"prototype":"x"}}]}`,
    '$.value[1].resourceData.prototype',
  );
  raw(
    '__proto__ inside a roster entry',
    `{"value":[${e()},{"changeType":"updated","resourceUrl":"/communications/calls/evil-p/participants","resourceData":[{"id":"p1","__proto__":{"isInLobby":false}}]}]}`,
    '$.value[1].resourceData[0].__proto__',
  );
  raw('constructor at the top', `{"constructor":{"name":"x"},"value":[${e()}]}`, '$.constructor');

  // --- nesting past the limit: 400 too-deep
  add({
    name: 'resourceData nested 100 deep',
    category: 'depth',
    status: 400,
    type: 'malformed-notification',
    pathPrefix: '$.value[1].resourceData.extra.n.n',
    request: { headers: auth, body: batch(evil(tag()), call('x', { state: 'established', extra: nested(100) })) },
  });
  add({
    name: 'a top-level key nested 50,000 deep (arrays)',
    category: 'depth',
    status: 400,
    type: 'malformed-notification',
    pathPrefix: '$.x[0][0]',
    request: { headers: auth, body: `{"value":[${e()}],"x":${'['.repeat(50_000)}${']'.repeat(50_000)}}` },
  });
  add({
    name: 'a notification key nested 1,000 deep',
    category: 'depth',
    status: 400,
    type: 'malformed-notification',
    pathPrefix: '$.value[1].extension.n.n',
    request: { headers: auth, body: batch(evil(tag()), { ...call('x', {}), extension: nested(1000) }) },
  });

  // --- too many entries: 400 too-large
  add({
    name: 'value[] of 1,001 notifications',
    category: 'batch-size',
    status: 400,
    type: 'malformed-notification',
    path: '$.value',
    request: { headers: auth, body: batch(...Array.from({ length: 1001 }, (_, i) => evil(`n${i}`))) },
  });
  add({
    name: 'a 2,000-character call id',
    category: 'batch-size',
    status: 400,
    type: 'malformed-notification',
    path: '$.value[0].resourceUrl',
    request: { headers: auth, body: batch({ ...evil(tag()), resourceUrl: `/communications/calls/${'z'.repeat(2000)}` }) },
  });
  add({
    name: 'value[] of 20,000 empty objects',
    category: 'batch-size',
    status: 400,
    type: 'malformed-notification',
    path: '$.value',
    request: { headers: auth, body: JSON.stringify({ value: Array.from({ length: 20_000 }, () => ({})) }) },
  });
  add({
    name: 'a roster of 5,001 participants',
    category: 'batch-size',
    status: 400,
    type: 'malformed-notification',
    path: '$.value[1].resourceData',
    request: {
      headers: auth,
      body: batch(
        evil(tag()),
        sub(
          'x',
          'participants',
          Array.from({ length: 5001 }, (_, i) => ({ id: `p${i}` })),
        ),
      ),
    },
  });
  add({
    name: '999 good notifications then a bad one',
    category: 'batch-size',
    status: 202,
    quarantinedPath: '$.value[999].changeType',
    request: { headers: auth, body: batch(...Array.from({ length: 999 }, (_, i) => evil(`m${i}`)), { ...call('x', {}), changeType: 9 }) },
  });
  add({
    name: 'two good calls then a bad notification',
    category: 'batch-size',
    status: 202,
    quarantinedPath: '$.value[2].resourceData.state',
    request: { headers: auth, body: batch(evil(tag()), evil(tag()), call('x', { state: 9 })) },
  });

  // --- values the log cannot keep exactly (a restart would change them): 400 with the path
  const unstorable = (name: string, body: string, path: string) =>
    add({
      name: `unstorable: ${name}`,
      category: 'unstorable',
      status: 400,
      type: 'malformed-notification',
      path,
      request: { headers: auth, body },
    });
  unstorable(
    '1e400 in resourceData (Infinity live, null after a restart)',
    `{"value":[${e()},{"changeType":"updated","resourceUrl":"/communications/calls/evil-u","resourceData":{"state":"established","n":1e400}}]}`,
    '$.value[1].resourceData.n',
  );
  unstorable('-1e400 beside the notifications', `{"value":[${e()}],"sequence":-1e400}`, '$.sequence');
  unstorable(
    'a call id with a lone surrogate',
    `{"value":[${e()},{"changeType":"updated","resourceUrl":"/communications/calls/evil-\\ud800","resourceData":{"state":"established"}}]}`,
    '$.value[1].resourceUrl',
  );
  unstorable(
    'a call id with a NUL (%00)',
    `{"value":[${e()},{"changeType":"updated","resourceUrl":"/communications/calls/evil-%00","resourceData":{"state":"established"}}]}`,
    '$.value[1].resourceUrl',
  );

  // --- the Authorization header: 401 (431 when it is too large for node:http)
  const body = () => ({ headers: json, body: poison() });
  const header = (name: string, value: string | string[] | undefined, status: number, type?: string) => {
    const r = body();
    add({
      name: `auth header: ${name}`,
      category: 'auth-header',
      status,
      ...(type ? { type } : {}),
      request: { ...r, headers: value === undefined ? r.headers : { ...r.headers, authorization: value } },
    });
  };
  header('missing', undefined, 401, 'missing-token');
  header('Basic credentials', 'Basic dXNlcjpwYXNz', 401, 'missing-token');
  header('Bearer without a token', 'Bearer', 401, 'missing-token');
  header('Bearer with two tokens', `Bearer ${ctx.token} ${ctx.token}`, 401, 'missing-token');
  header('the token without "Bearer"', ctx.token, 401, 'missing-token');
  header('not a JWT', 'Bearer not.a.jwt', 401, 'invalid-token');
  header('random base64', `Bearer ${Buffer.from('x'.repeat(300)).toString('base64url')}`, 401, 'invalid-token');
  header('a valid token with a suffix', `Bearer ${ctx.token}x`, 401, 'invalid-token');
  header('a 12 KB token', `Bearer ${'a'.repeat(6000)}.${'b'.repeat(6000)}.c`, 401, 'invalid-token');
  header('a 20 KB header (node:http limit)', `Bearer ${'a'.repeat(20_000)}`, 431);
  // two values: node:http keeps the first of a repeated Authorization, a Fetch Request joins them
  header('two headers, the genuine one first', [`Bearer ${ctx.token}`, 'Bearer junk'], 400, 'duplicate-authorization');
  header('two headers, the genuine one second', ['Bearer junk', `Bearer ${ctx.token}`], 400, 'duplicate-authorization');
  header('the genuine header twice', [`Bearer ${ctx.token}`, `Bearer ${ctx.token}`], 400, 'duplicate-authorization');
  header('two tokens in one header, comma-separated', `Bearer ${ctx.token}, Bearer ${ctx.token}`, 400, 'duplicate-authorization');
  add({
    name: 'auth header: token in the query string instead',
    category: 'auth-header',
    status: 401,
    type: 'missing-token',
    query: `?access_token=${ctx.token}`,
    request: body(),
  });

  // --- claims: expired, not yet valid, other audience or issuer
  const claims: Array<[string, Parameters<KeyServer['token']>[0], number, string]> = [
    ['expired an hour ago', { exp: now - 3600, iat: now - 7200, nbf: now - 7200 }, 401, 'invalid-token'],
    ['expired just past the 5 min skew', { exp: now - 330, iat: now - 4000, nbf: now - 4000 }, 401, 'invalid-token'],
    ['not valid for another hour (nbf)', { nbf: now + 3600, exp: now + 7200 }, 401, 'invalid-token'],
    ['no exp', { exp: null }, 401, 'invalid-token'],
    ['issued an hour in the future (iat; jose alone checks it only with maxTokenAge)', { iat: now + 3600 }, 401, 'invalid-token'],
    ['valid for ten years (exp - iat)', { exp: now + 10 * 365 * 86_400 }, 401, 'invalid-token'],
    ['valid for a day (exp - iat)', { exp: now + 86_400 - 60 }, 401, 'invalid-token'],
    ['a second longer than the bound (exp - iat)', { nbf: now, exp: now + DEFAULT_MAX_TOKEN_LIFETIME_SECONDS + 1 }, 401, 'invalid-token'],
    ['no iat, valid for a day from nbf', { iat: null, nbf: now - 60, exp: now + 86_400 }, 401, 'invalid-token'],
    ['iat now but nbf a year back', { nbf: now - 365 * 86_400 }, 401, 'invalid-token'],
    ['neither iat nor nbf, expiring in a day', { iat: null, nbf: null, exp: now + 86_400 }, 401, 'invalid-token'],
    ['another audience', { aud: '00000000-0000-0000-0000-000000000000' }, 403, 'wrong-audience-or-issuer'],
    ['audience list without this app', { aud: ['someone-else', 'another-bot'] }, 403, 'wrong-audience-or-issuer'],
    ['no audience', { aud: null }, 403, 'wrong-audience-or-issuer'],
    ['another issuer', { iss: 'https://sts.windows.net/evil/' }, 403, 'wrong-audience-or-issuer'],
    ['issuer with another casing', { iss: ISSUER.toUpperCase() }, 403, 'wrong-audience-or-issuer'],
    ['issuer with a trailing slash', { iss: `${ISSUER}/` }, 403, 'wrong-audience-or-issuer'],
    ['no issuer', { iss: null }, 403, 'wrong-audience-or-issuer'],
  ];
  for (const [name, o, status, type] of claims) {
    add({
      name: `claims: ${name}`,
      category: 'token-claims',
      status,
      type,
      request: { headers: { ...json, authorization: `Bearer ${await ctx.keys.token(o)}` }, body: poison() },
    });
  }

  // --- forged tokens: 401
  const good = { aud: ctx.appId, iss: ISSUER, exp: now + 600, nbf: now - 60 };
  const stranger = await forge.strangerKey();
  const forged = async (name: string, token: string | Promise<string>) =>
    add({
      name: `forged: ${name}`,
      category: 'token-forgery',
      status: 401,
      type: 'invalid-token',
      request: { headers: { ...json, authorization: `Bearer ${await token}` }, body: poison() },
    });
  await forged('alg none', forge.algNone(good, ctx.keys.kid));
  await forged(
    'alg NONE',
    forge.tamperHeader(forge.algNone(good, ctx.keys.kid), (h) => void (h['alg'] = 'NONE')),
  );
  await forged('HS256 keyed with the public key PEM', forge.hmacWith(good, ctx.keys.kid, ctx.keys.publicPem));
  await forged('HS256 keyed with the public JWK', forge.hmacWith(good, ctx.keys.kid, JSON.stringify(ctx.keys.publicJwk)));
  await forged('HS512 keyed with the public key PEM', forge.hmacWith(good, ctx.keys.kid, ctx.keys.publicPem, 'HS512'));
  await forged('signed by an unknown key, claiming the real kid', ctx.keys.token({ key: stranger.privateKey }));
  await forged('signed by an unknown key with its own kid', ctx.keys.token({ key: stranger.privateKey, kid: 'attacker-key' }));
  await forged(
    'embedded jwk header with the attacker key',
    ctx.keys.token({ key: stranger.privateKey, kid: 'attacker-key-2', extraHeader: { jwk: stranger.jwk } }),
  );
  await forged(
    'jku header pointing at the attacker',
    ctx.keys.token({ key: stranger.privateKey, kid: 'attacker-key-3', extraHeader: { jku: 'http://127.0.0.1:9/keys' } }),
  );
  await forged(
    'tampered payload: exp extended',
    forge.tamperPayload(await ctx.keys.token({ exp: now - 3600, nbf: now - 7200 }), (c) => void (c['exp'] = now + 3600)),
  );
  await forged(
    'tampered payload: aud swapped in',
    forge.tamperPayload(await ctx.keys.token({ aud: 'other-bot' }), (c) => void (c['aud'] = ctx.appId)),
  );
  await forged(
    'tampered payload: extra claim',
    forge.tamperPayload(ctx.token, (c) => void (c['role'] = 'admin')),
  );
  await forged('one signature character changed', forge.flipSignature(ctx.token));
  await forged('signature stripped', ctx.token.slice(0, ctx.token.lastIndexOf('.') + 1));
  await forged(
    'header relabelled RS512',
    forge.tamperHeader(ctx.token, (h) => void (h['alg'] = 'RS512')),
  );
  await forged(
    'header relabelled PS256',
    forge.tamperHeader(ctx.token, (h) => void (h['alg'] = 'PS256')),
  );
  await forged(
    'an unknown crit header',
    forge.rawRs256({ alg: 'RS256', kid: ctx.keys.kid, crit: ['x-evil'], 'x-evil': 1 }, good, ctx.keys.privateKey),
  );
  await forged(
    'unencoded payload (b64: false)',
    forge.rawRs256({ alg: 'RS256', kid: ctx.keys.kid, crit: ['b64'], b64: false }, good, ctx.keys.privateKey),
  );
  await forged('no kid', ctx.keys.token({ kid: null }));
  await forged(
    'a 4,000-character alg (echoed only as a prefix)',
    forge.tamperHeader(ctx.token, (h) => void (h['alg'] = `RS${'9'.repeat(4000)}`)),
  );
  await forged('kid with path traversal', ctx.keys.token({ key: stranger.privateKey, kid: '../../../etc/passwd' }));
  await forged('kid __proto__', ctx.keys.token({ key: stranger.privateKey, kid: '__proto__' }));
  for (let i = 0; i < 10; i++) await forged(`unknown-kid flood #${i + 1}`, ctx.keys.token({ key: stranger.privateKey, kid: `flood-${i}` }));

  // --- replays: the same token after it expired
  add({
    name: 'replay: a token accepted earlier, after it expired',
    category: 'token-replay',
    status: 401,
    type: 'invalid-token',
    request: { headers: { ...json, authorization: `Bearer ${ctx.shortLivedToken}` }, body: poison() },
    before: () => ctx.shiftClock(2 * 3600_000),
    after: () => ctx.shiftClock(0),
  });
  return out;
}
