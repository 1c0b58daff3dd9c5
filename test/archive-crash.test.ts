// tier: e2e (child processes, PostgreSQL)
/**
 * The archive killed at random points. A real `switchboard archive` child process moves the
 * calls that ended days ago out of a store (SQLite, PostgreSQL) into gzipped day files, and is
 * killed with SIGKILL at a different point each time: after a random number of its batches and
 * a random delay more, so inside a batch (reading, journaling, appending, flushing, deleting).
 * Then a run to the end. Every call is in the store or in exactly one archive file, once (no
 * entry twice), the live and recently ended calls are still in the store, and replaying each
 * archive file (`switchboard replay --json`, which reads .jsonl.gz) gives every archived call
 * the view the store gave it before.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type EventStore } from '@switchboard/core';
import { callToJson, carriedEntry, parseExchangeLine } from '@switchboard/core/replay';
import { callStateBody, rosterBody } from '@switchboard/core/testing';
import { PgEventStore, SqliteEventStore } from '@switchboard/adapters';
import { ARCHIVE_JOURNAL } from '@switchboard/runtime';
import { main } from '@switchboard/cli';
import { requirePostgres, testSchemas, TEST_DATABASE_URL } from '../packages/adapters/src/stores/postgres/test-db.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const KILLS = 3;
const DAY = 86_400_000;
const ENDED = 180;
/** How long the child pauses after each step of a batch: the window a kill lands in. */
const STEP_PAUSE_MS = 40;
/** The kills land inside each step's window in turn: after the journal, after the append, after the delete. */
const KILL_STEPS = ['journaled', 'appended', 'deleted'] as const;
const dir = mkdtempSync(join(tmpdir(), 'swb-archive-crash-'));
const schemas = testSchemas('archive');
beforeAll(requirePostgres);
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await schemas.dropAll();
});

/** Calls that ended 2 to 4 days ago (three day files), calls still live, calls that just ended. */
async function populate(store: EventStore, now: number): Promise<Map<string, unknown>> {
  const engine = createEngine({ store, clock: () => now });
  const ids: string[] = [];
  for (let i = 0; i < ENDED; i++) {
    const id = `ended-${i}`;
    const start = now - (2 + (i % 3)) * DAY - 3_600_000 + i * 1_000;
    await engine.ingest(callStateBody(id, 'established'), { receivedAt: start });
    if (i % 2 === 0) await engine.ingest(rosterBody(id, [{ id: `p${i}`, displayName: `P${i}` }], 1), { receivedAt: start + 10 });
    await engine.ingest(callStateBody(id, 'terminated'), { receivedAt: start + 500 });
    if (i % 5 === 0) await engine.ingest(callStateBody(id, 'established'), { receivedAt: start + 900 }); // late: stale
    ids.push(id);
  }
  for (let i = 0; i < 10; i++) {
    await engine.ingest(callStateBody(`live-${i}`, 'established'), { receivedAt: now - 5 * DAY });
    await engine.ingest(callStateBody(`recent-${i}`, 'terminated'), { receivedAt: now - 60_000 });
    ids.push(`live-${i}`, `recent-${i}`);
  }
  const views = new Map<string, unknown>();
  for (const id of ids) views.set(id, callToJson((await engine.load(id))!));
  return views;
}

function archiveChild(storeArgs: readonly string[], archiveDir: string) {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--conditions=@switchboard/source',
      join(ROOT, 'packages/cli/src/bin.ts'),
      'archive',
      ...storeArgs,
      '--dir',
      archiveDir,
      '--older-than',
      '1',
      '--batch',
      '7',
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SWB_ARCHIVE_TRACE: String(STEP_PAUSE_MS) } },
  );
  const output: string[] = [];
  const steps: string[] = [];
  const waiters: Array<{ step: string; n: number; resolve: () => void }> = [];
  let rest = '';
  child.stdout.on('data', (chunk: Buffer) => {
    const text = rest + chunk.toString('utf8');
    output.push(chunk.toString('utf8'));
    const lines = text.split('\n');
    rest = lines.pop()!;
    for (const line of lines) if (line.startsWith('step ')) steps.push(line.split(' ')[1]!);
    for (const w of waiters.splice(0)) {
      if (steps.filter((s) => s === w.step).length >= w.n) w.resolve();
      else waiters.push(w);
    }
  });
  child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  /** Resolves once the child printed `step` for the n-th time (it then pauses STEP_PAUSE_MS). */
  const afterStep = (step: string, n: number) =>
    new Promise<void>((resolve) => (steps.filter((s) => s === step).length >= n ? resolve() : waiters.push({ step, n, resolve })));
  return { child, output, exited, afterStep };
}

/** Each archived call's entry ids, by file. */
function readArchive(archiveDir: string): Map<string, Map<string, string[]>> {
  const files = new Map<string, Map<string, string[]>>();
  for (const name of readdirSync(archiveDir)
    .filter((n) => n.endsWith('.jsonl.gz'))
    .sort()) {
    const calls = new Map<string, string[]>();
    const text = gunzipSync(readFileSync(join(archiveDir, name))).toString('utf8');
    text.split('\n').forEach((line, i) => {
      const record = parseExchangeLine(line, i + 1);
      if (!record) return;
      const entry = carriedEntry(record)!;
      const list = calls.get(entry.callId) ?? [];
      calls.set(entry.callId, [...list, entry.id]);
    });
    files.set(name, calls);
  }
  return files;
}

describe.each(['sqlite', 'postgres'] as const)('switchboard archive, killed at random points (%s)', (kind) => {
  it('leaves every call in the store or in exactly one archive file, and the archive replays to the same views', async () => {
    const now = Date.now();
    const archiveDir = join(dir, kind, 'archive');
    const path = join(dir, kind, 'calls.db');
    const schema = kind === 'postgres' ? schemas.next() : '';
    const open = (): EventStore & { close(): Promise<void> } =>
      kind === 'sqlite' ? new SqliteEventStore({ path }) : new PgEventStore({ connectionString: TEST_DATABASE_URL, schema });
    const storeArgs = kind === 'sqlite' ? ['--store', path] : ['--store', TEST_DATABASE_URL, '--schema', schema];

    let store = open();
    const views = await populate(store, now);
    const versions = new Map<string, number>();
    for (const id of views.keys()) versions.set(id, (await store.readStream(id)).length);
    await store.close();

    const seed = Math.floor(Math.random() * 2 ** 31);
    let state = seed;
    const random = () => {
      state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
      return state / 2 ** 31;
    };
    const kills: string[] = [];
    let batchesSoFar = 0;
    const recoveries: string[] = [];
    for (let k = 0; k < KILLS; k++) {
      const run = archiveChild(storeArgs, archiveDir);
      // in the window after a step of a random batch, at a random point of it
      const step = KILL_STEPS[k % KILL_STEPS.length]!;
      // the batch: the 1st to 3rd of the run; the last kill's the 2nd or 3rd, so at least one
      // killed run archived a batch whole first (all three in the 1st batch was 1 run in 27)
      const nth = k === KILLS - 1 ? 2 + Math.floor(random() * 2) : 1 + Math.floor(random() * 3);
      const delay = Math.floor(random() * STEP_PAUSE_MS * 0.9);
      await Promise.race([run.afterStep(step, nth), run.exited]);
      await new Promise((resolve) => setTimeout(resolve, delay));
      run.child.kill('SIGKILL');
      const code = await run.exited;
      const printed = run.output.join('');
      batchesSoFar += printed.split('\n').filter((l) => l.startsWith('archived ')).length;
      recoveries.push(...(printed.match(/its batch was [a-z ]+/g) ?? []));
      kills.push(`after '${step}' #${nth} + ${delay} ms (exit ${String(code)})`);
      expect(code, `the archive ended before kill ${k + 1} (seed ${seed}): ${printed}`).toBeNull();
    }
    const last = archiveChild(storeArgs, archiveDir);
    expect(await last.exited, last.output.join('')).toBe(0);
    recoveries.push(...(last.output.join('').match(/its batch was [a-z ]+/g) ?? []));
    // each kill left a batch mid-way, which the next run finished: undone where the delete had not committed
    expect(recoveries).toEqual(['its batch was rolled back', 'its batch was rolled back', 'its batch was completed']);
    expect(existsSync(join(archiveDir, ARCHIVE_JOURNAL))).toBe(false);
    expect(batchesSoFar).toBeGreaterThan(0);

    store = open();
    const held = new Set(await store.listStreams());
    const archive = readArchive(archiveDir);
    const context = `seed ${seed}; kills: ${kills.join('; ')}`;
    for (const [id, version] of versions) {
      const files = [...archive].filter(([, calls]) => calls.has(id));
      if (held.has(id)) {
        expect(files, `${id} is in the store and in ${files.map(([n]) => n).join(', ')} (${context})`).toEqual([]);
        expect((await store.readStream(id)).length).toBe(version);
      } else {
        expect(files.length, `${id} is in ${files.length} archive files (${context})`).toBe(1);
        const entryIds = files[0]![1].get(id)!;
        expect(entryIds.length, `${id}'s entries in its file (${context})`).toBe(version);
        expect(new Set(entryIds).size).toBe(version);
      }
      expect(held.has(id), `${id} (${context})`).toBe(!id.startsWith('ended-'));
    }
    await store.close();
    expect(archive.size).toBe(3); // three days of ends

    // replaying each file as it is gives the views the store gave
    for (const name of archive.keys()) {
      const stdout: string[] = [];
      const code = await main(['replay', join(archiveDir, name), '--json'], { stdout: (t) => stdout.push(t), stderr: () => undefined });
      expect(code).toBe(0);
      const { calls } = JSON.parse(stdout.join('\n')) as { calls: Record<string, unknown> };
      for (const [id, view] of Object.entries(calls)) expect(view, `${id} replayed from ${name}`).toEqual(views.get(id));
    }
  }, 240_000);
});
