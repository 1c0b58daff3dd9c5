import { describe, expect, it } from 'vitest';
import { decodeNotifications } from '../decode/decode.js';
import { QUARANTINE_STREAM, type QuarantinedEntry } from '../log/entries.js';
import { InMemoryEventStore } from '../log/store.js';
import { callStateBody } from '../testing/scenarios.js';
import { createEngine, type UndecodableEvent } from './engine.js';

let now = 0;
const clock = () => ++now;

const note = (callId: string, data: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  '@odata.type': '#microsoft.graph.commsNotification',
  changeType: 'updated',
  resourceUrl: `/communications/calls/${callId}`,
  resourceData: { '@odata.type': '#microsoft.graph.call', ...data },
  ...extra,
});
const delivery = (...value: unknown[]) => ({ '@odata.type': '#microsoft.graph.commsNotifications', value });

function collect(engine: ReturnType<typeof createEngine>): UndecodableEvent[] {
  const seen: UndecodableEvent[] = [];
  engine.on('undecodable', (e) => seen.push(e));
  return seen;
}

describe('quarantine: a notification that does not decode is kept, not refused', () => {
  it('applies the rest of the delivery, stores the odd one in its call with the error, and reports it once', async () => {
    const engine = createEngine({ clock });
    const seen = collect(engine);
    const body = delivery(note('c1', { state: 'establishing' }), note('c2', { state: 'established' }), note('c1', { state: 42 }));
    const result = await engine.ingest(body, { receivedAt: 500 });
    expect([result.received, result.appended, result.quarantined]).toEqual([3, 3, 1]);
    expect(engine.getCall('c1')?.state).toBe('establishing');
    expect(engine.getCall('c2')?.state).toBe('established');

    const stream = await engine.store.readStream('c1');
    const kept = stream[1]! as QuarantinedEntry & { position: number };
    expect(kept).toMatchObject({
      kind: 'quarantined',
      callId: 'c1',
      at: 500,
      index: 2,
      position: 2,
      notification: body.value[2],
      error: { code: 'SWB_DECODE', reason: 'wrong-type', path: '$.value[2].resourceData.state' },
    });
    expect(kept.id).toMatch(/^q:[0-9a-f]{14}$/);
    expect(engine.getCall('c1')?.version).toBe(2); // folded past, changing nothing
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ type: 'undecodable', callId: 'c1', entry: { id: kept.id, position: 2 }, error: kept.error });

    // Graph redelivers the whole delivery: nothing new, nothing reported again
    const again = await engine.ingest(JSON.stringify(body), { receivedAt: 900 });
    expect([again.appended, again.duplicates, again.quarantined]).toEqual([0, 3, 1]);
    expect(seen).toHaveLength(1);
  });

  it('a notification that names no call goes to the quarantine stream, which is not a call', async () => {
    const store = new InMemoryEventStore();
    const engine = createEngine({ clock, store });
    const seen = collect(engine);
    const { resourceUrl: _none, ...noPath } = note('c1', { state: 'established' });
    const result = await engine.ingest(delivery(noPath, null, note('c1', { state: 'established' }, { resourceUrl: '/users/x' })), {
      receivedAt: 7,
      messageId: 'm-1',
    });
    expect([result.appended, result.quarantined, result.callIds]).toEqual([3, 3, []]);
    const held = await store.readStream(QUARANTINE_STREAM);
    expect(held.map((e) => [e.id, e.kind, (e as QuarantinedEntry).error.path])).toEqual([
      ['q:m-1:0', 'quarantined', '$.value[0].resourceUrl'],
      ['q:m-1:1', 'quarantined', '$.value[1]'],
      ['q:m-1:2', 'quarantined', '$.value[2].resourceUrl'],
    ]);
    expect(seen.map((e) => e.callId)).toEqual([null, null, null]);
    expect(engine.calls()).toEqual([]);

    // a restart does not take it for a call; neither does a follower's refresh
    const restarted = createEngine({ clock, store });
    expect(await restarted.hydrate()).toBe(0);
    expect(await restarted.refresh(QUARANTINE_STREAM)).toEqual([]);
    expect(await restarted.load(QUARANTINE_STREAM)).toBeUndefined();
    expect(restarted.calls()).toEqual([]);
    await expect(restarted.record(QUARANTINE_STREAM, { kind: 'timer', id: 't', timer: 'keepAliveDue' })).rejects.toMatchObject({
      code: 'SWB_INVALID_ARGUMENT',
    });
    // nor does a notification for a call of that name get in as one
    await engine.ingest(delivery(note(QUARANTINE_STREAM, { state: 'established' })));
    expect(engine.calls()).toEqual([]);
    expect((await store.readStream(QUARANTINE_STREAM)).at(-1)).toMatchObject({ kind: 'quarantined', error: { reason: 'invalid-value' } });
  });

  it('what cannot be a delivery or cannot be stored is still refused whole', async () => {
    const engine = createEngine({ clock });
    const seen = collect(engine);
    const tooLong = note('x'.repeat(257), { state: 'established' });
    for (const body of [
      delivery(note('c1', { state: 'established' }), tooLong),
      delivery(note('c1', { state: 'established' }), note('c1', { state: 42, n: Number.POSITIVE_INFINITY })),
      '{"value":[{"changeType":"updated","resourceUrl":"/communications/calls/c1","resourceData":{"state":"established"}},{"changeType":7,"resourceUrl":"/communications/calls/c\\ud800"}]}',
      '{"value":[{"changeType":"updated","resourceUrl":"/communications/calls/c1","resourceData":{"state":"established"}},{"changeType":7,"x":1e400}]}',
    ]) {
      await expect(engine.ingest(body)).rejects.toMatchObject({ code: 'SWB_DECODE' });
    }
    expect(await engine.store.listStreams()).toEqual([]);
    expect(seen).toEqual([]);
  });

  it('the entry ids of decodable notifications are what they were: quarantine changes nothing for them', async () => {
    const engine = createEngine({ clock });
    const body = delivery(note('c1', { state: 'establishing' }), note('c1', { state: 'nope', toneInfo: 'x' }));
    await engine.ingest(body, { receivedAt: 1 });
    const [first] = decodeNotifications(delivery(note('c1', { state: 'establishing' })), { receivedAt: 1 });
    expect((await engine.store.readStream('c1'))[0]!.id).toBe(first!.id);
  });
});

describe('redecode: after an upgrade, quarantined notifications are folded in where they belong', () => {
  // Written as a version that could not read them stored them: the participant:
  // startHoldMusic page's notification (no leading slash, so no call id it could read) in the
  // quarantine stream, and the call: answer page's content sharing notification (no
  // resourceData) in its call's stream.
  const holdMusic = {
    '@odata.type': '#microsoft.graph.commsNotification',
    changeType: 'deleted',
    resourceUrl: 'communications/calls/e141b67c-90fd-455d-858b-b48a40b9cc8d/operations/0fe0623f-d628-42ed-b4bd-8ac290072cc5',
    resourceData: {
      '@odata.type': '#microsoft.graph.startHoldMusicOperation',
      '@odata.id': 'communications/calls/e141b67c-90fd-455d-858b-b48a40b9cc8d/operations/0fe0623f-d628-42ed-b4bd-8ac290072cc5',
      '@odata.etag': 'W/"54451"',
      clientContext: 'd45324c1-fcb5-430a-902c-f20af696537c',
      status: 'completed',
    },
  };
  const sharing = {
    '@odata.type': '#microsoft.graph.commsNotification',
    changeType: 'created',
    resourceUrl: '/communications/calls/421f4c00-4436-4c3a-9d9a-c4924cf98e67/contentsharingsessions/2765eb15-01f8-47c6-b12b-c32111a4a86f',
  };
  const SHARING_CALL = '421f4c00-4436-4c3a-9d9a-c4924cf98e67';
  const HOLD_CALL = 'e141b67c-90fd-455d-858b-b48a40b9cc8d';

  function olderVersionsLog(): InMemoryEventStore {
    const store = new InMemoryEventStore();
    const quarantined = (
      id: string,
      callId: string,
      notification: unknown,
      path: string,
      reason: string,
      at: number,
    ): QuarantinedEntry => ({
      kind: 'quarantined',
      id,
      callId,
      at,
      notification,
      index: 0,
      error: { code: 'SWB_DECODE', reason, path, message: `${path}: the version that stored it could not read it` },
    });
    store.appendSync(QUARANTINE_STREAM, [quarantined('q:1', QUARANTINE_STREAM, holdMusic, '$.value[0].resourceUrl', 'invalid-value', 10)]);
    const established = decodeNotifications(callStateBody(SHARING_CALL, 'established'), { receivedAt: 5 });
    store.appendSync(SHARING_CALL, [
      ...established,
      quarantined('q:2', SHARING_CALL, sharing, '$.value[0].resourceData', 'wrong-type', 20),
    ]);
    store.appendSync(QUARANTINE_STREAM, [
      quarantined('q:3', QUARANTINE_STREAM, { changeType: 'sideways' }, '$.value[0].changeType', 'invalid-value', 30),
    ]);
    return store;
  }

  it('appends each notification that decodes now to its call, folds it and emits its events; a second run adds nothing', async () => {
    const store = olderVersionsLog();
    const engine = createEngine({ clock, store });
    await engine.hydrate();
    expect(engine.getCall(HOLD_CALL)).toBeUndefined();
    expect(engine.getCall(SHARING_CALL)?.contentSharingSessions).toEqual({});
    const events: string[] = [];
    engine.on('event', (e) => events.push(`${e.type} ${e.callId}`));

    const first = await engine.redecode();
    expect(first).toMatchObject({ examined: 3, redecoded: 2, alreadyApplied: 0, callIds: [HOLD_CALL, SHARING_CALL] });
    expect(first.stillUndecodable.map((s) => [s.entry.id, s.error.reason, s.error.path])).toEqual([
      ['q:3', 'invalid-value', '$.value[0].changeType'],
    ]);
    expect(Object.values(engine.getCall(HOLD_CALL)!.operations).map((o) => o.status)).toEqual(['completed']);
    expect(engine.getCall(SHARING_CALL)!.contentSharingSessions['2765eb15-01f8-47c6-b12b-c32111a4a86f']).toMatchObject({ deleted: false });
    expect(events).toContain(`callCreated ${HOLD_CALL}`);
    expect(events).toContain(`operationSettled ${HOLD_CALL}`);

    // the entries it appended have the ids they would have had on arrival, and their arrival time
    const [asArrived] = decodeNotifications({ value: [holdMusic] }, { receivedAt: 10 });
    expect(await store.readStream(HOLD_CALL)).toMatchObject([{ id: asArrived!.id, at: 10, kind: 'notification', position: 1 }]);

    const before = { hold: await store.readStream(HOLD_CALL), sharing: await store.readStream(SHARING_CALL) };
    events.length = 0;
    const second = await engine.redecode();
    expect(second).toMatchObject({ examined: 3, redecoded: 0, alreadyApplied: 2, callIds: [] });
    expect({ hold: await store.readStream(HOLD_CALL), sharing: await store.readStream(SHARING_CALL) }).toEqual(before);
    expect(events).toEqual([]);

    // and Graph's redelivery of it after the upgrade is a duplicate
    const redelivered = await engine.ingest({ value: [holdMusic] }, { receivedAt: 99 });
    expect([redelivered.appended, redelivered.duplicates]).toEqual([0, 1]);

    // a restart replays to the same views
    const restarted = createEngine({ clock, store });
    await restarted.hydrate();
    expect(restarted.getCall(HOLD_CALL)).toEqual(engine.getCall(HOLD_CALL));
    expect(restarted.getCall(SHARING_CALL)).toEqual(engine.getCall(SHARING_CALL));
  });

  it('can be limited to some calls', async () => {
    const engine = createEngine({ clock, store: olderVersionsLog() });
    const result = await engine.redecode({ callIds: [SHARING_CALL] });
    expect(result).toMatchObject({ examined: 1, redecoded: 1, callIds: [SHARING_CALL] });
    expect(engine.getCall(HOLD_CALL)).toBeUndefined();
  });
});

describe('one GUID, two spellings (call: playPrompt page)', () => {
  it('is one call whatever spelling a lookup or a record uses; the view keeps Graph first spelling', async () => {
    const engine = createEngine({ clock });
    await engine.ingest(callStateBody('57DAB8B1894C409AB240BD8BEAE78896', 'established'));
    await engine.record('57dab8b1-894c-409a-b240-bd8beae78896', { kind: 'command', id: 'cmd-1', command: 'playPrompt' });
    await engine.ingest(callStateBody('57dab8b1-894c-409a-b240-bd8beae78896', 'hold'));
    expect(await engine.store.listStreams()).toEqual(['57dab8b1-894c-409a-b240-bd8beae78896']);
    const view = engine.getCall('57DAB8B1894C409AB240BD8BEAE78896');
    expect(view).toEqual(engine.getCall('57dab8b1-894c-409a-b240-bd8beae78896'));
    expect(view).toBeDefined();
    expect(view).toMatchObject({
      id: '57dab8b1-894c-409a-b240-bd8beae78896',
      graphId: '57DAB8B1894C409AB240BD8BEAE78896',
      state: 'hold',
      version: 3,
    });
    expect(engine.calls()).toHaveLength(1);
  });

  it("a stream an earlier version named by another spelling is not read: hydrate() finds the key's empty call (the runtime resyncs it)", async () => {
    const store = new InMemoryEventStore();
    const legacy = decodeNotifications(callStateBody('57DAB8B1894C409AB240BD8BEAE78896', 'established'), { receivedAt: 1 });
    store.appendSync(
      '57DAB8B1894C409AB240BD8BEAE78896',
      legacy.map((e) => ({ ...e, callId: '57DAB8B1894C409AB240BD8BEAE78896' })),
    );
    const engine = createEngine({ clock, store });
    await engine.hydrate();
    expect(engine.calls().map((v) => [v.id, v.state])).toEqual([['57dab8b1-894c-409a-b240-bd8beae78896', 'pending']]);
  });
});
