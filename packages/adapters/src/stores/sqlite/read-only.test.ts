import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { LogEntry } from '@switchboard/core';
import { SqliteEventStore, sqliteWriterThread } from './sqlite-store.js';
import { loadSqliteDriver } from './driver.js';

const dirs: string[] = [];
const stores: SqliteEventStore[] = [];
afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempPath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'swb-sqlite-ro-'));
  dirs.push(dir);
  return join(dir, 'calls.db');
}

function open(path: string, readOnly = false): SqliteEventStore {
  const store = new SqliteEventStore({ path, readOnly, writer: 'inline' });
  stores.push(store);
  return store;
}

const timer = (callId: string, id: string, at = 1): LogEntry => ({ kind: 'timer', id, callId, at, timer: 'keepAliveDue' });

describe('SqliteEventStore opened read-only', () => {
  it('reads what a writer wrote, and refuses every write', async () => {
    const path = tempPath();
    const writer = open(path);
    await writer.appendToStream('a', [timer('a', 'a1'), timer('a', 'a2')]);
    await writer.appendToStream('b', [timer('b', 'b1')]);
    await writer.writeSnapshot('a', { machineVersion: 'm', position: 2, value: 'established', context: { id: 'a' } });

    const reader = open(path, true);
    expect(sqliteWriterThread(reader)).toBeUndefined();
    expect(await reader.listStreams()).toEqual(['a', 'b']);
    expect((await reader.readStream('a')).map((e) => [e.id, e.position])).toEqual([
      ['a1', 1],
      ['a2', 2],
    ]);
    expect((await reader.readSnapshot('a'))?.value).toBe('established');
    await expect(reader.appendToStream('a', [timer('a', 'a3')])).rejects.toMatchObject({ code: 'SWB_STORE_READ_ONLY' });
    await expect(reader.writeSnapshot('a', { machineVersion: 'm', position: 3, value: 'x', context: {} })).rejects.toMatchObject({
      code: 'SWB_STORE_READ_ONLY',
    });
    // the writer's appends after the reader opened are seen (WAL)
    await writer.appendToStream('a', [timer('a', 'a3')]);
    expect((await reader.readStream('a', { after: 2 })).map((e) => e.id)).toEqual(['a3']);
    expect(await writer.readStream('a')).toHaveLength(3);
  });

  it('never creates or migrates a file', async () => {
    const missing = tempPath();
    expect(() => new SqliteEventStore({ path: missing, readOnly: true })).toThrow(
      expect.objectContaining({ code: 'SWB_STORE_UNAVAILABLE' }),
    );
    expect(existsSync(missing)).toBe(false);

    // an SQLite file that is not a Switchboard log stays as it was
    const other = tempPath();
    const Driver = loadSqliteDriver();
    const db = new Driver(other);
    db.exec('CREATE TABLE notes (text TEXT)');
    db.close();
    const before = statSync(other);
    expect(() => new SqliteEventStore({ path: other, readOnly: true })).toThrow(expect.objectContaining({ code: 'SWB_SCHEMA_OLDER' }));
    const after = statSync(other);
    expect([after.size, after.mtimeMs]).toEqual([before.size, before.mtimeMs]);
    expect(() => new SqliteEventStore({ path: ':memory:', readOnly: true })).toThrow(
      expect.objectContaining({ code: 'SWB_INVALID_ARGUMENT' }),
    );
  });
});

describe('SqliteEventStore.appendedSince', () => {
  it('reports the streams appended to since a cursor, with their versions, and nothing when nothing changed', async () => {
    const path = tempPath();
    const writer = open(path);
    await writer.appendToStream('a', [timer('a', 'a1')]);
    const reader = open(path, true);

    const start = await reader.appendedSince();
    expect(start.streams).toEqual([]);
    expect(await reader.appendedSince(start.cursor)).toEqual({ cursor: start.cursor, streams: [] });

    await writer.appendToStream('a', [timer('a', 'a2'), timer('a', 'a3')]);
    await writer.appendToStream('b', [timer('b', 'b1')]);
    const first = await reader.appendedSince(start.cursor);
    expect([...first.streams].sort((x, y) => x.streamId.localeCompare(y.streamId))).toEqual([
      { streamId: 'a', version: 3 },
      { streamId: 'b', version: 1 },
    ]);
    expect(first.cursor).toBeGreaterThan(start.cursor);
    // a duplicate append stores nothing and so reports nothing
    await writer.appendToStream('b', [timer('b', 'b1')]);
    expect(await reader.appendedSince(first.cursor)).toEqual({ cursor: first.cursor, streams: [] });
    await writer.appendToStream('b', [timer('b', 'b2')]);
    expect((await reader.appendedSince(first.cursor)).streams).toEqual([{ streamId: 'b', version: 2 }]);
    // a cursor past the end (the row ids went back) reports every stream
    expect((await reader.appendedSince(first.cursor + 1_000)).streams).toHaveLength(2);
  });
});
