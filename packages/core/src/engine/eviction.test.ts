import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeNotifications } from '../decode/decode.js';
import type { LogEntry, StoredEntry } from '../log/entries.js';
import { InMemoryEventStore, type ReadOptions } from '../log/store.js';
import type { CallEvent } from '../emit/events.js';
import { foldEntry, foldStateOf, startCall } from '../fold/fold.js';
import { arbCallScenario, arbDeliverySchedule } from '../testing/arbitraries.js';
import { callStateBody, operationBody, rosterBody } from '../testing/scenarios.js';
import { createEngine } from './engine.js';
import { DEFAULT_EVICTION_GRACE_MS, endedAtOf, endsCall } from './eviction.js';

/** An in-memory store that says which reads it served, and appends behind a promise (the locked path). */
class CountingStore extends InMemoryEventStore {
  readonly reads: Array<{ streamId: string; after: number }> = [];
  override async readStream(streamId: string, options?: ReadOptions) {
    this.reads.push({ streamId, after: options?.after ?? 0 });
    return super.readStream(streamId, options);
  }
}

class AsyncCountingStore extends CountingStore {
  override async appendToStream(...args: Parameters<InMemoryEventStore['appendToStream']>) {
    await Promise.resolve();
    return super.appendToStream(...args);
  }
}

const scheduled = arbCallScenario({ holds: true }).chain((s) =>
  fc.tuple(
    fc.constant(s.callId),
    arbDeliverySchedule(s.bodies, { maxDuplicates: 3 }),
    // after which deliveries the second engine runs its eviction sweep
    fc.array(fc.boolean(), { minLength: 1, maxLength: 40 }),
    fc.boolean(),
  ),
);

describe('endsCall', () => {
  it('says of an entry exactly whether folding it moves a live call to terminated', () => {
    fc.assert(
      fc.property(scheduled, ([callId, bodies]) => {
        const fold = foldStateOf(startCall({ callId }));
        let position = 0;
        for (const [i, body] of bodies.entries()) {
          for (const entry of decodeNotifications(JSON.stringify(body), { receivedAt: i })) {
            const before = fold.value;
            foldEntry(fold, { ...entry, position: ++position } as StoredEntry);
            if (before !== 'terminated') expect(endsCall(entry)).toBe(fold.value === 'terminated');
            else expect(fold.value).toBe('terminated');
          }
        }
      }),
    );
  });

  it('covers the bot records that end a call: a 404 from the call itself, a resync that found none', () => {
    const base = { callId: 'c', at: 7 };
    const gone: LogEntry = {
      ...base,
      kind: 'commandResult',
      id: 'r1',
      commandId: 'c1',
      command: 'keepAlive',
      outcome: 'failed',
      status: 404,
    };
    const playFailed: LogEntry = { ...gone, id: 'r2', command: 'playPrompt' };
    const noCall: LogEntry = { ...base, kind: 'resync', id: 's1', call: null, reason: 'test' } as LogEntry;
    const timer: LogEntry = { ...base, kind: 'timer', id: 't1', timer: 'keepAliveDue' };
    expect([gone, playFailed, noCall, timer].map(endsCall)).toEqual([true, false, true, false]);
    expect(endedAtOf([timer, { ...noCall, at: 9 }, gone])).toBe(7);
    expect(endedAtOf([timer, playFailed])).toBeUndefined();
  });
});

describe('eviction', () => {
  it('a call evicted and read back gives the same view and events as one that never left memory, for any delivery', async () => {
    let runsWithEviction = 0;
    await fc.assert(
      fc.asyncProperty(scheduled, async ([callId, bodies, sweeps, asyncStore]) => {
        let t = 0;
        const kept = createEngine({ clock: () => (t += 1_000), snapshotEvery: 0 });
        const store = asyncStore ? new AsyncCountingStore() : new CountingStore();
        let u = 0;
        const evicting = createEngine({ store, clock: () => (u += 1_000), evictAfterMs: 0, snapshotEvery: 0 });
        const keptEvents: CallEvent[] = [];
        const evictingEvents: CallEvent[] = [];
        kept.on('event', (e) => keptEvents.push(e));
        evicting.on('event', (e) => evictingEvents.push(e));
        let evictions = 0;
        evicting.on('evicted', () => evictions++);
        for (const [i, body] of bodies.entries()) {
          const a = await kept.ingest(body, { receivedAt: i });
          let version = -1;
          if (sweeps[i % sweeps.length] && (await evicting.evictEnded()) === 1) {
            expect(evicting.getCall(callId)).toBeUndefined();
            version = (await store.readStream(callId)).length;
            store.reads.length = 0;
          }
          const b = await evicting.ingest(body, { receivedAt: i });
          expect(b.events).toEqual(a.events);
          if (version >= 0) {
            // read back from the snapshot written at eviction: the stream only past it
            expect(store.reads.filter((r) => r.streamId === callId).every((r) => r.after === version)).toBe(true);
          }
        }
        expect(evictingEvents).toEqual(keptEvents);
        if (evictions > 0) runsWithEviction++;
        const expected = kept.getCall(callId);
        if (evicting.getCall(callId) === undefined) expect(evictions).toBeGreaterThan(0);
        expect(await evicting.load(callId)).toEqual(expected);
        expect(evicting.getCall(callId)).toEqual(expected);
      }),
      { numRuns: 150 },
    );
    expect(runsWithEviction).toBeGreaterThan(20);
  });

  it('keeps an ended call for the grace period after it last changed, and never evicts a live one', async () => {
    let now = 0;
    const engine = createEngine({ clock: () => now, evictAfterMs: 60_000 });
    const evicted: string[] = [];
    engine.on('evicted', (e) => evicted.push(e.callId));
    await engine.ingest(callStateBody('live', 'established'));
    await engine.ingest(callStateBody('ended', 'established'));
    await engine.ingest(callStateBody('ended', 'terminated'));
    now = 59_999;
    expect(await engine.evictEnded()).toBe(0);
    // a late notification folds: the grace runs from it
    await engine.ingest(operationBody('ended', 'op', 'playPromptOperation', 'completed'));
    now = 119_998;
    expect(await engine.evictEnded()).toBe(0);
    now = 119_999;
    expect(await engine.evictEnded()).toBe(1);
    expect(evicted).toEqual(['ended']);
    now = 10 ** 9;
    expect(await engine.evictEnded()).toBe(0);
    expect(engine.calls().map((c) => c.id)).toEqual(['live']);
  });

  it('reports a notification for an evicted call as stale after terminated, and it lands in the log', async () => {
    let now = 0;
    const store = new CountingStore();
    const engine = createEngine({ store, clock: () => now, evictAfterMs: 1_000, snapshotEvery: 0 });
    await engine.ingest(callStateBody('c', 'established'));
    await engine.ingest(rosterBody('c', [{ id: 'a', displayName: 'A' }], 1));
    await engine.ingest(callStateBody('c', 'terminated'));
    now = 5_000;
    expect(await engine.evictEnded()).toBe(1);
    const snapshot = await store.readSnapshot('c');
    expect(snapshot?.position).toBe(3);
    store.reads.length = 0;
    const late = await engine.ingest(callStateBody('c', 'established'));
    expect(late.appended).toBe(1);
    expect(late.events.map((e) => e.type)).toEqual(['staleEntryIgnored']);
    expect(late.events[0]).toMatchObject({ stale: { reason: 'after-terminated' } });
    expect(store.reads).toEqual([{ streamId: 'c', after: 3 }]);
    expect((await store.readStream('c')).length).toBe(4);
  });

  it('hydrate loads the calls that are live or ended within the grace period, not the history', async () => {
    let now = 0;
    const store = new InMemoryEventStore({ endedAt: endedAtOf });
    const first = createEngine({ store, clock: () => now });
    await first.ingest(callStateBody('old', 'established'), { receivedAt: 0 });
    await first.ingest(callStateBody('old', 'terminated'), { receivedAt: 1_000 });
    await first.ingest(callStateBody('recent', 'terminated'), { receivedAt: 1_000 + DEFAULT_EVICTION_GRACE_MS });
    await first.ingest(callStateBody('live', 'established'), { receivedAt: 0 });
    now = 2_000 + DEFAULT_EVICTION_GRACE_MS;
    expect([...(await store.listLiveStreams(now - DEFAULT_EVICTION_GRACE_MS))].sort()).toEqual(['live', 'recent']);
    const second = createEngine({ store, clock: () => now });
    expect(await second.hydrate()).toBe(2);
    expect(
      second
        .calls()
        .map((c) => c.id)
        .sort(),
    ).toEqual(['live', 'recent']);
    expect((await second.load('old'))?.state).toBe('terminated');
  });
});
