import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { benchIngest, benchMemory, benchReplay } from './core.js';
import { benchWebhook } from './webhook.js';
import { benchPostgres, benchSqliteAppends } from './stores.js';
import { benchRehydrate } from './rehydrate.js';
import { NOTES } from './notes.js';
import { table, writeReport, type Row } from './report.js';
import { benchMachine } from './machine.js';
import { benchIngestOneCore } from './one-core.js';
import { benchEndToEnd } from './e2e.js';
import { benchInspector } from './inspector.js';
import { benchScaleOut } from './scale-out.js';
import { benchLongRun } from './longrun.js';

/**
 * `pnpm bench`: runs every benchmark, prints one table and writes it to docs/benchmarks.md.
 * `pnpm bench --quick` (or BENCH_QUICK=1) runs fewer rounds and smaller sizes, for a smoke
 * check; its figures are noisier and it writes no report.
 * BENCH_ONLY=webhook,postgres (a comma-separated subset of the names below) runs only those,
 * and writes no report either. BENCH_SLOW_FSYNC_US=N makes every fsync of the webhook servers
 * N us slower (a slow disk; needs cc) and writes no report. BENCH_CPU_PROF_DIR=dir profiles the
 * webhook servers. BENCH_PIN_SERVER=cpus pins the webhook servers to those cores (taskset); with
 * the bench itself under `taskset -c 0` and BENCH_PIN_SERVER=1, load generator and server each
 * have a core. It writes no report.
 */
const quick = process.argv.includes('--quick') || process.env['BENCH_QUICK'] === '1';
const only = process.env['BENCH_ONLY']
  ?.split(',')
  .map((s) => s.trim())
  .filter(Boolean);
const rows: Row[] = [];
const log = (msg: string) => process.stderr.write(`bench: ${msg}\n`);

const benches: { name: string; what: string; run: () => Promise<Row[]> | Row[] }[] = [
  { name: 'ingest', what: 'ingest', run: () => benchIngest(quick ? 2 : 9) },
  { name: 'ingest-one-core', what: 'ingest, pinned to one core', run: () => benchIngestOneCore(quick ? 2 : 9) },
  { name: 'machine', what: 'the XState fold against a plain reducer', run: () => benchMachine(quick ? 3 : 7) },
  { name: 'replay', what: 'replay of 1,000,000 entries', run: () => benchReplay() },
  { name: 'memory', what: 'memory, 100,000 idle calls', run: () => benchMemory() },
  { name: 'webhook', what: 'webhook over loopback (bare / no-op sink / SQLite sink)', run: () => benchWebhook(quick) },
  { name: 'postgres', what: "PostgreSQL appends against Emmett's store", run: () => benchPostgres(quick) },
  { name: 'sqlite', what: 'SQLite appends against the in-memory store', run: () => benchSqliteAppends(quick) },
  { name: 'e2e', what: `end to end, ${quick ? '100' : '1,000'} concurrent calls`, run: () => benchEndToEnd(quick ? 100 : 1_000) },
  { name: 'inspector', what: "the inspector's call page in headless Chromium", run: () => benchInspector(quick ? 3 : 9) },
  { name: 'scale-out', what: 'scale-out: 1, 2 and 3 instances on one PostgreSQL, and a takeover', run: () => benchScaleOut(quick) },
  { name: 'longrun', what: 'start() over history, RSS over waves of calls, appends during the archive', run: () => benchLongRun(quick) },
  { name: 'rehydrate', what: `rehydration of ${quick ? '1,000' : '10,000'} live calls (SQLite)`, run: () => benchRehydrate(quick) },
];
const unknown = only?.filter((n) => !benches.some((b) => b.name === n)) ?? [];
if (unknown.length)
  throw new Error(`BENCH_ONLY: unknown benchmark(s) ${unknown.join(', ')}; known: ${benches.map((b) => b.name).join(', ')}`);

const startedAt = new Date();
const loadAtStart = loadavg()[0]!;
for (const bench of benches) {
  if (only && !only.includes(bench.name)) continue;
  log(`${bench.what} ...`);
  const started = Date.now();
  rows.push(...(await bench.run()));
  log(`${bench.name} done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

console.log(table(rows));
if (!quick && !only && process.env['BENCH_SLOW_FSYNC_US'] === undefined && process.env['BENCH_PIN_SERVER'] === undefined)
  writeReport('docs/benchmarks.md', rows, 'pnpm bench', NOTES, runContext(startedAt, loadAtStart));

/** The commit, the run's UTC times and the load average (1 min) at its start and end, for the report's header. */
function runContext(started: Date, loadAtStart: number): string {
  let commit = 'unknown commit';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    if (execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' }).trim())
      commit += ' with uncommitted changes';
  } catch {
    // not a git checkout
  }
  const time = (d: Date) => d.toISOString().slice(11, 16);
  return `${commit}, ${time(started)}-${time(new Date())} UTC, load average ${loadAtStart.toFixed(1)} at the start and ${loadavg()[0]!.toFixed(1)} at the end`;
}
