import { describe, expect, it } from 'vitest';
import { DecodeError } from '../errors/errors.js';
import { decodeNotifications } from './decode.js';
import { parseResourcePath } from './paths.js';

const meta = { receivedAt: 1000 };

function body(items: unknown[]): Record<string, unknown> {
  return { '@odata.type': '#microsoft.graph.commsNotifications', value: items };
}

function item(overrides: Record<string, unknown>): Record<string, unknown> {
  return {
    '@odata.type': '#microsoft.graph.commsNotification',
    changeType: 'updated',
    resourceUrl: '/communications/calls/c1',
    resourceData: { '@odata.type': '#microsoft.graph.call', state: 'established' },
    ...overrides,
  };
}

function decodeError(input: unknown): DecodeError {
  try {
    decodeNotifications(input, meta);
  } catch (error) {
    expect(error).toBeInstanceOf(DecodeError);
    return error as DecodeError;
  }
  throw new Error('expected a DecodeError');
}

describe('parseResourcePath', () => {
  it.each([
    ['/communications/calls/abc', 'abc', { type: 'call' }],
    ['/app/calls/abc', 'abc', { type: 'call' }],
    ['https://graph.microsoft.com/v1.0/communications/calls/abc/', 'abc', { type: 'call' }],
    ['/beta/app/calls/abc/participants', 'abc', { type: 'participants' }],
    ['/communications/calls/abc/participants/p1', 'abc', { type: 'participant', participantId: 'p1' }],
    ['/communications/calls/abc/operations/o1', 'abc', { type: 'operation', operationId: 'o1' }],
    ['/communications/calls/abc/contentsharingsessions', 'abc', { type: 'contentSharingSessions' }],
    ['/Communications/Calls/abc/ContentSharingSessions/s1', 'abc', { type: 'contentSharingSessions', sessionId: 's1' }],
    ['/communications/calls/abc/audioRoutingGroups/g1', 'abc', { type: 'audioRoutingGroups', groupId: 'g1' }],
  ])('%s', (path, callId, target) => {
    expect(parseResourcePath(path)).toEqual({ callId, target });
  });

  it('keeps an unknown sub-resource as an unknown target', () => {
    expect(parseResourcePath('/communications/calls/abc/somethingNew')?.target.type).toBe('unknown');
  });

  it('rejects paths that name no call', () => {
    expect(parseResourcePath('/communications/onlineMeetings/x')).toBeUndefined();
    expect(parseResourcePath('/communications/calls/')).toBeUndefined();
  });
});

describe('decodeNotifications', () => {
  it('routes a batch to calls and sub-resources, preferring resourceUrl over resource', () => {
    const entries = decodeNotifications(
      body([
        item({ resource: '/app/calls/c1' }),
        item({ resourceUrl: undefined, resource: '/app/calls/c2/participants', resourceData: [{ id: 'p1', isInLobby: true }] }),
        item({
          changeType: 'Deleted',
          resourceUrl: '/communications/calls/c1/operations/o1',
          resourceData: { '@odata.type': '#microsoft.graph.playPromptOperation', status: 'Completed' },
        }),
      ]),
      meta,
    );
    expect(entries.map((e) => [e.callId, e.target.type, e.changeType])).toEqual([
      ['c1', 'call', 'updated'],
      ['c2', 'participants', 'updated'],
      ['c1', 'operation', 'deleted'],
    ]);
    expect(entries[2]!.target).toEqual({ type: 'operation', operationId: 'o1' });
    expect(entries.every((e) => e.at === 1000)).toBe(true);
  });

  it('accepts a JSON string and gives a redelivered body the same entry ids', () => {
    const text = JSON.stringify(body([item({})]));
    const first = decodeNotifications(text, { receivedAt: 1 });
    const again = decodeNotifications(text, { receivedAt: 99 });
    expect(first[0]!.id).toBe(again[0]!.id);
    expect(first[0]!.id).toMatch(/^n:[0-9a-f]{14}$/);
  });

  it('derives ids from the delivery message id when there is one', () => {
    const entries = decodeNotifications(body([item({}), item({ resourceData: { state: 'hold' } })]), { receivedAt: 1, messageId: 'm-7' });
    expect(entries.map((e) => e.id)).toEqual(['m:m-7:0', 'm:m-7:1']);
  });

  it('files a roster posted to /operations/participants (a docs example) as the roster', () => {
    const [entry] = decodeNotifications(
      body([
        item({
          resourceUrl: '/communications/calls/c1/operations/participants',
          resourceData: [{ '@odata.type': '#microsoft.graph.participant', id: 'p1' }],
        }),
      ]),
      meta,
    );
    expect(entry!.target).toEqual({ type: 'participants' });
  });

  it('keeps unknown @odata.types as unknown targets instead of throwing', () => {
    const [entry] = decodeNotifications(body([item({ resourceData: { '@odata.type': '#microsoft.graph.somethingNew', x: 1 } })]), meta);
    expect(entry!.target).toEqual({ type: 'unknown', reason: "unexpected @odata.type 'somethingNew' for a call" });
  });

  it('accepts string and number result codes and sequence ids', () => {
    expect(() =>
      decodeNotifications(
        body([
          item({
            resourceData: { state: 'terminated', resultInfo: { code: '200', subcode: 5002 }, toneInfo: { sequenceId: '3', tone: 'tone1' } },
          }),
        ]),
        meta,
      ),
    ).not.toThrow();
  });

  it('accepts a participant without an id when its identity has one (docs show "id": null)', () => {
    const [entry] = decodeNotifications(
      body([
        item({
          resourceUrl: '/communications/calls/c1/participants',
          resourceData: [{ id: null, info: { identity: { user: { id: 'u1' } } } }],
        }),
      ]),
      meta,
    );
    expect(entry!.target.type).toBe('participants');
  });

  describe('malformed input is a DecodeError naming the field', () => {
    it.each<[string, unknown, string, string]>([
      ['truncated JSON', '{"value": [', '$', 'invalid-json'],
      ['a JSON array', '[]', '$', 'not-an-object'],
      ['no value', { foo: 1 }, '$.value', 'missing-field'],
      ['value not an array', { value: {} }, '$.value', 'wrong-type'],
      ['an item not an object', body([1]), '$.value[0]', 'not-an-object'],
      ['no changeType', body([item({ changeType: undefined })]), '$.value[0].changeType', 'missing-field'],
      ['changeType a number', body([item({ changeType: 3 })]), '$.value[0].changeType', 'wrong-type'],
      ['unknown changeType', body([item({ changeType: 'moved' })]), '$.value[0].changeType', 'invalid-value'],
      ['no resource at all', body([item({ resourceUrl: undefined })]), '$.value[0].resourceUrl', 'missing-field'],
      ['resourceUrl a number', body([item({ resourceUrl: 5 })]), '$.value[0].resourceUrl', 'wrong-type'],
      ['not a call resource', body([item({ resourceUrl: '/users/x' })]), '$.value[0].resourceUrl', 'invalid-value'],
      ['call data an array', body([item({ resourceData: [] })]), '$.value[0].resourceData', 'wrong-type'],
      ['state a number', body([item({ resourceData: { state: 7 } })]), '$.value[0].resourceData.state', 'wrong-type'],
      [
        'resultInfo.code not numeric',
        body([item({ resourceData: { resultInfo: { code: 'oops' } } })]),
        '$.value[0].resourceData.resultInfo.code',
        'wrong-type',
      ],
      ['toneInfo a string', body([item({ resourceData: { toneInfo: 'x' } })]), '$.value[0].resourceData.toneInfo', 'wrong-type'],
      [
        'roster not an array',
        body([item({ resourceUrl: '/communications/calls/c1/participants', resourceData: 'x' })]),
        '$.value[0].resourceData',
        'wrong-type',
      ],
      [
        'participant without any id',
        body([item({ resourceUrl: '/communications/calls/c1/participants', resourceData: [{ isMuted: true }] })]),
        '$.value[0].resourceData[0].id',
        'missing-field',
      ],
      [
        'participant id a number',
        body([item({ resourceUrl: '/communications/calls/c1/participants', resourceData: [{ id: 5 }] })]),
        '$.value[0].resourceData[0].id',
        'wrong-type',
      ],
      [
        'isInLobby a string',
        body([item({ resourceUrl: '/communications/calls/c1/participants', resourceData: [{ id: 'p', isInLobby: 'yes' }] })]),
        '$.value[0].resourceData[0].isInLobby',
        'wrong-type',
      ],
      [
        'operation without id',
        body([item({ resourceUrl: '/communications/calls/c1/operations', resourceData: { status: 'running' } })]),
        '$.value[0].resourceData.id',
        'missing-field',
      ],
      [
        'operation status a number',
        body([item({ resourceUrl: '/communications/calls/c1/operations/o', resourceData: { status: 1 } })]),
        '$.value[0].resourceData.status',
        'wrong-type',
      ],
      [
        'session without id',
        body([item({ resourceUrl: '/communications/calls/c1/contentsharingsessions', resourceData: [{}] })]),
        '$.value[0].resourceData[0].id',
        'missing-field',
      ],
    ])('%s', (_name, input, path, reason) => {
      const error = decodeError(input);
      expect(error.code).toBe('SWB_DECODE');
      expect(error.path).toBe(path);
      expect(error.reason).toBe(reason);
    });

    it('rejects __proto__, constructor and prototype keys, also behind escapes', () => {
      expect(decodeError('{"value":[],"__proto__":{"polluted":true}}').path).toBe('$.__proto__');
      expect(
        decodeError('{"value":[{"changeType":"updated","resourceUrl":"/app/calls/c","resourceData":{"\\u005f_proto__":{}}}]}').path,
      ).toBe('$.value[0].resourceData.__proto__');
      expect(decodeError(body([item({ resourceData: { constructor: { prototype: {} } } })])).reason).toBe('forbidden-key');
      expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    });

    it('rejects huge batches, huge rosters and deep nesting', () => {
      expect(decodeError(body(Array.from({ length: 1001 }, () => item({})))).reason).toBe('too-large');
      const roster = Array.from({ length: 5001 }, (_, i) => ({ id: `p${i}` }));
      expect(decodeError(body([item({ resourceUrl: '/communications/calls/c/participants', resourceData: roster })])).reason).toBe(
        'too-large',
      );
      let deep: unknown = {};
      for (let i = 0; i < 100; i++) deep = { a: deep };
      expect(decodeError(body([item({ resourceData: { state: 'established', x: deep } })])).reason).toBe('too-deep');
      expect(decodeError('['.repeat(200_000)).reason).toBe('invalid-json');
      const long = decodeError(body([item({ resourceUrl: `/communications/calls/${'x'.repeat(257)}`, resource: undefined })]));
      expect([long.reason, long.path]).toEqual(['too-large', '$.value[0].resourceUrl']);
      expect(
        decodeNotifications(body([item({ resourceUrl: `/communications/calls/${'x'.repeat(256)}`, resource: undefined })]), {
          receivedAt: 1,
        }),
      ).toHaveLength(1);
    });
  });
});

describe('shapes Graph sends', () => {
  it('accepts notifications with no resource data (call: answer page, example 2: content sharing sessions)', () => {
    const session =
      '/communications/calls/421f4c00-4436-4c3a-9d9a-c4924cf98e67/contentsharingsessions/2765eb15-01f8-47c6-b12b-c32111a4a86f';
    const entries = decodeNotifications(
      body([
        { '@odata.type': '#microsoft.graph.commsNotification', changeType: 'created', resourceUrl: session },
        { '@odata.type': '#microsoft.graph.commsNotification', changeType: 'deleted', resourceUrl: session },
      ]),
      meta,
    );
    expect(entries.map((e) => [e.changeType, e.target])).toEqual([
      ['created', { type: 'contentSharingSessions', sessionId: '2765eb15-01f8-47c6-b12b-c32111a4a86f' }],
      ['deleted', { type: 'contentSharingSessions', sessionId: '2765eb15-01f8-47c6-b12b-c32111a4a86f' }],
    ]);
    expect(entries[0]!.id).not.toBe(entries[1]!.id);
    // every target takes it: the path says what changed
    for (const path of ['', '/participants', '/participants/p1', '/operations/o1', '/operations', '/audioRoutingGroups/g1']) {
      for (const resourceData of [undefined, null]) {
        const [entry] = decodeNotifications(
          body([item({ changeType: 'updated', resourceUrl: `/communications/calls/c1${path}`, resourceData })]),
          meta,
        );
        expect(entry!.resourceData).toBe(resourceData);
      }
    }
  });

  it('reads a resourceUrl without its leading slash (participant: startHoldMusic and stopHoldMusic pages)', () => {
    const url = 'communications/calls/e141b67c-90fd-455d-858b-b48a40b9cc8d/operations/0fe0623f-d628-42ed-b4bd-8ac290072cc5';
    expect(parseResourcePath(url)).toEqual({
      callId: 'e141b67c-90fd-455d-858b-b48a40b9cc8d',
      target: { type: 'operation', operationId: '0fe0623f-d628-42ed-b4bd-8ac290072cc5' },
    });
    expect(parseResourcePath('app/calls/abc')).toEqual({ callId: 'abc', target: { type: 'call' } });
    expect(parseResourcePath('communications/calls/abc/participants/')).toEqual({ callId: 'abc', target: { type: 'participants' } });
    expect(parseResourcePath('v1.0/communications/calls/abc')?.callId).toBe('abc');
    expect(parseResourcePath('xcommunications/calls/abc')).toBeUndefined();
    const [entry] = decodeNotifications(
      body([
        item({
          changeType: 'deleted',
          resourceUrl: url,
          resourceData: { '@odata.type': '#microsoft.graph.startHoldMusicOperation', '@odata.id': url, status: 'completed' },
        }),
      ]),
      meta,
    );
    expect([entry!.callId, entry!.target]).toEqual([
      'e141b67c-90fd-455d-858b-b48a40b9cc8d',
      { type: 'operation', operationId: '0fe0623f-d628-42ed-b4bd-8ac290072cc5' },
    ]);
  });

  it('files one GUID spelled two ways under one call key, keeping the spelling in the resource path', () => {
    const [upper] = decodeNotifications(body([item({ resourceUrl: '/communications/calls/57DAB8B1894C409AB240BD8BEAE78896' })]), meta);
    const [lower] = decodeNotifications(body([item({ resourceUrl: '/communications/calls/57dab8b1-894c-409a-b240-bd8beae78896' })]), meta);
    expect(upper!.callId).toBe('57dab8b1-894c-409a-b240-bd8beae78896');
    expect(lower!.callId).toBe('57dab8b1-894c-409a-b240-bd8beae78896');
    expect(upper!.resourceUrl).toBe('/communications/calls/57DAB8B1894C409AB240BD8BEAE78896');
    // the content id is hashed from Graph's spelling, as it always was
    expect(upper!.id).not.toBe(lower!.id);
    const [other] = decodeNotifications(body([item({ resourceUrl: '/communications/calls/Evil-Call' })]), meta);
    expect(other!.callId).toBe('Evil-Call');
  });

  it("reads changeType as a word, never as an object's inherited property", () => {
    for (const changeType of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      const error = decodeError(body([item({ changeType })]));
      expect([error.reason, error.path]).toEqual(['invalid-value', '$.value[0].changeType']);
    }
  });
});

describe('sequence numbers are safe integers', () => {
  it.each<[string, unknown, string]>([
    [
      'toneInfo.sequenceId 1.5',
      { state: 'established', toneInfo: { sequenceId: 1.5, tone: 'tone1' } },
      '$.value[0].resourceData.toneInfo.sequenceId',
    ],
    ['toneInfo.sequenceId 1e308', { toneInfo: { sequenceId: 1e308, tone: 'tone1' } }, '$.value[0].resourceData.toneInfo.sequenceId'],
    ['toneInfo.sequenceId 2^53', { toneInfo: { sequenceId: 2 ** 53, tone: 'tone1' } }, '$.value[0].resourceData.toneInfo.sequenceId'],
    [
      'toneInfo.sequenceId a 400-digit string',
      { toneInfo: { sequenceId: '9'.repeat(400), tone: 'tone1' } },
      '$.value[0].resourceData.toneInfo.sequenceId',
    ],
    ['resultInfo.code 200.5', { resultInfo: { code: 200.5 } }, '$.value[0].resourceData.resultInfo.code'],
  ])('%s', (_name, resourceData, path) => {
    const error = decodeError(body([item({ resourceData })]));
    expect([error.reason, error.path]).toEqual(['wrong-type', path]);
  });

  it('rosterSequenceNumber 1e308 or 0.5 is refused as decode says (an integer)', () => {
    for (const rosterSequenceNumber of [1e308, 0.5, -1.5]) {
      const error = decodeError(
        body([item({ resourceUrl: '/communications/calls/c1/participants', resourceData: [{ id: 'p1', rosterSequenceNumber }] })]),
      );
      expect([error.reason, error.path]).toEqual(['wrong-type', '$.value[0].resourceData[0].rosterSequenceNumber']);
    }
    expect(
      decodeNotifications(
        body([
          item({
            resourceUrl: '/communications/calls/c1/participants',
            resourceData: [{ id: 'p1', rosterSequenceNumber: Number.MAX_SAFE_INTEGER }],
          }),
        ]),
        meta,
      ),
    ).toHaveLength(1);
  });
});

describe('what the log cannot keep exactly is refused, naming the path', () => {
  it('numbers JSON cannot carry (1e400 parses as Infinity and reads back as null)', () => {
    const inData = decodeError(
      '{"value":[{"changeType":"updated","resourceUrl":"/communications/calls/c1","resourceData":{"state":"established","x":[1,1e400]}}]}',
    );
    expect([inData.reason, inData.path]).toEqual(['unstorable', '$.value[0].resourceData.x[1]']);
    const elsewhere = decodeError(
      '{"value":[{"changeType":"updated","resourceUrl":"/communications/calls/c1","subscriptionExpirationDateTime":-1e400}]}',
    );
    expect([elsewhere.reason, elsewhere.path]).toEqual(['unstorable', '$.value[0].subscriptionExpirationDateTime']);
    const envelope = decodeError('{"value":[],"sequence":1e999}');
    expect([envelope.reason, envelope.path]).toEqual(['unstorable', '$.sequence']);
    expect(decodeError(body([item({ resourceData: { n: Number.NaN } })])).reason).toBe('unstorable');
    expect(decodeError(body([item({ resourceData: { n: 10n } })])).reason).toBe('unstorable');
  });

  it('call ids with a lone surrogate or a NUL (the stores key streams by them)', () => {
    for (const id of ['a\\ud800', 'a\\udfffb', 'x\\u0000y', '%00']) {
      const error = decodeError(
        `{"value":[{"changeType":"updated","resourceUrl":"/communications/calls/${id}","resourceData":{"state":"established"}}]}`,
      );
      expect([error.reason, error.path]).toEqual(['unstorable', '$.value[0].resourceUrl']);
    }
    // a pair is fine, and so is a lone surrogate inside the resource data (JSON escapes keep it)
    const [pair] = decodeNotifications(
      '{"value":[{"changeType":"updated","resourceUrl":"/communications/calls/a\\ud83c\\udfa7","resourceData":{"displayName":"x\\ud800"}}]}',
      meta,
    );
    expect(pair!.callId).toBe('a\u{1f3a7}');
  });

  it('writes -0 as 0, which is what the log reads back', () => {
    const [entry] = decodeNotifications(
      '{"value":[{"changeType":"updated","resourceUrl":"/communications/calls/c1","resourceData":{"state":"established","toneInfo":{"sequenceId":-0,"tone":"tone1"},"list":[-0]}}]}',
      meta,
    );
    const data = entry!.resourceData as { toneInfo: { sequenceId: number }; list: number[] };
    expect(Object.is(data.toneInfo.sequenceId, 0)).toBe(true);
    expect(Object.is(data.list[0], 0)).toBe(true);
    const [plain] = decodeNotifications(
      '{"value":[{"changeType":"updated","resourceUrl":"/communications/calls/c1","resourceData":{"state":"established","toneInfo":{"sequenceId":0,"tone":"tone1"},"list":[0]}}]}',
      meta,
    );
    expect(entry!.id).toBe(plain!.id);
  });

  it('a message id that could not be an entry id is an argument error', () => {
    expect(() => decodeNotifications(body([item({})]), { receivedAt: 1, messageId: 'm\ud800' })).toThrow(/message id/);
  });
});
