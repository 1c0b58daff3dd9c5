import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeNotifications, endedAtOf, type LogEntry } from '@switchboard/core';
import { callStateBody } from '@switchboard/core/testing';
import { PgEventStore, SqliteEventStore, type SqliteDriver } from '@switchboard/adapters';
import type { GraphPort } from '@switchboard/core';
import { createSwitchboard } from '@switchboard/runtime';
import { median, type Row } from './report.js';

/**
 * A bot that runs for months: starts that ignore history, memory that stays flat while calls
 * come and go, appends that do not wait behind the archive.
 *
 * - start(): a store holding 100,000 calls that ended days ago and 1,000 live ones, against a
 *   store holding the 1,000 live ones alone; `Switchboard.start()` (live index, snapshot + tail
 *   of each live call, a resync each from a Graph stub), median of 3 starts, alternating.
 *   The stores are filled by direct inserts (the rows the store's own appends write, with the
 *   live index set as they set it), not through appends: 300,000 appends would take minutes.
 * - RSS: calls live and end in waves of 1,000 (established, then terminated) through
 *   `Switchboard.sink` into a SQLite store; after each wave the clock moves past the eviction
 *   grace and the eviction runs. RSS after gc once the calls of all waves have ended, against
 *   RSS after the first 10,000.
 * - append p99 on PostgreSQL, 16 writers appending one entry at a time to 16 live calls, while
 *   `switchboard archive` (a child process) moves 100,000 ended calls out of the same schema,
 *   against the same load while the archive is held (SIGSTOP), in alternate one-second windows.
 */

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DAY = 86_400_000;
const fmt = (n: number) => n.toLocaleString('en-US');

/** A Graph stub: the GET of a live call says established, its roster is empty. */
const graph: GraphPort = {
  async send(command, params) {
    if (command === 'get') return { status: 200, body: { id: params.callId, state: 'established' } };
    if (command === 'listParticipants') return { status: 200, body: { value: [] } };
    return { status: 202, body: null };
  },
};

/** The entries of a call as the engine appends them: established (and terminated, for an ended call). */
function callEntries(callId: string, at: number, ended: boolean): LogEntry[] {
  const bodies = ended
    ? [callStateBody(callId, 'established'), callStateBody(callId, 'terminated')]
    : [callStateBody(callId, 'established')];
  return bodies.flatMap((body, i) => decodeNotifications(JSON.stringify(body), { receivedAt: at + i }));
}

function sqliteDriver(): SqliteDriver {
  return createRequire(fileURLToPath(import.meta.resolve('@switchboard/adapters')))('better-sqlite3') as SqliteDriver;
}

/** Fills a SQLite file (schema made by opening the store once) with calls, as the store's appends would. */
async function fillSqlite(path: string, ended: number, live: number, now: number): Promise<void> {
  await new SqliteEventStore({ path }).close();
  const Driver = sqliteDriver();
  const db = new Driver(path);
  const stream = db.prepare(
    'INSERT INTO swb_streams (stream_id, version, created_at, updated_at, ended_at) VALUES (?, ?, ?, ?, ?) RETURNING stream_key',
  );
  const entry = db.prepare(
    'INSERT INTO swb_entries (stream_key, position, entry_id, kind, at, body, stored_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  db.transaction(() => {
    for (let i = 0; i < ended + live; i++) {
      const isEnded = i < ended;
      const callId = isEnded ? `ended-${i}` : `live-${i}`;
      const at = isEnded ? now - 3 * DAY + i : now - 60_000;
      const entries = callEntries(callId, at, isEnded);
      const key = (stream.get(callId, entries.length, now, now, endedAtOf(entries) ?? null) as { stream_key: number }).stream_key;
      entries.forEach((e, p) => entry.run(key, p + 1, e.id, e.kind, e.at, JSON.stringify(e), now));
    }
  })();
  db.close();
}

/** Fills a PostgreSQL schema (made by the store's migrate) the same way, 10,000 calls per statement. */
async function fillPostgres(store: PgEventStore, ended: number, live: number, now: number): Promise<void> {
  await store.migrate();
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  const s = store.schema;
  for (let from = 0; from < ended + live; from += 10_000) {
    const ids: string[] = [];
    const versions: number[] = [];
    const ends: Array<number | null> = [];
    const created: number[] = [];
    const eStreams: string[] = [];
    const positions: number[] = [];
    const entryIds: string[] = [];
    const kinds: string[] = [];
    const ats: number[] = [];
    const bodies: string[] = [];
    for (let i = from; i < Math.min(from + 10_000, ended + live); i++) {
      const isEnded = i < ended;
      const callId = isEnded ? `ended-${i}` : `live-${i}`;
      const entries = callEntries(callId, isEnded ? now - 3 * DAY + i : now - 60_000, isEnded);
      ids.push(callId);
      versions.push(entries.length);
      ends.push(endedAtOf(entries) ?? null);
      created.push(entries[0]!.at);
      entries.forEach((e, p) => {
        eStreams.push(callId);
        positions.push(p + 1);
        entryIds.push(e.id);
        kinds.push(e.kind);
        ats.push(e.at);
        bodies.push(JSON.stringify(e));
      });
    }
    await client.query(
      // created when their first entry was (a live call rang a minute ago): a never-leased live
      // call is claimable once its stream is older than a lease, as it would be after a restart
      `INSERT INTO ${s}.streams (stream_id, version, ended_at, created_at)
       SELECT a, b, c, to_timestamp(d / 1000) FROM unnest($1::text[], $2::int[], $3::float8[], $4::float8[]) u (a, b, c, d)`,
      [ids, versions, ends, created],
    );
    await client.query(
      `INSERT INTO ${s}.entries (stream_id, position, entry_id, kind, at, body)
       SELECT a, b, c, d, e, f::json FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::float8[], $6::text[]) u (a, b, c, d, e, f)`,
      [eStreams, positions, entryIds, kinds, ats, bodies],
    );
  }
  await client.query(`ANALYZE ${s}.streams`);
  await client.end();
}

const PG_URL = process.env['SWITCHBOARD_TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Median time of `rounds` starts (and stops) of a switchboard over each store, alternating, after one round not counted (warm-up). */
async function timeStarts(open: Array<() => PgEventStore | SqliteEventStore>, rounds: number, now: number): Promise<number[]> {
  const times: number[][] = open.map(() => []);
  for (let r = -1; r < rounds; r++) {
    for (const [i, make] of open.entries()) {
      const store = make();
      const sw = createSwitchboard({ graph, store, clock: () => now, snapshotWhenQuietMs: 0 });
      const started = performance.now();
      const restored = await sw.start();
      if (process.env['BENCH_LONGRUN_TRACE'])
        process.stderr.write(`start ${i} round ${r}: ${(performance.now() - started).toFixed(0)} ms\n`);
      if (r >= 0) times[i]!.push(performance.now() - started);
      if (restored !== LIVE) throw new Error(`start() restored ${restored} calls, expected ${LIVE}`);
      await sw.stop();
      await store.close();
    }
  }
  return times.map(median);
}

const LIVE = 1_000;
const ENDED = 100_000;

export async function benchLongRun(quick: boolean): Promise<Row[]> {
  const rows: Row[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'swb-bench-longrun-'));
  const now = Date.now();
  const ended = quick ? 10_000 : ENDED;
  try {
    // start(), SQLite
    const withHistory = join(dir, 'history.db');
    const liveOnly = join(dir, 'live.db');
    await fillSqlite(withHistory, ended, LIVE, now);
    await fillSqlite(liveOnly, 0, LIVE, now);
    const [sqliteHistory, sqliteLive] = await timeStarts(
      [() => new SqliteEventStore({ path: withHistory }), () => new SqliteEventStore({ path: liveOnly })],
      5,
      now,
    );
    rows.push(startRow('SQLite', ended, sqliteHistory!, sqliteLive!));

    // start(), PostgreSQL
    const tag = `bench_longrun_${process.pid}`;
    const history = new PgEventStore({ connectionString: PG_URL, schema: `${tag}_h` });
    const live = new PgEventStore({ connectionString: PG_URL, schema: `${tag}_l` });
    try {
      await fillPostgres(history, ended, LIVE, now);
      await fillPostgres(live, 0, LIVE, now);
      await history.close();
      await live.close();
      const [pgHistory, pgLive] = await timeStarts(
        [
          () => new PgEventStore({ connectionString: PG_URL, schema: `${tag}_h` }),
          () => new PgEventStore({ connectionString: PG_URL, schema: `${tag}_l` }),
        ],
        5,
        now,
      );
      rows.push(startRow('PostgreSQL', ended, pgHistory!, pgLive!));

      // append p99 while the archive moves the ended calls out
      rows.push(await appendsWhileArchiving(`${tag}_h`, ended, dir));
    } finally {
      await dropSchemas([`${tag}_h`, `${tag}_l`]);
    }

    rows.push(await rssOverWaves(quick ? 50_000 : WAVE_CALLS, dir));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

function startRow(store: string, ended: number, withHistory: number, alone: number): Row {
  const ratio = withHistory / alone;
  return {
    benchmark: `start() with ${fmt(ended)} ended + ${fmt(LIVE)} live calls, ${store} (live index)`,
    baseline: `start() with the ${fmt(LIVE)} live calls alone: ${alone.toFixed(0)} ms`,
    figure: `${withHistory.toFixed(0)} ms`,
    ratio,
    target: '<= 1.2x',
    met: ratio <= 1.2,
  };
}

async function dropSchemas(schemas: readonly string[]): Promise<void> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  for (const s of schemas) await client.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
  await client.end();
}

/**
 * 16 writers, one entry per append, each to its own live call, until `until` says stop; each
 * latency (ms) goes to the bucket `bucket()` names when the append starts.
 */
async function appendLoad(store: PgEventStore, until: () => boolean, round: string, bucket: () => number[]): Promise<void> {
  let n = 0;
  await Promise.all(
    Array.from({ length: 16 }, async (_, w) => {
      const callId = `live-writer-${w}`;
      while (!until()) {
        const entry: LogEntry = { kind: 'timer', id: `${round}-${w}-${n++}`, callId, at: Date.now(), timer: 'keepAliveDue' };
        const into = bucket();
        const started = performance.now();
        await store.appendToStream(callId, [entry]);
        into.push(performance.now() - started);
      }
    }),
  );
}

function p99(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length * 0.99)]!;
}

/** How long the archive runs, then is held (SIGSTOP), in turn. */
const WINDOW_MS = 1_000;

/**
 * The archive, as an operator runs it, in its own process, under 16 writers. The archive is
 * held (SIGSTOP) and let go (SIGCONT) in turn, a second each, and each append counts for the
 * window it started in: the p99 of appends while it runs against the p99 of appends while it
 * is held, the same load on the same machine interleaved a second apart (a baseline timed
 * before the archive moved with whatever else the machine did meanwhile).
 */
async function appendsWhileArchiving(schema: string, ended: number, dir: string): Promise<Row> {
  const store = new PgEventStore({ connectionString: PG_URL, schema });
  try {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--conditions=@switchboard/source',
        join(ROOT, 'packages/cli/src/bin.ts'),
        'archive',
        '--store',
        PG_URL,
        '--schema',
        schema,
        '--dir',
        join(dir, 'archive'),
        '--older-than',
        '1',
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    let done = false;
    const exited = new Promise<number | null>((resolve) =>
      child.once('exit', (code) => {
        done = true;
        resolve(code);
      }),
    );
    // the load starts once the archive has archived its first batch (past its start-up)
    while (!output.includes('archived ') && !done) await new Promise((resolve) => setTimeout(resolve, 20));
    const running: number[] = [];
    const held: number[] = [];
    let current = running;
    let runningMs = 0;
    let switched = performance.now();
    const flip = setInterval(() => {
      if (done) return;
      const now = performance.now();
      if (current === running) {
        runningMs += now - switched;
        child.kill('SIGSTOP');
        current = held;
      } else {
        child.kill('SIGCONT');
        current = running;
      }
      switched = now;
    }, WINDOW_MS);
    await appendLoad(
      store,
      () => done,
      'arch',
      () => current,
    );
    clearInterval(flip);
    if (current === running) runningMs += performance.now() - switched;
    if ((await exited) !== 0) throw new Error(`switchboard archive failed: ${output}`);
    const left = await store.listEndedBefore(Date.now() - DAY, 10);
    if (left.length > 0) throw new Error(`the archive left ${left.length}+ ended calls`);
    const base = p99(held);
    const loaded = p99(running);
    const ratio = loaded / base;
    return {
      benchmark: `append p99, PostgreSQL, 16 writers, while \`switchboard archive\` moves ${fmt(ended)} ended calls out (${(runningMs / 1000).toFixed(0)} s running, ${fmt(running.length)} appends)`,
      baseline: `the same writers while the archive is held, in alternate ${WINDOW_MS / 1000} s windows: p99 ${base.toFixed(1)} ms (${fmt(held.length)} appends)`,
      figure: `p99 ${loaded.toFixed(1)} ms`,
      ratio,
      target: '<= 2x',
      met: ratio <= 2,
    };
  } finally {
    await store.close();
  }
}

const WAVE = 1_000;
/** Calls over all waves for the RSS row (BENCH_RSS_CALLS to change it). */
const WAVE_CALLS = Number(process.env['BENCH_RSS_CALLS'] ?? 1_000_000);

/** RSS after gc, MiB. */
function rss(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc');
  gc();
  gc();
  return process.memoryUsage().rss / 2 ** 20;
}

async function rssOverWaves(calls: number, dir: string): Promise<Row> {
  let now = Date.now();
  const store = new SqliteEventStore({ path: join(dir, 'waves.db'), synchronous: 'normal' });
  const grace = 60_000;
  const sw = createSwitchboard({
    graph,
    store,
    clock: () => now,
    // the bench drives eviction itself, after each wave
    setTimer: () => () => undefined,
    evictEndedAfterMs: grace,
    snapshotWhenQuietMs: 0,
  });
  await sw.start();
  let first = 0;
  const started = performance.now();
  for (let wave = 0; wave * WAVE < calls; wave++) {
    const ids = Array.from({ length: WAVE }, (_, i) => `wave-${wave}-${i}`);
    await Promise.all(ids.map((id) => sw.sink({ body: callStateBody(id, 'established') })));
    await Promise.all(ids.map((id) => sw.sink({ body: callStateBody(id, 'terminated') })));
    now += grace + 1;
    await sw.engine.evictEnded();
    if ((wave + 1) * WAVE === 10_000) first = rss();
  }
  const seconds = (performance.now() - started) / 1000;
  const last = rss();
  const held = sw.engine.calls().length;
  await sw.stop();
  await store.close();
  if (held > WAVE) throw new Error(`${held} calls still in memory after the waves`);
  const ratio = last / first;
  return {
    benchmark: `RSS after ${fmt(calls)} calls lived and ended (waves of ${fmt(WAVE)}, SQLite store, eviction after each wave; ${seconds.toFixed(0)} s)`,
    baseline: `RSS after the first 10,000: ${first.toFixed(0)} MiB`,
    figure: `${last.toFixed(0)} MiB`,
    ratio,
    target: '<= 1.2x',
    met: ratio <= 1.2,
  };
}
