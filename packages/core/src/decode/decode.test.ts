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
        item({ changeType: 'Deleted', resourceUrl: '/communications/calls/c1/operations/o1', resourceData: { '@odata.type': '#microsoft.graph.playPromptOperation', status: 'Completed' } }),
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
      body([item({ resourceUrl: '/communications/calls/c1/operations/participants', resourceData: [{ '@odata.type': '#microsoft.graph.participant', id: 'p1' }] })]),
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
      decodeNotifications(body([item({ resourceData: { state: 'terminated', resultInfo: { code: '200', subcode: 5002 }, toneInfo: { sequenceId: '3', tone: 'tone1' } } })]), meta),
    ).not.toThrow();
  });

  it('accepts a participant without an id when its identity has one (docs show "id": null)', () => {
    const [entry] = decodeNotifications(
      body([item({ resourceUrl: '/communications/calls/c1/participants', resourceData: [{ id: null, info: { identity: { user: { id: 'u1' } } } }] })]),
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
      ['resultInfo.code not numeric', body([item({ resourceData: { resultInfo: { code: 'oops' } } })]), '$.value[0].resourceData.resultInfo.code', 'wrong-type'],
      ['toneInfo a string', body([item({ resourceData: { toneInfo: 'x' } })]), '$.value[0].resourceData.toneInfo', 'wrong-type'],
      ['roster not an array', body([item({ resourceUrl: '/communications/calls/c1/participants', resourceData: 'x' })]), '$.value[0].resourceData', 'wrong-type'],
      ['participant without any id', body([item({ resourceUrl: '/communications/calls/c1/participants', resourceData: [{ isMuted: true }] })]), '$.value[0].resourceData[0].id', 'missing-field'],
      ['participant id a number', body([item({ resourceUrl: '/communications/calls/c1/participants', resourceData: [{ id: 5 }] })]), '$.value[0].resourceData[0].id', 'wrong-type'],
      ['isInLobby a string', body([item({ resourceUrl: '/communications/calls/c1/participants', resourceData: [{ id: 'p', isInLobby: 'yes' }] })]), '$.value[0].resourceData[0].isInLobby', 'wrong-type'],
      ['operation without id', body([item({ resourceUrl: '/communications/calls/c1/operations', resourceData: { status: 'running' } })]), '$.value[0].resourceData.id', 'missing-field'],
      ['operation status a number', body([item({ resourceUrl: '/communications/calls/c1/operations/o', resourceData: { status: 1 } })]), '$.value[0].resourceData.status', 'wrong-type'],
      ['session without id', body([item({ resourceUrl: '/communications/calls/c1/contentsharingsessions', resourceData: [{}] })]), '$.value[0].resourceData[0].id', 'missing-field'],
    ])('%s', (_name, input, path, reason) => {
      const error = decodeError(input);
      expect(error.code).toBe('SWB_DECODE');
      expect(error.path).toBe(path);
      expect(error.reason).toBe(reason);
    });

    it('rejects __proto__, constructor and prototype keys, also behind escapes', () => {
      expect(decodeError('{"value":[],"__proto__":{"polluted":true}}').path).toBe('$.__proto__');
      expect(decodeError('{"value":[{"changeType":"updated","resourceUrl":"/app/calls/c","resourceData":{"\\u005f_proto__":{}}}]}').path).toBe(
        '$.value[0].resourceData.__proto__',
      );
      expect(decodeError(body([item({ resourceData: { constructor: { prototype: {} } } })])).reason).toBe('forbidden-key');
      expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    });

    it('rejects huge batches, huge rosters and deep nesting', () => {
      expect(decodeError(body(Array.from({ length: 1001 }, () => item({})))).reason).toBe('too-large');
      const roster = Array.from({ length: 5001 }, (_, i) => ({ id: `p${i}` }));
      expect(decodeError(body([item({ resourceUrl: '/communications/calls/c/participants', resourceData: roster })])).reason).toBe('too-large');
      let deep: unknown = {};
      for (let i = 0; i < 100; i++) deep = { a: deep };
      expect(decodeError(body([item({ resourceData: { state: 'established', x: deep } })])).reason).toBe('too-deep');
      expect(decodeError('['.repeat(200_000)).reason).toBe('invalid-json');
      const long = decodeError(body([item({ resourceUrl: `/communications/calls/${'x'.repeat(257)}`, resource: undefined })]));
      expect([long.reason, long.path]).toEqual(['too-large', '$.value[0].resourceUrl']);
      expect(decodeNotifications(body([item({ resourceUrl: `/communications/calls/${'x'.repeat(256)}`, resource: undefined })]), { receivedAt: 1 })).toHaveLength(1);
    });
  });
});
