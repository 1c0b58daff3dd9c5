import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { InMemoryEventStore } from '../log/store.js';
import type { CallEvent } from '../emit/events.js';
import { callStateBody } from '../testing/scenarios.js';
import { arbCallScenario, arbDeliverySchedule, arbToggleScenario } from '../testing/arbitraries.js';
import { createEngine, type Engine } from './engine.js';
import { replay } from '../replay/replay.js';
import { decodeNotifications } from '../decode/decode.js';

/**
 * Engines that share a store and hold only the calls they own (`loadOnAppend: false`): a
 * delivery to an engine that does not hold the call is persisted without reading or folding
 * it, and the engine that holds the call folds it from the store (`refresh`, what the
 * runtime calls on the store's append notification).
 */

/** The in-memory store, asynchronous (the path every real store takes), counting reads. */
class CountingStore extends InMemoryEventStore {
  reads = 0;
  override async appendToStream(...args: Parameters<InMemoryEventStore['appendToStream']>) {
    await Promise.resolve();
    return super.appendToStream(...args);
  }
  override async readStream(...args: Parameters<InMemoryEventStore['readStream']>) {
    this.reads++;
    return super.readStream(...args);
  }
  override async readSnapshot(...args: Parameters<InMemoryEventStore['readSnapshot']>) {
    this.reads++;
    return super.readSnapshot(...args);
  }
}

let now = 0;
const clock = () => ++now;
const CALL = 'c1';

describe('an engine that holds only some calls (loadOnAppend: false)', () => {
  it('persists a delivery for a call it does not hold without reading it, folding it or emitting', async () => {
    const store = new CountingStore();
    const engine = createEngine({ clock, store, loadOnAppend: false });
    const seen: CallEvent[] = [];
    engine.on('event', (e) => seen.push(e));
    const first = await engine.ingest(callStateBody(CALL, 'incoming'));
    expect(first).toMatchObject({ appended: 1, duplicates: 0, callIds: [CALL], newCalls: [CALL], events: [] });
    const second = await engine.ingest(callStateBody(CALL, 'established'));
    expect(second).toMatchObject({ appended: 1, newCalls: [] });
    // a redelivery of the last body: the store drops its id; deciding that it is no repeat reads the call once
    expect(await engine.ingest(callStateBody(CALL, 'established'))).toMatchObject({ appended: 0, duplicates: 1 });
    expect(store.reads).toBe(2); // the snapshot and the stream, for that one decision
    expect(engine.holds(CALL)).toBe(false);
    expect(engine.getCall(CALL)).toBeUndefined();
    expect(seen).toEqual([]);
    expect((await store.readStream(CALL)).map((e) => e.position)).toEqual([1, 2]);
  });

  it('a call it holds is folded and emitted as before; refresh brings in what others persisted', async () => {
    const store = new CountingStore();
    const owner = createEngine({ clock, store, loadOnAppend: false });
    const other = createEngine({ clock, store, loadOnAppend: false });
    await other.ingest(callStateBody(CALL, 'incoming'));
    expect(await owner.load(CALL)).toMatchObject({ state: 'incoming' });
    const seen: string[] = [];
    owner.on('stateChanged', (e) => seen.push(`${e.from}->${e.to}`));
    await owner.ingest(callStateBody(CALL, 'establishing'));
    await other.ingest(callStateBody(CALL, 'established'));
    expect(seen).toEqual(['incoming->establishing']);
    await owner.refresh(CALL, { version: 3 });
    expect(seen).toEqual(['incoming->establishing', 'establishing->established']);
    expect(other.holds(CALL)).toBe(false);
  });

  it('a body seen before, after a different one (A, B, A), is a repeat on any engine, as one engine would decide', async () => {
    const store = new CountingStore();
    const owner = createEngine({ clock, store, loadOnAppend: false });
    const other = createEngine({ clock, store, loadOnAppend: false });
    await owner.load(CALL);
    await other.ingest(callStateBody(CALL, 'established'));
    await other.ingest(callStateBody(CALL, 'hold'));
    expect(await other.ingest(callStateBody(CALL, 'established'))).toMatchObject({ appended: 1, duplicates: 0 });
    expect(await other.ingest(callStateBody(CALL, 'established'))).toMatchObject({ appended: 0, duplicates: 1 });
    expect((await store.readStream(CALL)).map((e) => e.id)[2]).toMatch(/^n:[0-9a-f]{14}@3$/);
    await owner.refresh(CALL);
    expect(owner.getCall(CALL)).toMatchObject({ state: 'established', version: 3 });
    expect(other.holds(CALL)).toBe(false);
  });

  it('forget holds: a load or refresh in flight when the call is forgotten does not hold it again', async () => {
    const store = new CountingStore();
    const engine = createEngine({ clock, store, loadOnAppend: false });
    await engine.ingest(callStateBody(CALL, 'established'));
    const loading = engine.load(CALL);
    const refreshing = engine.refresh(CALL);
    engine.forget(CALL);
    await Promise.all([loading, refreshing]);
    expect(engine.holds(CALL)).toBe(false);
    // refresh `ifHeld` of a call dropped before its turn reads nothing and holds nothing
    const reads = store.reads;
    await engine.refresh(CALL, { ifHeld: true });
    expect(engine.holds(CALL)).toBe(false);
    expect(store.reads).toBe(reads);
  });

  it('any delivery to any engine, with restarts and handovers, gives the owner the view a single engine has', async () => {
    const scenarios = fc.oneof(
      arbCallScenario({ holds: true }).map((s) => ({ callId: s.callId, bodies: s.bodies })),
      arbToggleScenario().map((s) => ({ callId: s.callId, bodies: s.bodies })),
    );
    // per delivery: the engine it lands on, and what happens after it (nothing, a restart of an engine, a handover)
    const step = fc.record({
      to: fc.nat({ max: 2 }),
      after: fc.oneof(
        { weight: 6, arbitrary: fc.constant({ do: 'nothing' as const }) },
        { weight: 1, arbitrary: fc.record({ do: fc.constant('restart' as const), engine: fc.nat({ max: 2 }) }) },
        { weight: 1, arbitrary: fc.record({ do: fc.constant('handover' as const), engine: fc.nat({ max: 2 }) }) },
      ),
      notified: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(
        scenarios
          .chain((s) => fc.tuple(fc.constant(s), arbDeliverySchedule(s.bodies)))
          .chain(([s, schedule]) =>
            fc.tuple(fc.constant(s), fc.constant(schedule), fc.array(step, { minLength: schedule.length, maxLength: schedule.length })),
          ),
        async ([scenario, schedule, steps]) => {
          const bodies = schedule.map((b) => JSON.stringify(b));
          const store = new CountingStore();
          const make = (): Engine => createEngine({ clock, store, loadOnAppend: false, snapshotEvery: 3 });
          const engines = [make(), make(), make()];
          let owner = 0;
          for (const [i, body] of bodies.entries()) {
            const s = steps[i]!;
            await engines[s.to]!.ingest(body, { receivedAt: i });
            // the append notification reaches the owner (or it is lost, and a later one or a restart catches up)
            if (s.notified) await engines[owner]!.refresh(scenario.callId);
            if (s.after.do === 'restart') {
              engines[s.after.engine] = make();
              if (s.after.engine === owner) await engines[owner]!.load(scenario.callId);
            } else if (s.after.do === 'handover' && s.after.engine !== owner) {
              engines[owner]!.forget(scenario.callId);
              owner = s.after.engine;
              await engines[owner]!.load(scenario.callId);
            }
          }
          await engines[owner]!.refresh(scenario.callId);
          // only the owner holds the call
          for (const [i, engine] of engines.entries()) if (i !== owner) expect(engine.holds(scenario.callId)).toBe(false);

          const single = createEngine({ clock, store: new InMemoryEventStore() });
          for (const [i, body] of bodies.entries()) await single.ingest(body, { receivedAt: i });
          const replayed = replay(bodies.flatMap((b, i) => decodeNotifications(b, { receivedAt: i })));
          const view = JSON.stringify(engines[owner]!.getCall(scenario.callId));
          expect(view).toBe(JSON.stringify(single.getCall(scenario.callId)));
          expect(view).toBe(JSON.stringify(replayed.calls[scenario.callId]));
        },
      ),
      { numRuns: process.env['CI'] ? 200 : 60 },
    );
  });

  it('refresh folds the entries an announcement carried when they follow on (overlapping or not), and reads on a gap', async () => {
    const store = new CountingStore();
    const owner = createEngine({ store, clock, loadOnAppend: false });
    const other = createEngine({ store, clock, loadOnAppend: false });
    await other.ingest(callStateBody(CALL, 'incoming'));
    await owner.load(CALL);
    await other.ingest(callStateBody(CALL, 'establishing'));
    await other.ingest(callStateBody(CALL, 'established'));
    const log = await store.readStream(CALL);
    store.reads = 0;
    const seen: CallEvent[] = [];
    owner.on('event', (e) => seen.push(e));
    // positions 1-2: overlaps the one held, and follows on from it
    await owner.refresh(CALL, { version: 2, ifHeld: true, carried: () => log.slice(0, 2) });
    expect([owner.getCall(CALL)?.version, owner.getCall(CALL)?.state, store.reads]).toEqual([2, 'establishing', 0]);
    // carried entries are not decoded for a call already folded that far
    let decoded = 0;
    await owner.refresh(CALL, {
      version: 2,
      carried: () => {
        decoded++;
        return log.slice(1, 2);
      },
    });
    expect(decoded).toBe(0);
    // an empty carry, or entries that cannot be read, reads the tail
    await owner.refresh(CALL, { version: 3, ifHeld: true, carried: () => undefined });
    expect([owner.getCall(CALL)?.version, owner.getCall(CALL)?.state, store.reads]).toEqual([3, 'established', 1]);
    expect(seen.map((e) => e.type)).toContain('stateChanged');
    // a gap: position 5 carried while 3 is held reads 4 and 5 from the store
    await other.record(CALL, { kind: 'timer', id: 't:4', timer: 'keepAliveDue' });
    await other.record(CALL, { kind: 'timer', id: 't:5', timer: 'keepAliveDue' });
    const five = (await store.readStream(CALL, { after: 4 }))[0]!;
    store.reads = 0;
    await owner.refresh(CALL, { version: 5, ifHeld: true, carried: () => [five] });
    expect([owner.getCall(CALL)?.version, store.reads]).toEqual([5, 1]);
    const fresh = createEngine({ store, clock });
    expect(owner.getCall(CALL)).toEqual(await fresh.load(CALL));
  });
});
