// tier: e2e (child processes)
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ExpectedVersionConflictError, type LogEntry } from '@switchboard/core';
import Database from 'better-sqlite3';
import { describeEventStoreContract } from '../contract.js';
import { loadSqliteDriver } from './driver.js';
import { keep, pragmaValue, setPragma } from './keep.js';
import { SQLITE_MIGRATIONS, SQLITE_SCHEMA_VERSION } from './schema.js';
import { DEFAULT_SQLITE_PATH, SqliteEventStore, sqliteWriterThread } from './sqlite-store.js';

const dir = mkdtempSync(join(tmpdir(), 'swb-sqlite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// What a test opens is closed after it, also when an assertion failed half way (a store's
// writer thread, a raw connection holding a lock): connections first, then the stores
// (whose pending commits may wait for a lock a connection holds). Closing twice is harmless.
const connections: Database.Database[] = [];
const stores: SqliteEventStore[] = [];
// (kept from the collector, as the store keeps its own: see keep.ts)
function untilTheEnd(db: Database.Database): Database.Database {
  connections.push(db);
  return keep(db);
}
function track(store: SqliteEventStore): SqliteEventStore {
  stores.push(store);
  return store;
}
afterEach(async () => {
  for (const db of connections.splice(0)) if (db.open) db.close();
  await Promise.allSettled(stores.splice(0).map((store) => store.close()));
});
let files = 0;
const freshPath = () => join(dir, `t${++files}`, 'calls.db');

describeEventStoreContract('SqliteEventStore', () => new SqliteEventStore({ path: freshPath() }), { describe, it });
describeEventStoreContract('SqliteEventStore (writer inline)', () => new SqliteEventStore({ path: freshPath(), writer: 'inline' }), {
  describe,
  it,
});

const timer = (callId: string, id: string): LogEntry => ({ id, callId, at: 1, kind: 'timer', timer: 'keepAliveDue' });

/** Runs a TypeScript file in a child Node (tsx, source conditions): its exit code (or signal) and all it printed. */
async function runScript(script: string, nodeOptions: readonly string[] = []): Promise<{ code: number | string | null; output: string }> {
  const root = fileURLToPath(new URL('../../../../../', import.meta.url));
  const child = spawn(process.execPath, [...nodeOptions, '--import', 'tsx', '--conditions=@switchboard/source', script], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | string | null>((resolve) => {
    const timeout = setTimeout(() => {
      child.kill('SIGKILL');
      resolve('timed out');
    }, 20_000);
    child.once('exit', (exitCode, signal) => {
      clearTimeout(timeout);
      resolve(exitCode ?? signal);
    });
  });
  return { code, output };
}

describe('SqliteEventStore', () => {
  it('opens in WAL mode, synchronous FULL by default, with a busy timeout, creating directories', async () => {
    const path = join(dir, 'deep', 'er', 'calls.db');
    const store = track(new SqliteEventStore({ path }));
    expect(store.path).toBe(path);
    expect(existsSync(path)).toBe(true);
    expect(store.settings).toEqual({ journalMode: 'wal', synchronous: 'full', busyTimeoutMs: 5_000 });
    await store.close();
  });

  it('can trade durability on power loss for speed with synchronous NORMAL', async () => {
    const store = track(new SqliteEventStore({ path: freshPath(), synchronous: 'normal', busyTimeoutMs: 250 }));
    expect(store.settings).toEqual({ journalMode: 'wal', synchronous: 'normal', busyTimeoutMs: 250 });
    await store.close();
  });

  it('writes to .switchboard/calls.db under the working directory by default', async () => {
    const cwd = process.cwd();
    const work = mkdtempSync(join(dir, 'cwd-'));
    process.chdir(work);
    try {
      const store = track(new SqliteEventStore());
      expect(DEFAULT_SQLITE_PATH).toBe('.switchboard/calls.db');
      expect(store.path).toBe(resolve(work, '.switchboard', 'calls.db'));
      await store.appendToStream('c', [timer('c', 'a')]);
      await store.close();
      expect(existsSync(join(work, '.switchboard', 'calls.db'))).toBe(true);
    } finally {
      process.chdir(cwd);
    }
  });

  it('keeps the log and snapshots across a reopen, and continues the positions', async () => {
    const path = freshPath();
    const first = track(new SqliteEventStore({ path }));
    await first.appendToStream('c', [timer('c', 'a'), timer('c', 'b')]);
    await first.writeSnapshot('c', { machineVersion: 'm', position: 2, value: 'established', context: { x: 1 } });
    await first.close();

    const second = track(new SqliteEventStore({ path }));
    expect((await second.readStream('c')).map((e) => [e.id, e.position])).toEqual([
      ['a', 1],
      ['b', 2],
    ]);
    expect(await second.readSnapshot('c')).toEqual({ machineVersion: 'm', position: 2, value: 'established', context: { x: 1 } });
    const more = await second.appendToStream('c', [timer('c', 'a'), timer('c', 'c')], { expectedVersion: 2 });
    expect(more.appended.map((e) => e.position)).toEqual([3]);
    expect(more.duplicates.map((e) => e.id)).toEqual(['a']);
    await second.close();
  });

  it('two connections to one file see each other and conflict on the expected version', async () => {
    const path = freshPath();
    const a = track(new SqliteEventStore({ path }));
    const b = track(new SqliteEventStore({ path }));
    await a.appendToStream('c', [timer('c', '1')], { expectedVersion: 0 });
    await expect(b.appendToStream('c', [timer('c', '2')], { expectedVersion: 0 })).rejects.toBeInstanceOf(ExpectedVersionConflictError);
    await b.appendToStream('c', [timer('c', '1'), timer('c', '2')], { expectedVersion: 1 });
    expect((await a.readStream('c')).map((e) => e.id)).toEqual(['1', '2']);
    await Promise.all([a.close(), b.close()]);
  });

  it('fails with SWB_STORE_BUSY when another process holds the write lock past the busy timeout', async () => {
    const path = freshPath();
    const store = track(new SqliteEventStore({ path, busyTimeoutMs: 50 }));
    const other = untilTheEnd(new Database(path));
    other.exec('BEGIN IMMEDIATE');
    try {
      await expect(store.appendToStream('c', [timer('c', 'a')])).rejects.toMatchObject({ code: 'SWB_STORE_BUSY' });
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    await store.appendToStream('c', [timer('c', 'a')]);
    expect(await store.readStream('c')).toHaveLength(1);
    await store.close();
  });

  it('writes none of a batch when one entry cannot be serialised', async () => {
    const store = track(new SqliteEventStore({ path: ':memory:' }));
    const bad = { ...timer('c', 'b'), args: { n: 1n } } as unknown as LogEntry;
    await expect(store.appendToStream('c', [timer('c', 'a'), bad])).rejects.toMatchObject({ code: 'SWB_INVALID_ENTRY' });
    expect(await store.readStream('c')).toEqual([]);
    await store.close();
  });

  it.each(['worker', 'inline'] as const)(
    'commits the appends of one tick together (one write transaction), each succeeding or failing on its own (writer %s)',
    async (writer) => {
      const path = freshPath();
      const store = track(new SqliteEventStore({ path, writer }));
      await store.appendToStream('busy', [timer('busy', 'b1')]);
      const watcher = untilTheEnd(new Database(path, { readonly: true }));
      const commitsSeen = () => Number(pragmaValue(watcher, 'data_version'));
      const before = commitsSeen();
      const results = await Promise.allSettled([
        ...Array.from({ length: 20 }, (_, i) => store.appendToStream(`call-${i}`, [timer(`call-${i}`, 'a'), timer(`call-${i}`, 'b')])),
        store.appendToStream('busy', [timer('busy', 'b2')], { expectedVersion: 0 }), // stale: the stream is at 1
        store.appendToStream('busy', [timer('busy', 'b3')], { expectedVersion: 1 }),
      ]);
      // one commit by another connection moves data_version once
      expect(commitsSeen() - before).toBe(1);
      watcher.close();
      expect(results.slice(0, 20).every((r) => r.status === 'fulfilled' && r.value.version === 2)).toBe(true);
      expect(results[20]).toMatchObject({ status: 'rejected', reason: expect.any(ExpectedVersionConflictError) });
      expect(results[21]).toMatchObject({ status: 'fulfilled', value: { version: 2 } });
      expect((await store.readStream('busy')).map((e) => e.id)).toEqual(['b1', 'b3']);
      expect(await store.listStreams()).toHaveLength(21);
      // an append asked for just before close is committed, not lost
      const last = store.appendToStream('late', [timer('late', 'l1')]);
      await store.close();
      await expect(last).resolves.toMatchObject({ version: 1 });
      const reopened = track(new SqliteEventStore({ path }));
      expect(await reopened.readStream('late')).toHaveLength(1);
      await reopened.close();
    },
  );

  it('commits on its writer thread; reads on the calling thread see every append that resolved', async () => {
    const path = freshPath();
    const store = track(new SqliteEventStore({ path }));
    expect(sqliteWriterThread(store)).toBeDefined();
    const other = untilTheEnd(new Database(path, { readonly: true }));
    for (let i = 1; i <= 5; i++) {
      const result = await store.appendToStream('c', [timer('c', `e${i}`)]);
      expect(result.version).toBe(i);
      // committed, not merely handed over: the calling thread's connection and another one both see it
      expect((await store.readStream('c')).map((e) => e.position)).toEqual(Array.from({ length: i }, (_, k) => k + 1));
      expect(keep(other.prepare('SELECT count(*) FROM swb_entries')).pluck().get()).toBe(i);
    }
    await store.writeSnapshot('c', { machineVersion: 'm', position: 5, value: 'established', context: {} });
    expect(await store.readSnapshot('c')).toMatchObject({ position: 5 });
    other.close();
    await store.close();
    // :memory: cannot be shared with a thread: it commits inline, and asking for a thread is refused
    const memory = track(new SqliteEventStore({ path: ':memory:' }));
    expect(sqliteWriterThread(memory)).toBeUndefined();
    await memory.close();
    expect(() => new SqliteEventStore({ path: ':memory:', writer: 'worker' })).toThrow(
      expect.objectContaining({ code: 'SWB_INVALID_ARGUMENT' }),
    );
  });

  it('a group mixing streams, duplicates, a conflict and a snapshot settles each write on its own', async () => {
    const store = track(new SqliteEventStore({ path: freshPath() }));
    await store.appendToStream('a', [timer('a', '1')]);
    const [dup, conflict, fresh, snapshot, after] = await Promise.allSettled([
      store.appendToStream('a', [timer('a', '1'), timer('a', '2'), timer('a', '2'), timer('a', '3')]),
      store.appendToStream('a', [timer('a', '9')], { expectedVersion: 1 }), // the append before it moved the stream to 3
      store.appendToStream('b', [timer('b', '1')], { expectedVersion: 0 }),
      store.writeSnapshot('a', { machineVersion: 'm', position: 3, value: 'x', context: {} }),
      store.appendToStream('a', [timer('a', '4')], { expectedVersion: 3 }),
    ]);
    expect(dup).toMatchObject({ status: 'fulfilled', value: { version: 3 } });
    const dupValue = (dup as PromiseFulfilledResult<Awaited<ReturnType<typeof store.appendToStream>>>).value;
    expect(dupValue.appended.map((e) => [e.id, e.position])).toEqual([
      ['2', 2],
      ['3', 3],
    ]);
    expect(dupValue.duplicates.map((e) => e.id)).toEqual(['1', '2']);
    expect(conflict).toMatchObject({ status: 'rejected', reason: { code: 'SWB_VERSION_CONFLICT', expectedVersion: 1, actualVersion: 3 } });
    expect(fresh).toMatchObject({ status: 'fulfilled', value: { version: 1 } });
    expect(snapshot).toMatchObject({ status: 'fulfilled' });
    expect(after).toMatchObject({ status: 'fulfilled', value: { version: 4 } });
    expect((await store.readStream('a')).map((e) => e.id)).toEqual(['1', '2', '3', '4']);
    await store.close();
  });

  for (const writer of ['worker', 'inline'] as const) {
    it(`a write that fails inside a group fails alone: the group is run again with a savepoint per write (writer: ${writer})`, async () => {
      const path = freshPath();
      const store = track(new SqliteEventStore({ path, writer }));
      await store.appendToStream('a', [timer('a', '1')]); // creates the file and schema
      // Another connection makes every insert into stream 'bad' fail, as a broken write would.
      const other = untilTheEnd(new Database(path));
      other.exec(
        `CREATE TRIGGER refuse_bad BEFORE INSERT ON swb_entries WHEN NEW.stream_key = (SELECT stream_key FROM swb_streams WHERE stream_id = 'bad')
         BEGIN SELECT RAISE(ABORT, 'refused by test trigger'); END`,
      );
      other.close();
      const [before, bad, after, snapshot] = await Promise.allSettled([
        store.appendToStream('a', [timer('a', '2'), timer('a', '2')]),
        store.appendToStream('bad', [timer('bad', '1')]),
        store.appendToStream('b', [timer('b', '1')], { expectedVersion: 0 }),
        store.writeSnapshot('a', { machineVersion: 'm', position: 2, value: 'x', context: {} }),
      ]);
      expect(before).toMatchObject({ status: 'fulfilled', value: { version: 2 } });
      expect(
        (before as PromiseFulfilledResult<Awaited<ReturnType<typeof store.appendToStream>>>).value.duplicates.map((e) => e.id),
      ).toEqual(['2']);
      expect(bad).toMatchObject({ status: 'rejected', reason: { code: 'SWB_STORE_FAILED' } });
      expect(String((bad as PromiseRejectedResult).reason.cause?.message ?? (bad as PromiseRejectedResult).reason.message)).toContain(
        'refused by test trigger',
      );
      expect(after).toMatchObject({ status: 'fulfilled', value: { version: 1 } });
      expect(snapshot).toMatchObject({ status: 'fulfilled' });
      expect((await store.readStream('a')).map((e) => [e.id, e.position])).toEqual([
        ['1', 1],
        ['2', 2],
      ]);
      expect(await store.readStream('bad')).toEqual([]);
      expect(await store.readStream('b')).toHaveLength(1);
      expect(await store.readSnapshot('a')).toMatchObject({ position: 2 });
      // and the store goes on committing groups
      await expect(store.appendToStream('a', [timer('a', '3')], { expectedVersion: 2 })).resolves.toMatchObject({ version: 3 });
      await store.close();
    });
  }

  it('close() commits every write asked for before it, also those queued behind a running commit', async () => {
    const path = freshPath();
    const store = track(new SqliteEventStore({ path }));
    const first = Array.from({ length: 50 }, (_, i) => store.appendToStream(`c${i}`, [timer(`c${i}`, 'a')]));
    await new Promise((r) => setImmediate(r)); // the first group is now with the writer thread
    const second = Array.from({ length: 50 }, (_, i) => store.appendToStream(`c${i}`, [timer(`c${i}`, 'b')]));
    const snapshot = store.writeSnapshot('c0', { machineVersion: 'm', position: 2, value: 'x', context: {} });
    const closed = store.close();
    await expect(store.appendToStream('late', [timer('late', 'x')])).rejects.toMatchObject({ code: 'SWB_STORE_CLOSED' });
    await closed;
    expect((await Promise.all([...first, ...second])).map((r) => r.version)).toEqual([...Array(50).fill(1), ...Array(50).fill(2)]);
    await snapshot;
    const reopened = track(new SqliteEventStore({ path, writer: 'inline' }));
    expect(await reopened.listStreams()).toHaveLength(50);
    expect((await reopened.readStream('c49')).map((e) => e.id)).toEqual(['a', 'b']);
    expect(await reopened.readSnapshot('c0')).toMatchObject({ position: 2 });
    await reopened.close();
  });

  it('ready() resolves once the writer thread has opened the file (at once inline)', async () => {
    const store = new SqliteEventStore({ path: freshPath() });
    let ready = false;
    const readied = store.ready().then(() => (ready = true));
    expect(ready).toBe(false); // the thread is still starting
    await readied;
    await store.close();
    const inline = new SqliteEventStore({ path: freshPath(), writer: 'inline' });
    await inline.ready();
    await inline.close();
  });

  it('when the writer thread dies, the writes it held and every later one fail with SWB_STORE_FAILED; reads go on', async () => {
    const path = freshPath();
    const store = track(new SqliteEventStore({ path, busyTimeoutMs: 5_000 }));
    await store.appendToStream('c', [timer('c', 'a')]);
    // keep the thread inside a commit (waiting for the write lock), then end it as a crash would
    const other = untilTheEnd(new Database(path));
    other.exec('BEGIN IMMEDIATE');
    const held = store.appendToStream('c', [timer('c', 'b')]);
    const queued = store.appendToStream('d', [timer('d', 'a')]);
    await new Promise((r) => setTimeout(r, 100)); // the thread is inside its wait for the lock by now
    const stopped = sqliteWriterThread(store)!.terminate();
    const waiting = store.appendToStream('c', [timer('c', 'c')]); // handed to the thread as it ends
    // The thread ends when its native wait for the lock returns. Let that wait succeed: had it
    // failed (SQLITE_BUSY), better-sqlite3 would build its error in a terminating isolate, which
    // aborts the whole process on Node 24 (it did, once in CI). The transaction it began is
    // never finished, so nothing of it is stored.
    await new Promise((r) => setTimeout(r, 50));
    other.exec('ROLLBACK');
    other.close();
    await expect(held).rejects.toMatchObject({
      code: 'SWB_STORE_FAILED',
      message: expect.stringMatching(/writer thread .* exited unexpectedly .* whether they were stored is unknown/),
    });
    await expect(queued).rejects.toMatchObject({ code: 'SWB_STORE_FAILED' });
    await expect(waiting).rejects.toMatchObject({ code: 'SWB_STORE_FAILED' });
    await stopped;
    await expect(store.appendToStream('c', [timer('c', 'd')])).rejects.toMatchObject({
      code: 'SWB_STORE_FAILED',
      message: expect.stringMatching(/writer thread .* exited unexpectedly .* takes no more writes/),
    });
    await expect(store.writeSnapshot('c', { machineVersion: 'm', position: 1, value: 'x', context: {} })).rejects.toMatchObject({
      code: 'SWB_STORE_FAILED',
    });
    expect((await store.readStream('c')).map((e) => e.id)).toEqual(['a']);
    await store.close();
    await expect(store.readStream('c')).rejects.toMatchObject({ code: 'SWB_STORE_CLOSED' });
  });

  it('process.exit() while a commit waits for a lock held elsewhere exits cleanly (exit waits for the commit to end)', async () => {
    // Without the wait, Node stops the writer thread inside the commit, the commit then fails
    // (SQLITE_BUSY) and better-sqlite3 builds its error in a terminating isolate: a V8 fatal
    // error, the process aborted (exit code 134), on Node 20 and 24 alike.
    const work = mkdtempSync(join(dir, 'exit-'));
    const script = join(work, 'exit.mts');
    const storeModule = new URL('./sqlite-store.ts', import.meta.url).href;
    const db = join(work, 'calls.db');
    writeFileSync(
      script,
      [
        `import Database from ${JSON.stringify(pathToFileURL(createRequire(import.meta.url).resolve('better-sqlite3')).href)};`,
        `import { SqliteEventStore } from ${JSON.stringify(storeModule)};`,
        `const store = new SqliteEventStore({ path: ${JSON.stringify(db)}, busyTimeoutMs: 500 });`,
        `const entry = (id: string) => ({ id, callId: 'c', at: 1, kind: 'timer', timer: 'keepAliveDue' }) as const;`,
        `await store.appendToStream('c', [entry('a')]);`,
        `const other = new Database(${JSON.stringify(db)});`,
        `other.exec('BEGIN IMMEDIATE'); // held until the process ends`,
        `void store.appendToStream('c', [entry('b')]).catch(() => {});`,
        `setTimeout(() => { console.log('exiting'); process.exit(0); }, 150);`,
      ].join('\n'),
    );
    expect(await runScript(script)).toEqual({ code: 0, output: 'exiting\n' });
    const reopened = track(new SqliteEventStore({ path: db, writer: 'inline' }));
    // 'b' was never acknowledged: it may or may not be there. Under load the commit can still be
    // waiting for the lock when the exiting process closes the other connection, and then lands.
    expect([['a'], ['a', 'b']]).toContainEqual((await reopened.readStream('c')).map((e) => e.id));
    await reopened.close();
  });

  it('an idle store that was never closed does not keep the process alive', async () => {
    const work = mkdtempSync(join(dir, 'idle-'));
    const script = join(work, 'idle.mts');
    const storeModule = new URL('./sqlite-store.ts', import.meta.url).href;
    writeFileSync(
      script,
      [
        `import { SqliteEventStore } from ${JSON.stringify(storeModule)};`,
        `const store = new SqliteEventStore({ path: ${JSON.stringify(join(work, 'calls.db'))} });`,
        `const entry = { id: 'a', callId: 'c', at: 1, kind: 'timer', timer: 'keepAliveDue' } as const;`,
        `const result = await store.appendToStream('c', [entry]);`,
        `console.log('appended', result.version);`,
      ].join('\n'),
    );
    expect(await runScript(script)).toEqual({ code: 0, output: 'appended 1\n' });
    const reopened = track(new SqliteEventStore({ path: join(work, 'calls.db'), writer: 'inline' }));
    expect(await reopened.readStream('c')).toHaveLength(1);
    await reopened.close();
  });

  it('leaves no better-sqlite3 object to the garbage collector (on Node 24 freeing one can abort the process)', async () => {
    // Every connection and statement better-sqlite3 makes for a store, counted as made and as
    // freed by the collector, across stores opened, used and closed, then collections forced.
    const work = mkdtempSync(join(dir, 'kept-'));
    const script = join(work, 'kept.mts');
    const driverPath = createRequire(import.meta.url).resolve('better-sqlite3');
    const storeModule = new URL('./sqlite-store.ts', import.meta.url).href;
    writeFileSync(
      script,
      [
        `import { createRequire } from 'node:module';`,
        `import { join } from 'node:path';`,
        `import { SqliteEventStore } from ${JSON.stringify(storeModule)};`,
        `const require = createRequire(${JSON.stringify(driverPath)});`,
        `const Database = require(${JSON.stringify(driverPath)});`,
        `const { cppdb } = require(join(${JSON.stringify(dirname(driverPath))}, 'util.js'));`,
        `let made = 0;`,
        `let freed = 0;`,
        `const registry = new FinalizationRegistry(() => void (freed += 1));`,
        `const probe = new Database(':memory:'); // kept to the end: it only finds the native prepare`,
        `const native = Object.getPrototypeOf(probe[cppdb]);`,
        `const prepare = native.prepare;`,
        `native.prepare = function (...args) { const statement = prepare.apply(this, args); made += 1; registry.register(statement, 0); return statement; };`,
        `class Counted extends Database { constructor(...args) { super(...args); made += 1; registry.register(this, 0); } }`,
        `const entry = (id: string) => ({ id, callId: 'c', at: 1, kind: 'timer', timer: 'keepAliveDue' }) as const;`,
        `for (let i = 0; i < 3; i++) {`,
        `  const store = new SqliteEventStore({ path: ${JSON.stringify(join(work, 'calls.db'))}, writer: 'inline', driver: Counted });`,
        `  await store.appendToStream('c', [entry('e' + i)]);`,
        `  await store.readStream('c');`,
        `  await store.writeSnapshot('c', { machineVersion: 'm', position: 1, value: 'x', context: {} });`,
        `  await store.readSnapshot('c');`,
        `  await store.close();`,
        `}`,
        `for (let i = 0; i < 5; i++) { (globalThis as unknown as { gc(): void }).gc(); await new Promise((r) => setTimeout(r, 20)); }`,
        `console.log(JSON.stringify({ made, freed }));`,
      ].join('\n'),
    );
    const { code, output } = await runScript(script, ['--expose-gc']);
    expect({ code, output }).toMatchObject({ code: 0 });
    const counts = JSON.parse(output) as { made: number; freed: number };
    expect(counts.made).toBeGreaterThan(10); // connections, statements and pragmas of three stores
    expect(counts.freed).toBe(0);
  });

  it('refuses a nonsense expected version rather than guessing', async () => {
    const store = track(new SqliteEventStore({ path: ':memory:' }));
    await expect(store.appendToStream('c', [timer('c', 'a')], { expectedVersion: -1 })).rejects.toMatchObject({
      code: 'SWB_INVALID_ARGUMENT',
    });
    await expect(store.appendToStream('c', [timer('c', 'a')], { expectedVersion: 0.5 })).rejects.toMatchObject({
      code: 'SWB_INVALID_ARGUMENT',
    });
    await store.close();
  });

  it('throws SWB_STORE_CLOSED after close, which is idempotent', async () => {
    const store = track(new SqliteEventStore({ path: ':memory:' }));
    await store.close();
    await store.close();
    await expect(store.appendToStream('c', [timer('c', 'a')])).rejects.toMatchObject({ code: 'SWB_STORE_CLOSED' });
    await expect(store.readStream('c')).rejects.toMatchObject({ code: 'SWB_STORE_CLOSED' });
  });

  it('migrates a file of schema 1 (streams keyed by call id) to schema 2, keeping every entry, version, order and snapshot', async () => {
    const path = freshPath();
    mkdirSync(dirname(path), { recursive: true });
    const v1 = untilTheEnd(new Database(path));
    setPragma(v1, 'journal_mode = WAL');
    v1.exec(SQLITE_MIGRATIONS[0]!);
    setPragma(v1, 'user_version = 1');
    const row = keep(
      v1.prepare('INSERT INTO swb_entries (stream_id, position, entry_id, kind, at, body, stored_at) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    );
    const body = (e: LogEntry) => JSON.stringify(e);
    // 'b' first written before 'a'; 'orphan' has entries but, unlike anything Switchboard wrote, no stream row
    for (const [stream, ids] of [
      ['b', ['b1']],
      ['a', ['a1', 'a2', 'a3']],
      ['orphan', ['o1', 'o2']],
    ] as const) {
      ids.forEach((id, i) => row.run(stream, i + 1, id, 'timer', 1, body(timer(stream, id)), 5));
    }
    const streamRow = keep(v1.prepare('INSERT INTO swb_streams (stream_id, version, created_at, updated_at) VALUES (?, ?, 5, 5)'));
    streamRow.run('b', 1);
    streamRow.run('a', 3);
    keep(v1.prepare('INSERT INTO swb_snapshots (stream_id, position, machine_version, body, written_at) VALUES (?, ?, ?, ?, ?)')).run(
      'a',
      2,
      'm',
      JSON.stringify({ machineVersion: 'm', position: 2, value: 'x', context: {} }),
      5,
    );
    v1.close();

    const store = track(new SqliteEventStore({ path }));
    const check = untilTheEnd(new Database(path, { readonly: true }));
    expect(pragmaValue(check, 'user_version')).toBe(SQLITE_SCHEMA_VERSION);
    check.close();
    expect(await store.listStreams()).toEqual(['b', 'a', 'orphan']);
    expect((await store.readStream('a')).map((e) => [e.id, e.position])).toEqual([
      ['a1', 1],
      ['a2', 2],
      ['a3', 3],
    ]);
    expect(await store.readStream('a', { after: 2 })).toEqual([{ ...timer('a', 'a3'), position: 3 }]);
    expect((await store.readStream('orphan')).map((e) => e.id)).toEqual(['o1', 'o2']);
    expect(await store.readSnapshot('a')).toMatchObject({ position: 2 });
    // versions carry on, and ids already held are still duplicates
    await expect(store.appendToStream('a', [timer('a', 'a4')], { expectedVersion: 2 })).rejects.toMatchObject({
      code: 'SWB_VERSION_CONFLICT',
    });
    const next = await store.appendToStream('a', [timer('a', 'a3'), timer('a', 'a4')], { expectedVersion: 3 });
    expect({ version: next.version, duplicates: next.duplicates.map((e) => e.id) }).toEqual({ version: 4, duplicates: ['a3'] });
    await expect(store.appendToStream('orphan', [timer('orphan', 'o3')], { expectedVersion: 2 })).resolves.toMatchObject({ version: 3 });
    await expect(store.appendToStream('c', [timer('c', 'c1')], { expectedVersion: 0 })).resolves.toMatchObject({ version: 1 });
    expect(await store.listStreams()).toEqual(['b', 'a', 'orphan', 'c']);
    await store.close();
  });

  it('migrates a file of schema 2 to the live index, finding each ended call in its log', async () => {
    const path = freshPath();
    mkdirSync(dirname(path), { recursive: true });
    const v2 = untilTheEnd(new Database(path));
    setPragma(v2, 'journal_mode = WAL');
    v2.exec(SQLITE_MIGRATIONS[0]!);
    v2.exec(SQLITE_MIGRATIONS[1]!);
    setPragma(v2, 'user_version = 2');
    const call = (callId: string, id: string, at: number, state: string, changeType = 'updated'): LogEntry => ({
      kind: 'notification',
      id,
      callId,
      at,
      changeType: changeType as 'updated',
      resourceUrl: `/communications/calls/${callId}`,
      target: { type: 'call' },
      resourceData: { '@odata.type': '#microsoft.graph.call', state },
    });
    const logs: Record<string, LogEntry[]> = {
      live: [call('live', 'l1', 10, 'established')],
      hungUp: [call('hungUp', 'h1', 10, 'established'), call('hungUp', 'h2', 20, 'Terminated'), call('hungUp', 'h3', 30, 'terminated')],
      deleted: [call('deleted', 'd1', 10, 'established'), call('deleted', 'd2', 40, 'established', 'deleted')],
      gone: [
        call('gone', 'g1', 10, 'established'),
        { kind: 'commandResult', id: 'g2', callId: 'gone', at: 50, commandId: 'c', command: 'keepAlive', outcome: 'failed', status: 404 },
      ],
      mentions: [call('mentions', 'm1', 10, 'established'), { ...timer('mentions', 'terminated deleted 404'), at: 60 }],
    };
    const newStream = keep(
      v2.prepare('INSERT INTO swb_streams (stream_id, version, created_at, updated_at) VALUES (?, ?, 5, 5) RETURNING stream_key').pluck(),
    );
    const row = keep(
      v2.prepare('INSERT INTO swb_entries (stream_key, position, entry_id, kind, at, body, stored_at) VALUES (?, ?, ?, ?, ?, ?, 5)'),
    );
    for (const [streamId, entries] of Object.entries(logs)) {
      const key = newStream.get(streamId, entries.length);
      entries.forEach((e, i) => row.run(key, i + 1, e.id, e.kind, e.at, JSON.stringify(e)));
    }
    v2.close();

    const store = track(new SqliteEventStore({ path }));
    const live = async (since: number) => [...(await store.listLiveStreams(since))].sort();
    expect(await live(0)).toEqual(['deleted', 'gone', 'hungUp', 'live', 'mentions']);
    expect(await live(21)).toEqual(['deleted', 'gone', 'live', 'mentions']);
    expect(await live(51)).toEqual(['live', 'mentions']);
    await store.close();
  });

  it('refuses a file written by a newer schema', async () => {
    const path = freshPath();
    await track(new SqliteEventStore({ path })).close();
    const raw = untilTheEnd(new Database(path));
    setPragma(raw, 'user_version = 99');
    raw.close();
    expect(() => new SqliteEventStore({ path })).toThrow(expect.objectContaining({ code: 'SWB_SCHEMA_NEWER' }));
  });

  it('refuses unknown options', () => {
    expect(() => new SqliteEventStore({ path: ':memory:', synchronous: 'off' as 'full' })).toThrow(
      expect.objectContaining({ code: 'SWB_INVALID_ARGUMENT' }),
    );
    expect(() => new SqliteEventStore({ path: freshPath(), writer: 'thread' as 'worker' })).toThrow(
      expect.objectContaining({ code: 'SWB_INVALID_ARGUMENT' }),
    );
  });
});

describe('loadSqliteDriver', () => {
  it('loads better-sqlite3 on demand', () => {
    expect(loadSqliteDriver()).toBe(Database);
  });

  it('says how to install better-sqlite3 when it is missing', () => {
    const missing = Object.assign(new Error("Cannot find module 'better-sqlite3'"), { code: 'MODULE_NOT_FOUND' });
    const fail = () => {
      throw missing;
    };
    expect(() => loadSqliteDriver(fail)).toThrow(
      expect.objectContaining({
        code: 'SWB_DEPENDENCY_MISSING',
        cause: missing,
        message: expect.stringMatching(/install.*better-sqlite3/),
      }),
    );
    expect(() => new SqliteEventStore({ path: ':memory:', driver: loadSqliteDriver(fail) })).toThrow(
      expect.objectContaining({ code: 'SWB_DEPENDENCY_MISSING' }),
    );
  });

  it('says when better-sqlite3 is installed but broken (a native build for another Node)', () => {
    const broken = new Error('The module was compiled against a different Node.js version');
    expect(() =>
      loadSqliteDriver(() => {
        throw broken;
      }),
    ).toThrow(expect.objectContaining({ code: 'SWB_DEPENDENCY_BROKEN', cause: broken }));
  });
});
