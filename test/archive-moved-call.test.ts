import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { createEngine } from '@switchboard/core';
import { carriedEntry, parseExchangeLine } from '@switchboard/core/replay';
import { callStateBody } from '@switchboard/core/testing';
import { SqliteEventStore } from '@switchboard/adapters';
import { archiveEndedCalls, type ArchiveSource } from '@switchboard/runtime';

const dir = mkdtempSync(join(tmpdir(), 'swb-archive-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const DAY = 86_400_000;

function archivedIds(archiveDir: string): string[] {
  const ids: string[] = [];
  for (const name of readdirSync(archiveDir).filter((n) => n.endsWith('.gz'))) {
    const text = gunzipSync(readFileSync(join(archiveDir, name))).toString('utf8');
    text.split('\n').forEach((line, i) => {
      const record = parseExchangeLine(line, i + 1);
      if (record) ids.push(`${carriedEntry(record)!.callId}/${carriedEntry(record)!.id}`);
    });
  }
  return ids.sort();
}

describe('archiveEndedCalls', () => {
  it('a call that moves after it was read is not deleted: its batch is undone and archived again, whole and once', async () => {
    const now = 100 * DAY;
    const store = new SqliteEventStore({ path: join(dir, 'moved.db') });
    const engine = createEngine({ store, clock: () => now });
    for (let i = 0; i < 5; i++) {
      await engine.ingest(callStateBody(`c${i}`, 'established'), { receivedAt: now - 3 * DAY + i });
      await engine.ingest(callStateBody(`c${i}`, 'terminated'), { receivedAt: now - 3 * DAY + 10 + i });
    }
    await engine.ingest(callStateBody('live', 'established'), { receivedAt: now - 3 * DAY });
    let late = true;
    // a late notification for c2 lands right after the archive read c2
    const racing: ArchiveSource = {
      listEndedBefore: (cutoff, limit) => store.listEndedBefore(cutoff, limit),
      deleteStreams: (streams) => store.deleteStreams(streams),
      countStreams: (ids) => store.countStreams(ids),
      readStream: async (id) => {
        const entries = await store.readStream(id);
        if (id === 'c2' && late) {
          late = false;
          await engine.ingest(callStateBody('c2', 'established'), { receivedAt: now - 3 * DAY + 100 });
          // (and one for a live call: SQLite leaves the stream holding the file's last entry for a later run)
          await engine.ingest(callStateBody('live', 'hold'), { receivedAt: now });
        }
        return entries;
      },
    };
    const archiveDir = join(dir, 'moved');
    const result = await archiveEndedCalls(racing, { dir: archiveDir, olderThanDays: 1, now, batchSize: 10 });
    expect(result).toMatchObject({ archived: 5, recovered: 'nothing' });
    expect(await store.listStreams()).toEqual(['live']);
    const ids = archivedIds(archiveDir);
    expect(ids.filter((id) => id.startsWith('c2/'))).toHaveLength(3);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toHaveLength(11);
    // again: nothing left to do
    expect(await archiveEndedCalls(store, { dir: archiveDir, olderThanDays: 1, now })).toMatchObject({ archived: 0 });
    await store.close();
  });
});
