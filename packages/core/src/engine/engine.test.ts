import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DecodeError, ExpectedVersionConflictError, SwitchboardError } from '../errors/errors.js';
import type { LogEntry } from '../log/entries.js';
import { InMemoryEventStore, type EventStore } from '../log/store.js';
import type { CallEvent } from '../emit/events.js';
import { startCall } from '../fold/fold.js';
import { toCallSnapshot } from '../fold/snapshot.js';
import { callStateBody, operationBody, rosterBody } from '../testing/scenarios.js';
import { arbCallScenario, arbDeliverySchedule, arbToggleScenario } from '../testing/arbitraries.js';
import { createEngine } from './engine.js';
import { decodeNotifications } from '../decode/decode.js';
import { replay } from '../replay/replay.js';

const CALL = 'c1';

/** The in-memory store behind an async append of its own: the engine takes its locked path. */
class AsyncMemoryStore extends InMemoryEventStore {
  override async appendToStream(...args: Parameters<InMemoryEventStore['appendToStream']>) {
    await Promise.resolve();
    return super.appendToStream(...args);
  }
}
let now = 0;
const clock = () => ++now;

describe('createEngine', () => {
  it('needs a clock: core never reads the time itself', () => {
    expect(() => createEngine({} as never)).toThrow(SwitchboardError);
  });

  it('ingests, persists, folds and emits typed events', async () => {
    const engine = createEngine({ clock });
    const seen: CallEvent[] = [];
    engine.on('event', (e) => seen.push(e));
    const changes: string[] = [];
    engine.on('stateChanged', (e) => changes.push(`${e.from}->${e.to}`));

    const r1 = await engine.ingest(callStateBody(CALL, 'establishing'));
    await engine.ingest(callStateBody(CALL, 'established'));
    await engine.ingest(
      rosterBody(
        CALL,
        [
          { id: 'bot', displayName: 'Bot' },
          { id: 'a', displayName: 'A', isInLobby: true },
        ],
        1,
      ),
    );
    await engine.ingest(
      rosterBody(
        CALL,
        [
          { id: 'bot', displayName: 'Bot' },
          { id: 'a', displayName: 'A', isInLobby: false },
        ],
        2,
      ),
    );
    await engine.ingest(operationBody(CALL, 'op', 'playPromptOperation', 'completed'));

    expect(r1).toMatchObject({ received: 1, appended: 1, duplicates: 0, callIds: [CALL] });
    expect(changes).toEqual(['pending->establishing', 'establishing->established']);
    expect(seen.map((e) => e.type)).toEqual([
      'callCreated',
      'stateChanged',
      'stateChanged',
      'participantJoined',
      'participantJoined',
      'participantEnteredLobby',
      'participantAdmitted',
      'operationSettled',
    ]);
    expect(engine.getCall(CALL)?.state).toBe('established');
    expect((await engine.store.readStream(CALL)).length).toBe(5);
  });

  it('drops a redelivered body by id and says so', async () => {
    const engine = createEngine({ clock });
    const body = callStateBody(CALL, 'established');
    await engine.ingest(body);
    const again = await engine.ingest(JSON.stringify(body));
    expect(again).toMatchObject({ appended: 0, duplicates: 1 });
    expect((await engine.store.readStream(CALL)).length).toBe(1);
  });

  it('established, hold, then established again: applied in arrival order with a resync asked, in the engine, its view and replay alike', async () => {
    const bodies = [callStateBody(CALL, 'established'), callStateBody(CALL, 'hold'), callStateBody(CALL, 'established')];
    const engine = createEngine({ clock });
    const emitted: CallEvent[] = [];
    engine.on('event', (e) => emitted.push(e));
    for (const body of bodies) await engine.ingest(body);
    const replayed = replay(bodies.flatMap((b, i) => decodeNotifications(b, { receivedAt: i })));
    expect(emitted).toEqual(replayed.timeline.flatMap((row) => row.events));
    for (const view of [engine.getCall(CALL)!, replayed.calls[CALL]!]) {
      expect(view.state).toBe('established');
      expect(view.resyncNeeded).not.toBeNull();
    }
    expect((await engine.store.readStream(CALL)).map((e) => e.id)[2]).toMatch(/^n:[0-9a-f]{14}@3$/);
    // a redelivery of that repeat is dropped
    expect(await engine.ingest(bodies[2]!)).toMatchObject({ appended: 0, duplicates: 1 });
  });

  it("the engine's events, and its views, equal replay's for any delivery: shuffled, duplicated, several notifications a body", async () => {
    const scenarios = fc.oneof(
      arbCallScenario({ holds: true }).map((s) => ({ callId: s.callId, bodies: s.bodies })),
      arbToggleScenario().map((s) => ({ callId: s.callId, bodies: s.bodies })),
    );
    await fc.assert(
      fc.asyncProperty(
        scenarios.chain((s) => fc.tuple(fc.constant(s), arbDeliverySchedule(s.bodies), fc.array(fc.boolean(), { minLength: 1 }))),
        async ([scenario, schedule, joins]) => {
          // some deliveries carry several notifications (Graph batches them), repeats among them
          const bodies: Array<{ value: unknown[] }> = [];
          schedule.forEach((body, i) => {
            const value = body['value'] as unknown[];
            if (i > 0 && joins[i % joins.length]) bodies[bodies.length - 1]!.value.push(...value);
            else bodies.push({ value: [...value] });
          });
          const replayed = replay(bodies.flatMap((b, i) => decodeNotifications(JSON.stringify(b), { receivedAt: i })));
          // the in-memory store's synchronous path, and the locked path every other store takes
          for (const store of [new InMemoryEventStore(), new AsyncMemoryStore()]) {
            const engine = createEngine({ clock, store });
            const emitted: CallEvent[] = [];
            engine.on('event', (e) => emitted.push(e));
            for (const body of bodies) await engine.ingest(JSON.stringify(body));
            expect(emitted).toEqual(replayed.timeline.flatMap((row) => row.events));
            expect(JSON.stringify(engine.getCall(scenario.callId))).toBe(JSON.stringify(replayed.calls[scenario.callId]));
          }
        },
      ),
      { numRuns: process.env['CI'] ? 200 : 60 },
    );
  });

  it('a body that cannot be a delivery or cannot be stored throws DecodeError and changes nothing', async () => {
    const engine = createEngine({ clock });
    await engine.ingest(callStateBody(CALL, 'established'));
    const withForbidden = {
      value: [callStateBody('c2', 'established')['value'] as unknown[], JSON.parse('{"changeType":"updated","__proto__":{}}')].flat(),
    };
    await expect(engine.ingest(withForbidden)).rejects.toBeInstanceOf(DecodeError);
    await expect(engine.ingest('{"value":[{"__proto__":{}}]}')).rejects.toMatchObject({ code: 'SWB_DECODE', reason: 'forbidden-key' });
    await expect(engine.ingest('{"value":[')).rejects.toMatchObject({ code: 'SWB_DECODE', reason: 'invalid-json' });
    await expect(engine.ingest({ values: [] })).rejects.toMatchObject({ code: 'SWB_DECODE', reason: 'missing-field' });
    expect(await engine.store.listStreams()).toEqual([CALL]);
  });

  it('records commands, results, resyncs and timers, validating them', async () => {
    const engine = createEngine({ clock });
    await engine.ingest(callStateBody(CALL, 'incoming'));
    await engine.record(CALL, { kind: 'command', id: 'cmd-1', command: 'answer' });
    const r = await engine.record(CALL, {
      kind: 'commandResult',
      id: 'res-1',
      commandId: 'cmd-1',
      command: 'answer',
      outcome: 'ambiguous',
    });
    expect(r.events.map((e) => e.type)).toEqual(['resyncNeeded']);
    await engine.record(CALL, { kind: 'resync', id: 'rs-1', call: { state: 'established' }, participants: [] });
    await engine.record(CALL, { kind: 'timer', id: 't-1', timer: 'keepAliveDue', at: 77 });
    const view = engine.getCall(CALL)!;
    expect(view.state).toBe('established');
    expect(view.resyncNeeded).toBeNull();
    expect(view.commands['cmd-1']).toMatchObject({ command: 'answer', outcome: 'ambiguous' });
    await expect(engine.record(CALL, { kind: 'timer', id: 't-2', timer: 'nope' } as never)).rejects.toMatchObject({
      code: 'SWB_INVALID_ENTRY',
    });
    await expect(engine.record(CALL, { kind: 'resync', id: 'rs-3', call: JSON.parse('{"__proto__":{"x":1}}') })).rejects.toMatchObject({
      code: 'SWB_DECODE',
      reason: 'forbidden-key',
    });
  });

  it('rebuilds calls from the store after a restart, from a snapshot plus the tail', async () => {
    const store = new InMemoryEventStore();
    const first = createEngine({ store, clock, snapshotEvery: 2 });
    await first.ingest(callStateBody(CALL, 'establishing'));
    await first.ingest(callStateBody(CALL, 'established'));
    await first.ingest(rosterBody(CALL, [{ id: 'bot', displayName: 'Bot' }], 1));
    const snap = await store.readSnapshot(CALL);
    expect(snap?.position).toBe(2);

    const second = createEngine({ store, clock });
    expect(await second.hydrate()).toBe(1);
    expect(second.getCall(CALL)).toEqual(first.getCall(CALL));
  });

  it('snapshots on demand: every call past its last snapshot, or only the ones quiet for long enough', async () => {
    const store = new InMemoryEventStore();
    let t = 1_000;
    const engine = createEngine({ store, clock: () => t });
    await engine.ingest(callStateBody('quiet', 'establishing'));
    await engine.ingest(callStateBody('quiet', 'established'));
    t += 5_000;
    await engine.ingest(callStateBody('busy', 'establishing'));
    t += 100;
    // 'quiet' has had nothing new for 5,100 ms, 'busy' for 100 ms
    expect(await engine.snapshot({ quietForMs: 2_000 })).toBe(1);
    expect((await store.readSnapshot('quiet'))?.position).toBe(2);
    expect(await store.readSnapshot('busy')).toBeUndefined();
    // nothing new since: no second write
    expect(await engine.snapshot({ quietForMs: 2_000 })).toBe(0);
    // a restriction to some calls, and no quiet condition (shutdown)
    expect(await engine.snapshot({ callIds: ['quiet', 'unknown'] })).toBe(0);
    expect(await engine.snapshot()).toBe(1);
    expect((await store.readSnapshot('busy'))?.position).toBe(1);
    // a restart restores both from their snapshots, with no tail to replay
    const reads: number[] = [];
    const watched: EventStore = {
      readStream: async (id, options) => {
        const tail = await store.readStream(id, options);
        reads.push(tail.length);
        return tail;
      },
      appendToStream: (id, entries, options) => store.appendToStream(id, entries, options),
      listStreams: () => store.listStreams(),
      readSnapshot: (id) => store.readSnapshot(id),
      writeSnapshot: (id, snap) => store.writeSnapshot(id, snap),
    };
    const second = createEngine({ store: watched, clock: () => t });
    expect(await second.hydrate()).toBe(2);
    expect(reads).toEqual([0, 0]);
    expect(second.calls()).toEqual(engine.calls());
    await expect(engine.snapshot({ quietForMs: -1 })).rejects.toMatchObject({ code: 'SWB_INVALID_ARGUMENT' });
    // a store that keeps no snapshots: nothing to write
    const plain = createEngine({
      store: { readStream: watched.readStream, appendToStream: watched.appendToStream, listStreams: watched.listStreams },
      clock: () => t,
    });
    await plain.ingest(callStateBody('other', 'establishing'));
    expect(await plain.snapshot()).toBe(0);
  });

  it('refresh folds what another writer appended; a version it already holds costs no read', async () => {
    const store = new InMemoryEventStore();
    let reads = 0;
    const counted: EventStore = {
      readStream: (id, options) => {
        reads++;
        return store.readStream(id, options);
      },
      appendToStream: (id, entries, options) => store.appendToStream(id, entries, options),
      listStreams: () => store.listStreams(),
    };
    const writer = createEngine({ store, clock });
    const follower = createEngine({ store: counted, clock });
    await writer.ingest(callStateBody(CALL, 'establishing'));
    const seen: CallEvent[] = [];
    follower.on('event', (e) => seen.push(e));
    expect((await follower.refresh(CALL, { version: 1 })).map((e) => e.type)).toContain('stateChanged');
    const afterFirst = reads;
    expect(await follower.refresh(CALL, { version: 1 })).toEqual([]);
    expect(reads).toBe(afterFirst);
    await writer.ingest(callStateBody(CALL, 'established'));
    await follower.refresh(CALL, { version: 2 });
    expect(reads).toBe(afterFirst + 1);
    expect(follower.getCall(CALL)).toEqual(writer.getCall(CALL));
    expect(seen.filter((e) => e.type === 'stateChanged')).toHaveLength(2);
  });

  it('rebuilds from the log when the snapshot does not match', async () => {
    const store = new InMemoryEventStore();
    const first = createEngine({ store, clock });
    await first.ingest(callStateBody(CALL, 'established'));
    await store.writeSnapshot(CALL, { ...toCallSnapshot(startCall({ callId: CALL })), machineVersion: 'old/0' });
    const second = createEngine({ store, clock });
    expect((await second.load(CALL))?.state).toBe('established');
  });

  it('two engines on one store converge: an append conflict is caught up and retried', async () => {
    const store = new InMemoryEventStore();
    const a = createEngine({ store, clock });
    const b = createEngine({ store, clock });
    await a.ingest(callStateBody(CALL, 'establishing'));
    await b.ingest(callStateBody(CALL, 'established')); // b has never seen the call: it catches up first
    await a.ingest(callStateBody(CALL, 'terminated')); // a is behind by one: conflict, catch up, retry
    expect((await store.readStream(CALL)).map((e) => e.position)).toEqual([1, 2, 3]);
    expect(a.getCall(CALL)?.state).toBe('terminated');
    expect((await b.load(CALL))?.state).toBe('terminated');
    expect(a.getCall(CALL)).toEqual(b.getCall(CALL));
  });

  it("what a conflict catches up from another writer is emitted, before the append's own events", async () => {
    const store = new InMemoryEventStore();
    const a = createEngine({ store, clock });
    const b = createEngine({ store, clock });
    const changes: string[] = [];
    a.on('stateChanged', (e) => changes.push(`${e.from}->${e.to}`));
    await a.ingest(callStateBody(CALL, 'establishing'));
    await b.ingest(callStateBody(CALL, 'established'));
    const r = await a.ingest(callStateBody(CALL, 'terminated')); // behind by one: conflict, catch up, retry
    expect(changes).toEqual(['pending->establishing', 'establishing->established', 'established->terminated']);
    expect(r.events.filter((e) => e.type === 'stateChanged')).toHaveLength(2);
    // the announcement of b's append, heard late, finds nothing new
    expect(await a.refresh(CALL, { version: 2 })).toEqual([]);
  });

  it('load emits what another writer appended to a call this engine holds, and nothing for a call it did not hold', async () => {
    const store = new InMemoryEventStore();
    const a = createEngine({ store, clock });
    const b = createEngine({ store, clock });
    const seenByA: string[] = [];
    const seenByB: string[] = [];
    a.on('stateChanged', (e) => seenByA.push(e.to));
    b.on('stateChanged', (e) => seenByB.push(e.to));
    await a.ingest(callStateBody(CALL, 'establishing'));
    expect((await b.load(CALL))?.state).toBe('establishing');
    expect(seenByB).toEqual([]); // its history, not news
    await a.ingest(callStateBody(CALL, 'established'));
    expect((await b.load(CALL))?.state).toBe('established');
    expect(seenByB).toEqual(['established']);
    expect(await b.refresh(CALL, { version: 2 })).toEqual([]);
    expect(seenByA).toEqual(['establishing', 'established']);
  });

  it('when the append after a caught-up conflict fails, what was caught up is still emitted', async () => {
    const store = new InMemoryEventStore();
    let failNext = false;
    const flaky: EventStore = {
      readStream: (id, o) => store.readStream(id, o),
      listStreams: () => store.listStreams(),
      appendToStream: async (id, e, o) => {
        if (failNext) throw new Error('disk full');
        try {
          return await store.appendToStream(id, e, o);
        } catch (error) {
          failNext = true; // the retry after catching up fails
          throw error;
        }
      },
    };
    const a = createEngine({ store: flaky, clock });
    const b = createEngine({ store, clock });
    await a.ingest(callStateBody(CALL, 'establishing'));
    await b.ingest(callStateBody(CALL, 'established'));
    const changes: string[] = [];
    a.on('stateChanged', (e) => changes.push(e.to));
    await expect(a.ingest(callStateBody(CALL, 'terminated'))).rejects.toThrow('disk full');
    expect(a.getCall(CALL)?.state).toBe('established');
    expect(changes).toEqual(['established']);
  });

  it('two engines on one store: each emits every state change once, in order, whoever appended it (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        arbCallScenario().chain((s) =>
          arbDeliverySchedule(s.bodies, { maxDuplicates: 1 }).chain((bodies) =>
            fc.tuple(
              fc.constant({ callId: s.callId, bodies }),
              // which engine each body goes to, and what the other side does next
              fc.array(
                // biome-ignore lint/suspicious/noThenProperty: a plain record, never awaited
                fc.record({ to: fc.constantFrom('a' as const, 'b' as const), then: fc.constantFrom('nothing', 'refresh', 'load') }),
                {
                  minLength: bodies.length,
                  maxLength: bodies.length,
                },
              ),
            ),
          ),
        ),
        async ([{ callId, bodies }, steps]) => {
          const store = new InMemoryEventStore();
          let t = 0;
          const engines = { a: createEngine({ store, clock: () => ++t }), b: createEngine({ store, clock: () => ++t }) };
          const chains: Record<'a' | 'b', string[]> = { a: ['pending'], b: ['pending'] };
          for (const name of ['a', 'b'] as const) {
            // both hold the call from its empty stream on, so everything either folds is news to it
            expect(await engines[name].load(callId)).toBeUndefined();
            engines[name].on('stateChanged', (e) => {
              expect(e.from, `${name}: ${chains[name].join(' -> ')} then ${e.from} -> ${e.to}`).toBe(chains[name].at(-1));
              chains[name].push(e.to);
            });
          }
          for (const [i, body] of bodies.entries()) {
            const { to, then } = steps[i]!;
            await engines[to].ingest(body, { receivedAt: i });
            const other = engines[to === 'a' ? 'b' : 'a'];
            if (then === 'refresh') await other.refresh(callId);
            if (then === 'load') await other.load(callId);
          }
          await engines.a.refresh(callId);
          await engines.b.refresh(callId);
          expect(engines.a.getCall(callId)).toEqual(engines.b.getCall(callId));
          for (const name of ['a', 'b'] as const) expect(chains[name].at(-1)).toBe(engines[name].getCall(callId)?.state ?? 'pending');
        },
      ),
      { numRuns: 80 },
    );
  });

  it('gives up with the conflict after the retry budget', async () => {
    const inner = new InMemoryEventStore();
    const racing: EventStore = {
      readStream: (id, o) => inner.readStream(id, o),
      listStreams: () => inner.listStreams(),
      appendToStream: async (id, _entries, o) => {
        throw new ExpectedVersionConflictError(id, o?.expectedVersion ?? 0, (o?.expectedVersion ?? 0) + 1);
      },
    };
    const engine = createEngine({ store: racing, clock, maxAppendRetries: 2 });
    await expect(engine.ingest(callStateBody(CALL, 'established'))).rejects.toBeInstanceOf(ExpectedVersionConflictError);
  });

  it('serialises concurrent ingests of one call: nothing lost, positions dense', async () => {
    const engine = createEngine({ clock });
    const bodies = Array.from({ length: 50 }, (_, i) => operationBody(CALL, `op${i}`, 'playPromptOperation', 'completed'));
    await Promise.all(bodies.map((b) => engine.ingest(b)));
    const log = await engine.store.readStream(CALL);
    expect(log.map((e) => e.position)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(Object.keys(engine.getCall(CALL)!.operations)).toHaveLength(50);
  });

  it('splits a batch that names several calls into their streams', async () => {
    const engine = createEngine({ clock });
    const a = callStateBody('a', 'established')['value'] as LogEntry[];
    const b = callStateBody('b', 'incoming')['value'] as LogEntry[];
    const r = await engine.ingest({ value: [...a, ...b] });
    expect(r.callIds).toEqual(['a', 'b']);
    expect(engine.calls().map((v) => v.state)).toEqual(['established', 'incoming']);
  });
  it('the in-memory fast path (no turn, no lock) folds, logs and emits exactly what the locked path does', async () => {
    // The same store behind only its async methods takes the locked path for every delivery.
    const asyncOnly = (inner: InMemoryEventStore): EventStore => ({
      readStream: (id, o) => inner.readStream(id, o),
      listStreams: () => inner.listStreams(),
      appendToStream: (id, e, o) => inner.appendToStream(id, e, o),
      readSnapshot: (id) => inner.readSnapshot(id),
      writeSnapshot: (id, s) => inner.writeSnapshot(id, s),
    });
    await fc.assert(
      fc.asyncProperty(
        arbCallScenario().chain((s) => arbDeliverySchedule(s.bodies, { maxDuplicates: 2 }).map((bodies) => ({ callId: s.callId, bodies }))),
        fc.boolean(),
        async ({ callId, bodies }, withMessageIds) => {
          const fastStore = new InMemoryEventStore();
          const slowStore = new InMemoryEventStore();
          let t = 0;
          const fast = createEngine({ store: fastStore, clock: () => ++t, snapshotEvery: 3 });
          let u = 0;
          const slow = createEngine({ store: asyncOnly(slowStore), clock: () => ++u, snapshotEvery: 3 });
          for (const [i, body] of bodies.entries()) {
            const meta = withMessageIds ? { receivedAt: i, messageId: `m${i % 5}` } : { receivedAt: i };
            const a = await fast.ingest(body, meta);
            const b = await slow.ingest(body, meta);
            expect(a).toEqual(b);
          }
          expect(fast.getCall(callId)).toEqual(slow.getCall(callId));
          expect(fast.machineSnapshot(callId)?.value).toEqual(slow.machineSnapshot(callId)?.value);
          expect(await fastStore.readStream(callId)).toEqual(await slowStore.readStream(callId));
          expect(await fastStore.readSnapshot(callId)).toEqual(await slowStore.readSnapshot(callId));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('stores an entry as its copy plus position, whatever its shape', async () => {
    const store = new InMemoryEventStore();
    const shapes: LogEntry[] = [
      {
        kind: 'notification',
        id: 'a',
        callId: CALL,
        at: 1,
        changeType: 'updated',
        resourceUrl: '/communications/calls/c1',
        target: { type: 'call' },
        resourceData: {},
      },
      {
        kind: 'notification',
        id: 'b',
        callId: CALL,
        at: 2,
        changeType: 'updated',
        resourceUrl: '/communications/calls/c1',
        target: { type: 'call' },
        resourceData: {},
        messageId: 'm',
      },
      // extra and reordered keys are kept as they are
      {
        kind: 'notification',
        id: 'c',
        callId: CALL,
        at: 3,
        changeType: 'updated',
        resourceUrl: '/communications/calls/c1',
        target: { type: 'call' },
        resourceData: {},
        note: 'x',
      } as LogEntry,
      {
        id: 'd',
        kind: 'notification',
        callId: CALL,
        at: 4,
        changeType: 'updated',
        resourceUrl: '/communications/calls/c1',
        target: { type: 'call' },
        resourceData: {},
      },
    ];
    const { appended } = store.appendSync(CALL, shapes);
    expect(appended).toEqual(shapes.map((e, i) => ({ ...e, position: i + 1 })));
    expect(appended.map((e) => Object.keys(e))).toEqual(shapes.map((e) => [...Object.keys(e), 'position']));
  });
});
