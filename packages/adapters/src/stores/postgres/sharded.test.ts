// tier: integration (PostgreSQL)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeEventStoreContract } from '../contract.js';
import { shardOf } from './sharded.js';
import { testShards } from './test-db.js';

// Two databases on the local server (`test` and `test_shard2`), one schema in each.
const shards = testShards('shard');
const { schema, pools } = shards;
const sharded = () => shards.store();

beforeAll(shards.setup);
afterAll(shards.teardown);

const ids = (n: number, prefix = 'call') => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

describe('shardOf', () => {
  it('is stable: the same id always lands in the same shard (pinned values)', () => {
    expect(['a', 'b', 'c', '2a1f0000-1b2c-4d5e-9f00-000000000001', 'call-1'].map((id) => shardOf(id, 2))).toEqual([1, 0, 0, 1, 0]);
    expect(['a', 'b', 'c', '2a1f0000-1b2c-4d5e-9f00-000000000001', 'call-1'].map((id) => shardOf(id, 5))).toEqual([2, 3, 0, 2, 0]);
    expect(shardOf('anything', 1)).toBe(0);
    expect(() => shardOf('x', 0)).toThrow(/shards/);
  });

  it('spreads ids evenly, and growing from 2 to 3 shards moves only the ids that go to the new one', () => {
    const all = ids(20_000);
    const two = all.map((id) => shardOf(id, 2));
    const share = two.filter((s) => s === 0).length / all.length;
    expect(share).toBeGreaterThan(0.48);
    expect(share).toBeLessThan(0.52);
    const three = all.map((id) => shardOf(id, 3));
    const moved = all.filter((_, i) => three[i] !== two[i]);
    expect(moved.every((id) => shardOf(id, 3) === 2)).toBe(true);
    expect(moved.length / all.length).toBeGreaterThan(0.3);
    expect(moved.length / all.length).toBeLessThan(0.37);
  });

  it('puts every spelling of a call id in one shard', () => {
    const id = '2A1F0000-1B2C-4D5E-9F00-00000000ABCD';
    for (let n = 2; n < 8; n++) expect(shardOf(id, n)).toBe(shardOf(id.toLowerCase(), n));
  });
});

describe('ShardedPgEventStore over two databases', () => {
  it("keeps each stream's entries, snapshot and lease in its shard's database only", async () => {
    const store = sharded();
    try {
      const streams = ids(24, 'placed');
      for (const id of streams) {
        await store.appendToStream(id, [{ kind: 'timer', id: `t:${id}`, callId: id, at: 1, timer: 'keepAliveDue' }]);
        await store.acquireLease(id, 'me', 60_000);
      }
      for (const [i, pool] of pools.entries()) {
        const held = (await pool.query<{ stream_id: string }>(`SELECT stream_id FROM ${schema}.entries WHERE stream_id LIKE 'placed-%'`))
          .rows;
        const leased = (await pool.query<{ stream_id: string }>(`SELECT stream_id FROM ${schema}.leases WHERE stream_id LIKE 'placed-%'`))
          .rows;
        const expected = streams.filter((id) => shardOf(id, 2) === i).sort();
        expect(expected.length).toBeGreaterThan(0);
        expect(held.map((r) => r.stream_id).sort()).toEqual(expected);
        expect(leased.map((r) => r.stream_id).sort()).toEqual(expected);
      }
      expect([...(await store.listStreams())].filter((id) => id.startsWith('placed-')).sort()).toEqual([...streams].sort());
      expect([...(await store.claimableCalls('me', 60_000))].filter((id) => id.startsWith('placed-')).sort()).toEqual([...streams].sort());
    } finally {
      await store.close();
    }
  });

  it("hears every shard's appends", async () => {
    const store = sharded();
    const writer = sharded();
    try {
      const heard = new Set<string>();
      const unsubscribe = await store.subscribe((streamId) => heard.add(streamId));
      const streams = ids(8, 'heard');
      expect(new Set(streams.map((id) => shardOf(id, 2))).size).toBe(2);
      await Promise.all(
        streams.map((id) => writer.appendToStream(id, [{ kind: 'timer', id: `t:${id}`, callId: id, at: 1, timer: 'keepAliveDue' }])),
      );
      for (let i = 0; i < 200 && heard.size < streams.length; i++) await new Promise((resolve) => setTimeout(resolve, 25));
      expect([...heard].filter((id) => id.startsWith('heard-')).sort()).toEqual([...streams].sort());
      expect(store.listening).toBe(true);
      unsubscribe();
    } finally {
      await Promise.all([store.close(), writer.close()]);
    }
  });
});

describeEventStoreContract(
  'ShardedPgEventStore (two databases)',
  async () => {
    await Promise.all(
      pools.map((pool) =>
        pool.query(
          `DELETE FROM ${schema}.entries; DELETE FROM ${schema}.streams; DELETE FROM ${schema}.snapshots; DELETE FROM ${schema}.leases;`,
        ),
      ),
    );
    return sharded();
  },
  { describe, it },
);
