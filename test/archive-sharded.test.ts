// tier: integration (PostgreSQL, two databases)
/**
 * Retention over calls partitioned across two PostgreSQL databases (`ShardedPgEventStore`):
 * the live index answers for every shard, and the archive drains both shards in batches that
 * each stay inside one shard (one transaction), so every ended call leaves the store once and
 * lands in exactly one archive file, and replaying the archive gives the views the store gave.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type LogEntry } from '@switchboard/core';
import { callToJson, carriedEntry, parseExchangeLine, replay } from '@switchboard/core/replay';
import { callStateBody, rosterBody } from '@switchboard/core/testing';
import { shardOf } from '@switchboard/adapters';
import { archiveEndedCalls } from '@switchboard/runtime';
import { testShards } from '../packages/adapters/src/stores/postgres/test-db.js';

const DAY = 86_400_000;
const dir = mkdtempSync(join(tmpdir(), 'swb-archive-sharded-'));
const shards = testShards('archshard');
beforeAll(shards.setup);
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await shards.teardown();
});

/** Every entry in the archive's day files, in file order. */
function archived(archiveDir: string): LogEntry[] {
  const entries: LogEntry[] = [];
  for (const name of readdirSync(archiveDir)
    .filter((n) => n.endsWith('.jsonl.gz'))
    .sort()) {
    const text = gunzipSync(readFileSync(join(archiveDir, name))).toString('utf8');
    text.split('\n').forEach((line, i) => {
      const record = parseExchangeLine(line, i + 1);
      const entry = record && carriedEntry(record);
      if (entry) entries.push(entry);
    });
  }
  return entries;
}

describe('retention over two shards', () => {
  it('lists the live calls of both shards, and archives the ended ones of both, each once, in one-shard batches', async () => {
    const now = 200 * DAY;
    const store = shards.store();
    try {
      const engine = createEngine({ store, clock: () => now });
      const ended = Array.from({ length: 40 }, (_, i) => `ended-${i}`);
      const live = Array.from({ length: 6 }, (_, i) => `live-${i}`);
      const recent = Array.from({ length: 4 }, (_, i) => `recent-${i}`);
      for (const list of [ended, live, recent]) expect(new Set(list.map((id) => shardOf(id, 2))).size).toBe(2);
      for (const [i, id] of ended.entries()) {
        const start = now - (2 + (i % 3)) * DAY + i * 1_000;
        await engine.ingest(callStateBody(id, 'established'), { receivedAt: start });
        if (i % 2 === 0) await engine.ingest(rosterBody(id, [{ id: `p${i}`, displayName: `P${i}` }], 1), { receivedAt: start + 10 });
        await engine.ingest(callStateBody(id, 'terminated'), { receivedAt: start + 500 });
      }
      for (const id of live) await engine.ingest(callStateBody(id, 'established'), { receivedAt: now - 5 * DAY });
      for (const id of recent) await engine.ingest(callStateBody(id, 'terminated'), { receivedAt: now - 60_000 });

      // the live index of both shards: not ended, or ended within the window asked for
      expect([...(await store.listLiveStreams(now - DAY))].sort()).toEqual([...live, ...recent].sort());
      const views = new Map<string, unknown>();
      for (const id of ended) views.set(id, callToJson((await engine.load(id))!));

      // each batch the archive is given comes from one shard; a deletion spanning two is refused
      const batch = await store.listEndedBefore(now - DAY, 100);
      expect(batch.length).toBeGreaterThan(0);
      expect(new Set(batch.map((s) => shardOf(s.streamId, 2))).size).toBe(1);
      const other = ended.find((id) => shardOf(id, 2) !== shardOf(batch[0]!.streamId, 2))!;
      await expect(
        store.deleteStreams([
          { streamId: batch[0]!.streamId, version: batch[0]!.version },
          { streamId: other, version: 3 },
        ]),
      ).rejects.toMatchObject({ code: 'SWB_INVALID_ARGUMENT' });
      expect(await store.countStreams([...ended, 'never-written'])).toBe(ended.length);

      const archiveDir = join(dir, 'two-shards');
      const result = await archiveEndedCalls(store, { dir: archiveDir, olderThanDays: 1, now, batchSize: 7 });
      expect(result).toMatchObject({ archived: ended.length, recovered: 'nothing' });
      expect([...(await store.listStreams())].sort()).toEqual([...live, ...recent].sort());
      expect(await store.countStreams(ended)).toBe(0);

      // every archived entry once, and the archive replays to the views the store gave
      const entries = archived(archiveDir);
      const keys = entries.map((e) => `${e.callId}/${e.id}`);
      expect(new Set(keys).size).toBe(keys.length);
      expect(new Set(entries.map((e) => e.callId))).toEqual(new Set(ended));
      const replayed = replay(entries, { timeline: false });
      for (const id of ended) expect(callToJson(replayed.calls[id]!)).toEqual(views.get(id));
      // a second run finds nothing more to move
      expect(await archiveEndedCalls(store, { dir: archiveDir, olderThanDays: 1, now, batchSize: 7 })).toMatchObject({ archived: 0 });
    } finally {
      await store.close();
    }
  });
});
