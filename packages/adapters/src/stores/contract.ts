/**
 * The event store contract: one suite every `EventStore` must pass, run against the
 * in-memory reference store, SQLite and PostgreSQL. Exported so a custom store can prove
 * itself against the same rules.
 *
 * It asserts with `node:assert/strict` and takes the test runner's `describe` and `it` as an
 * argument, so importing this module pulls in no test framework.
 */
import { deepStrictEqual, equal, ok, rejects } from 'node:assert/strict';
import {
  ExpectedVersionConflictError,
  SwitchboardError,
  type CallSnapshot,
  type EventStore,
  type LogEntry,
  type NotificationEntry,
  type StoredEntry,
} from '@switchboard/core';

/** The part of a test runner the contract uses (vitest's, jest's and node:test's fit). */
export interface ContractRunner {
  describe(name: string, fn: () => void): unknown;
  it(name: string, fn: () => Promise<void>): unknown;
}

/**
 * Makes a store for one test. Each call must return a store that holds nothing (a fresh
 * file, schema or instance); the suite closes it after the test when it has `close()`.
 */
export type MakeEventStore = () => EventStore | Promise<EventStore>;

/**
 * Declares the contract suite for one store: `runner.describe(name, ...)` with one
 * `runner.it` per rule. Call it at the top level of a test file:
 *
 * ```ts
 * import { describe, it } from 'vitest';
 * describeEventStoreContract('my store', () => new MyStore(), { describe, it });
 * ```
 *
 * It checks what the port promises; it does not check a store's own extras (leases,
 * notifications, durability across restarts): test those beside the store.
 */
export function describeEventStoreContract(name: string, makeStore: MakeEventStore, runner: ContractRunner): void {
  const { describe, it } = runner;
  const test = (title: string, body: (store: EventStore) => Promise<void>) =>
    it(title, async () => {
      const store = await makeStore();
      try {
        await body(store);
      } finally {
        await store.close?.();
      }
    });

  describe(`EventStore contract: ${name}`, () => {
    test('an unknown stream reads as empty and a fresh store lists no streams', async (store) => {
      deepStrictEqual(await store.readStream('nobody'), []);
      deepStrictEqual(await store.listStreams(), []);
    });

    test('round-trips every kind of entry (quarantined notifications included) exactly, with 1-based positions', async (store) => {
      const entries = everyKind('call-1');
      const result = await store.appendToStream('call-1', entries);
      const expected = entries.map((entry, i) => json({ ...entry, position: i + 1 }));
      deepStrictEqual(json(result.appended), expected);
      deepStrictEqual(result.duplicates, []);
      equal(result.version, entries.length);
      deepStrictEqual(await store.readStream('call-1'), expected);
    });

    test('keeps unicode, control characters, odd numbers and large nested bodies exactly', async (store) => {
      const big = 'x'.repeat(1_500_000);
      const entries: LogEntry[] = [
        notification('call-u', 'u-1', {
          '@odata.type': '#microsoft.graph.call',
          displayName: 'Zoë 李雷 مرحبا 👩🏽‍💻 \u0301e',
          nul: 'a\u0000b',
          separators: 'line\u2028para\u2029end',
          loneSurrogate: 'x\ud800y',
          quotes: `"'\\/\n\t\r\b\f`,
          'key with spaces and ünïcode 🔑': true,
          numbers: [0, -1, 1.5, 1e-7, 1e21, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER],
          nested: { a: [{ b: [{ c: null }] }, [], {}], empty: '' },
        }),
        notification('call-u', 'u-2', { big, rows: Array.from({ length: 5_000 }, (_, i) => ({ i, s: `row ${i}` })) }),
        notification('call-u', 'u-3 🎧 with "quotes"', [{ id: 'p-1', info: { identity: { user: { id: 'ü' } } } }]),
      ];
      await store.appendToStream('call-u', entries);
      const read = await store.readStream('call-u');
      deepStrictEqual(
        read,
        entries.map((entry, i) => json({ ...entry, position: i + 1 })),
      );
    });

    test('positions are dense across appends and `after` reads only what follows', async (store) => {
      const s = 'call-after';
      await store.appendToStream(s, [timer(s, 'a'), timer(s, 'b')]);
      const second = await store.appendToStream(s, [timer(s, 'c')]);
      await store.appendToStream(s, [timer(s, 'd'), timer(s, 'e')]);
      deepStrictEqual(
        second.appended.map((e) => e.position),
        [3],
      );
      deepStrictEqual(positions(await store.readStream(s)), [1, 2, 3, 4, 5]);
      deepStrictEqual(ids(await store.readStream(s, { after: 0 })), ['a', 'b', 'c', 'd', 'e']);
      deepStrictEqual(ids(await store.readStream(s, { after: 2 })), ['c', 'd', 'e']);
      deepStrictEqual(positions(await store.readStream(s, { after: 4 })), [5]);
      deepStrictEqual(await store.readStream(s, { after: 5 }), []);
      deepStrictEqual(await store.readStream(s, { after: 50 }), []);
      deepStrictEqual(ids(await store.readStream(s, { after: -3 })), ['a', 'b', 'c', 'd', 'e']);
    });

    test('appends at the expected version, from an empty stream (0) onwards', async (store) => {
      const s = 'call-ev';
      const first = await store.appendToStream(s, [timer(s, 'a')], { expectedVersion: 0 });
      const second = await store.appendToStream(s, [timer(s, 'b'), timer(s, 'c')], { expectedVersion: 1 });
      equal(first.version, 1);
      equal(second.version, 3);
      deepStrictEqual(positions(second.appended), [2, 3]);
    });

    test('an append at a stale expected version throws ExpectedVersionConflictError and writes nothing', async (store) => {
      const s = 'call-conflict';
      await store.appendToStream(s, [timer(s, 'a'), timer(s, 'b')]);
      await rejects(store.appendToStream(s, [timer(s, 'c')], { expectedVersion: 1 }), conflict(s, 1, 2));
      await rejects(store.appendToStream(s, [timer(s, 'c')], { expectedVersion: 3 }), conflict(s, 3, 2));
      deepStrictEqual(ids(await store.readStream(s)), ['a', 'b']);
      // The entry that was refused is not held as a duplicate: it can still be appended.
      const retry = await store.appendToStream(s, [timer(s, 'c')], { expectedVersion: 2 });
      deepStrictEqual(positions(retry.appended), [3]);
    });

    test('an expected version on a stream that does not exist conflicts at 0 and creates nothing', async (store) => {
      await rejects(store.appendToStream('ghost', [timer('ghost', 'a')], { expectedVersion: 4 }), conflict('ghost', 4, 0));
      deepStrictEqual(await store.readStream('ghost'), []);
      deepStrictEqual(await store.listStreams(), []);
    });

    test('an empty batch writes nothing but still checks the expected version', async (store) => {
      const s = 'call-empty';
      await store.appendToStream(s, [timer(s, 'a')]);
      deepStrictEqual(await store.appendToStream(s, []), { appended: [], duplicates: [], version: 1 });
      deepStrictEqual(await store.appendToStream(s, [], { expectedVersion: 1 }), { appended: [], duplicates: [], version: 1 });
      await rejects(store.appendToStream(s, [], { expectedVersion: 0 }), conflict(s, 0, 1));
    });

    test('drops entries whose id the stream holds, or the batch repeats, and reports them', async (store) => {
      const s = 'call-dup';
      await store.appendToStream(s, [timer(s, 'a'), timer(s, 'b')]);
      const dupA = notification(s, 'a', { redelivered: true });
      const c = timer(s, 'c');
      const cAgain = notification(s, 'c', { repeatedInBatch: true });
      const d = timer(s, 'd');
      const result = await store.appendToStream(s, [dupA, c, cAgain, d]);
      deepStrictEqual(
        json(result.appended),
        json([
          { ...c, position: 3 },
          { ...d, position: 4 },
        ]),
      );
      deepStrictEqual(json(result.duplicates), json([dupA, cAgain]));
      equal(result.version, 4);
      const read = await store.readStream(s);
      deepStrictEqual(ids(read), ['a', 'b', 'c', 'd']);
      deepStrictEqual(read[0], json({ ...timer(s, 'a'), position: 1 }), 'the first copy of an id wins');
      deepStrictEqual(read[2], json({ ...c, position: 3 }));
    });

    test('a batch of nothing but duplicates succeeds without writing, and ids are per stream', async (store) => {
      await store.appendToStream('s1', [timer('s1', 'a')]);
      const again = await store.appendToStream('s1', [timer('s1', 'a'), timer('s1', 'a')], { expectedVersion: 1 });
      deepStrictEqual(again.appended, []);
      equal(again.duplicates.length, 2);
      equal(again.version, 1);
      // The same id in another stream is another entry.
      const other = await store.appendToStream('s2', [timer('s2', 'a')]);
      deepStrictEqual(positions(other.appended), [1]);
      // The version is checked before dedup: a stale writer learns the stream moved.
      await rejects(store.appendToStream('s1', [timer('s1', 'a')], { expectedVersion: 0 }), conflict('s1', 0, 1));
    });

    test('rejects an entry of another call (or without an id) and writes none of its batch', async (store) => {
      const s = 'call-mine';
      await rejects(store.appendToStream(s, [timer(s, 'ok'), timer('call-theirs', 'x')]), invalidEntry);
      await rejects(store.appendToStream(s, [timer(s, 'ok'), { ...timer(s, 'y'), id: '' }]), invalidEntry);
      await rejects(store.appendToStream(s, [{ ...timer(s, 'z'), at: Number.NaN }]), invalidEntry);
      deepStrictEqual(await store.readStream(s), []);
      deepStrictEqual(await store.listStreams(), []);
    });

    test('lists every stream that holds entries', async (store) => {
      await store.appendToStream('b', [timer('b', '1')]);
      await store.appendToStream('a', [timer('a', '1')]);
      await store.appendToStream('c', [timer('c', '1'), timer('c', '2')]);
      await store.appendToStream('b', [timer('b', '2')]);
      await rejects(store.appendToStream('d', [timer('d', '1')], { expectedVersion: 1 }));
      deepStrictEqual([...(await store.listStreams())].sort(), ['a', 'b', 'c']);
    });

    test('writes, reads and overwrites snapshots per stream', async (store) => {
      equal(typeof store.readSnapshot, 'function', 'the store keeps snapshots');
      equal(typeof store.writeSnapshot, 'function', 'the store keeps snapshots');
      equal(await store.readSnapshot!('call-s'), undefined);
      const first: CallSnapshot = {
        machineVersion: 'm1',
        position: 3,
        value: 'established',
        context: { participants: { 'p-1': { displayName: 'Zoë 🎧', muted: false } }, ops: [], n: 1.25, none: null },
      };
      const second: CallSnapshot = { ...first, position: 7, value: 'terminated', context: { gone: true } };
      await store.writeSnapshot!('call-s', first);
      await store.writeSnapshot!('call-t', { ...first, value: 'hold' });
      deepStrictEqual(await store.readSnapshot!('call-s'), json(first));
      await store.writeSnapshot!('call-s', second);
      deepStrictEqual(await store.readSnapshot!('call-s'), json(second));
      deepStrictEqual(await store.readSnapshot!('call-t'), json({ ...first, value: 'hold' }));
      // an older snapshot of the same machine version (another writer, late) does not replace it
      await store.writeSnapshot!('call-s', first);
      deepStrictEqual(await store.readSnapshot!('call-s'), json(second));
      // another machine version does, whatever its position (the engine ignores the other anyway)
      const other: CallSnapshot = { ...first, machineVersion: 'm2', position: 1 };
      await store.writeSnapshot!('call-s', other);
      deepStrictEqual(await store.readSnapshot!('call-s'), json(other));
    });

    test('concurrent appends to one stream lose nothing, duplicate nothing and keep each batch whole', async (store) => {
      const s = 'call-busy';
      const batches = Array.from({ length: 40 }, (_, b) => [timer(s, `b${b}-0`), timer(s, `b${b}-1`)]);
      const results = await Promise.all(batches.map((batch) => store.appendToStream(s, batch)));
      const read = await store.readStream(s);
      deepStrictEqual(positions(read), range(1, 80));
      deepStrictEqual(
        [...ids(read)].sort(),
        batches
          .flat()
          .map((e) => e.id)
          .sort(),
      );
      for (const [b, result] of results.entries()) {
        const [p0 = 0, p1] = positions(result.appended);
        equal(p1, p0 + 1, `batch ${b} is contiguous`);
        equal(result.version, p1);
        deepStrictEqual(ids(read.slice(p0 - 1, p1)), [`b${b}-0`, `b${b}-1`]);
      }
    });

    test('concurrent optimistic writers all get in by retrying on conflict', async (store) => {
      const s = 'call-optimistic';
      const writer = async (w: number) => {
        for (let i = 0; i < 4; i++) {
          for (;;) {
            const version = (await store.readStream(s)).length;
            try {
              await store.appendToStream(s, [timer(s, `w${w}-${i}`)], { expectedVersion: version });
              break;
            } catch (error) {
              if (!(error instanceof ExpectedVersionConflictError)) throw error;
            }
          }
        }
      };
      await Promise.all(range(1, 6).map(writer));
      const read = await store.readStream(s);
      deepStrictEqual(positions(read), range(1, 24));
      equal(new Set(ids(read)).size, 24);
      for (const w of range(1, 6)) {
        const mine = ids(read).filter((id) => id.startsWith(`w${w}-`));
        deepStrictEqual(
          mine,
          [0, 1, 2, 3].map((i) => `w${w}-${i}`),
          `writer ${w} kept its order`,
        );
      }
    });

    test('the same entry appended concurrently is stored once', async (store) => {
      const s = 'call-race-dup';
      const results = await Promise.all(range(1, 20).map(() => store.appendToStream(s, [timer(s, 'same')])));
      equal(results.filter((r) => r.appended.length === 1).length, 1);
      equal(results.filter((r) => r.duplicates.length === 1).length, 19);
      deepStrictEqual(ids(await store.readStream(s)), ['same']);
    });

    test('independent streams do not interfere', async (store) => {
      const streams = ['s-a', 's-b', 's-c', 's-d'];
      await Promise.all(range(0, 9).flatMap((i) => streams.map((s) => store.appendToStream(s, [timer(s, `e${i}`)]))));
      for (const s of streams) {
        const read = await store.readStream(s);
        deepStrictEqual(positions(read), range(1, 10), s);
        ok(read.every((e) => e.callId === s));
        deepStrictEqual(
          [...ids(read)].sort(),
          range(0, 9)
            .map((i) => `e${i}`)
            .sort(),
        );
      }
      // A version is per stream: s-a's version says nothing about s-b's.
      await store.appendToStream('s-a', [timer('s-a', 'more')], { expectedVersion: 10 });
      await rejects(store.appendToStream('s-b', [timer('s-b', 'more')], { expectedVersion: 11 }), conflict('s-b', 11, 10));
      deepStrictEqual([...(await store.listStreams())].sort(), streams);
    });

    test('keeps a live index with each append: live until an entry ends the call, then until endedSince passes that end', async (store) => {
      if (typeof store.listLiveStreams !== 'function') return; // optional: the engine lists every stream instead
      const at = (entry: LogEntry, when: number): LogEntry => ({ ...entry, at: when });
      const state = (callId: string, id: string, callState: string, when: number) =>
        at(notification(callId, id, { '@odata.type': '#microsoft.graph.call', state: callState }), when);
      const live = async (endedSince: number) => [...(await store.listLiveStreams!(endedSince))].sort();
      await store.appendToStream('live', [state('live', 'l1', 'established', 10)]);
      await store.appendToStream('ended', [state('ended', 'e1', 'established', 5), state('ended', 'e2', 'terminated', 20)]);
      await store.appendToStream('twice', [state('twice', 't1', 'terminated', 30)]);
      // the first end stays: a later one (a redelivery, a stale resync) does not move it
      await store.appendToStream('twice', [{ ...notification('twice', 't2', null), changeType: 'deleted', at: 40 }]);
      await store.appendToStream('twice', [state('twice', 't1', 'terminated', 30)]);
      deepStrictEqual(await live(0), ['ended', 'live', 'twice']);
      deepStrictEqual(await live(20), ['ended', 'live', 'twice']);
      deepStrictEqual(await live(21), ['live', 'twice']);
      deepStrictEqual(await live(31), ['live']);
      // an append refused for its version records no end
      await rejects(store.appendToStream('live', [state('live', 'l2', 'terminated', 50)], { expectedVersion: 0 }), conflict('live', 0, 1));
      deepStrictEqual(await live(10 ** 15), ['live']);
      // nor does an entry that only mentions the state of something else
      const participant: NotificationEntry = {
        ...notification('live', 'l3', { '@odata.type': '#microsoft.graph.participant', state: 'terminated' }),
        target: { type: 'participant', participantId: 'p' },
      };
      await store.appendToStream('live', [participant]);
      deepStrictEqual(await live(10 ** 15), ['live']);
      deepStrictEqual([...(await store.listStreams())].sort(), ['ended', 'live', 'twice']);
    });
  });
}

// Builders and helpers. `at` is fixed so that entries compare equal across calls.

function notification(callId: string, id: string, resourceData: unknown): NotificationEntry {
  return {
    id,
    callId,
    at: 1_700_000_000_000,
    kind: 'notification',
    changeType: 'updated',
    resourceUrl: `/communications/calls/${callId}`,
    target: { type: 'call' },
    resourceData,
  };
}

function timer(callId: string, id: string): LogEntry {
  return { id, callId, at: 1_700_000_000_123.5, kind: 'timer', timer: 'keepAliveDue' };
}

function everyKind(callId: string): LogEntry[] {
  return [
    {
      ...notification(callId, 'n-1', {
        '@odata.type': '#microsoft.graph.call',
        state: 'established',
        resultInfo: null,
        mediaState: { audio: 'active' },
        unknownExtra: { kept: [1, 'two', { three: 3 }] },
      }),
      messageId: 'msg-1',
    },
    {
      id: 'n-2',
      callId,
      at: 1_700_000_000_001,
      kind: 'notification',
      changeType: 'deleted',
      resourceUrl: `/communications/calls/${callId}/participants`,
      target: { type: 'participant', participantId: 'p-1' },
      resourceData: [{ '@odata.type': '#microsoft.graph.participant', id: 'p-1', rosterSequenceNumber: 4 }],
    },
    {
      id: 'cmd-1',
      callId,
      at: 1_700_000_000_002,
      kind: 'command',
      command: 'playPrompt',
      args: { prompts: [{ uri: 'https://x/y.wav' }] },
      clientRequestId: 'req-1',
    },
    {
      id: 'res-1',
      callId,
      at: 1_700_000_000_003,
      kind: 'commandResult',
      commandId: 'cmd-1',
      command: 'playPrompt',
      outcome: 'failed',
      status: 429,
      body: { error: { code: 'TooManyRequests' } },
      error: { code: 'SWB_GRAPH_THROTTLED', message: 'slow down' },
    },
    { id: 'sync-1', callId, at: 1_700_000_000_004, kind: 'resync', call: null, participants: [], reason: 'gap' },
    { id: 't-1', callId, at: 1_700_000_000_005, kind: 'timer', timer: 'operationTimeout', operationId: 'op-1' },
    {
      id: 'q-1',
      callId,
      at: 1_700_000_000_006,
      kind: 'quarantined',
      notification: {
        '@odata.type': '#microsoft.graph.commsNotification',
        changeType: 'updated',
        resourceUrl: `/communications/calls/${callId}`,
        resourceData: { state: 42, odd: ['x\ud800y', null, -1.5e-7, { deep: [[{}]] }] },
      },
      index: 3,
      error: {
        code: 'SWB_DECODE',
        reason: 'wrong-type',
        path: '$.value[3].resourceData.state',
        message: '$.value[3].resourceData.state: state must be a string',
      },
      messageId: 'msg-2',
    },
    {
      id: 'q-2',
      callId,
      at: 1_700_000_000_007,
      kind: 'quarantined',
      notification: null,
      index: 0,
      error: { code: 'SWB_DECODE', reason: 'not-an-object', path: '$.value[0]', message: '$.value[0]: a notification must be an object' },
    },
  ];
}

/** What a store that serialises to JSON must give back. */
function json<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

function ids(entries: readonly StoredEntry[]): string[] {
  return entries.map((e) => e.id);
}

function positions(entries: readonly StoredEntry[]): number[] {
  return entries.map((e) => e.position);
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

function conflict(streamId: string, expectedVersion: number, actualVersion: number) {
  return (error: unknown) => {
    ok(error instanceof ExpectedVersionConflictError, `expected ExpectedVersionConflictError, got ${String(error)}`);
    equal(error.code, 'SWB_VERSION_CONFLICT');
    deepStrictEqual(
      { streamId: error.streamId, expectedVersion: error.expectedVersion, actualVersion: error.actualVersion },
      { streamId, expectedVersion, actualVersion },
    );
    return true;
  };
}

function invalidEntry(error: unknown): true {
  ok(error instanceof SwitchboardError, `expected SwitchboardError, got ${String(error)}`);
  equal(error.code, 'SWB_INVALID_ENTRY');
  return true;
}
