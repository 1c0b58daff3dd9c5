/**
 * CPU per append on PostgreSQL, Switchboard's store against Emmett's, for the `pnpm bench`
 * PostgreSQL rows' workload (bench/stores.ts: one entry per append at the writer's expected
 * version, C calls at once). Wall-clock rates on a shared machine move with the load from
 * other work; CPU per append moves much less, and says what the rates would be with the
 * machine to themselves.
 *
 *   node --import tsx --conditions=@switchboard/source bench/profile-pg-appends.ts [1,16,64] [rounds]
 *
 * Node: this process's CPU (`process.cpuUsage`, all threads: the pg driver, the store, the
 * workload loop). PostgreSQL: the CPU of the server processes serving each store's connections
 * (`/proc/<pid>/schedstat`, found by application_name; each store's pool only), so the WAL
 * writer's and other background work is not in it.
 */
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { getPostgreSQLEventStore } from '@event-driven-io/emmett-postgresql';
import { PgEventStore } from '@switchboard/adapters';
import { DATABASE_URL, emmettAppend, portAppend, plan, sequences, withSearchPath, type Append } from './stores.js';

const levels = (process.argv[2] ?? '1,16,64').split(',').map(Number);
const rounds = Number(process.argv[3] ?? 3);
const seqs = sequences();
const suffix = `${process.pid}_${Date.now().toString(36)}`;
const swbSchema = `swb_cpu_${suffix}`;
const emtSchema = `emt_cpu_${suffix}`;

const admin = new pg.Client({ connectionString: DATABASE_URL });
await admin.connect();
await admin.query(`CREATE SCHEMA ${emtSchema}`);
const emtUrl = new URL(withSearchPath(DATABASE_URL, emtSchema));
emtUrl.searchParams.set('application_name', `emt-cpu-${suffix}`);
const swb = new PgEventStore({ connectionString: DATABASE_URL, schema: swbSchema, applicationName: `swb-cpu-${suffix}` });
const emt = getPostgreSQLEventStore(emtUrl.toString());

async function backends(applicationName: string): Promise<number[]> {
  const { rows } = await admin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [applicationName]);
  return rows.map((r) => r.pid);
}
function cpuNs(pids: readonly number[]): number {
  let total = 0;
  for (const pid of pids) {
    try {
      total += Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // the connection closed meanwhile
    }
  }
  return total;
}

async function measure(append: Append, applicationName: string, concurrency: number, perWorker: number, tag: string) {
  const work = plan(seqs, concurrency, perWorker, tag);
  const pids = await backends(applicationName);
  const pg0 = cpuNs(pids);
  const node0 = process.cpuUsage();
  const start = process.hrtime.bigint();
  await work(append);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const node = process.cpuUsage(node0);
  const n = concurrency * perWorker;
  // a backend opened during the round is not counted: the warm-up opens them all
  return { rate: n / seconds, node: (node.user + node.system) / n, pg: (cpuNs(pids) - pg0) / 1e3 / n };
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
try {
  const stores = [
    { name: 'Switchboard', append: portAppend(swb), app: `swb-cpu-${suffix}` },
    { name: 'Emmett', append: emmettAppend(emt), app: `emt-cpu-${suffix}` },
  ];
  // warm-up: schema, connections (up to the pools' 10), JIT
  for (const s of stores) await measure(s.append, s.app, 64, 4, `warm-${s.name}`);
  for (const c of levels) {
    const perWorker = c === 1 ? 300 : Math.ceil(1_600 / c);
    for (let r = 0; r < rounds; r++) {
      const line: string[] = [];
      for (const s of stores) {
        const m = await measure(s.append, s.app, c, perWorker, `${s.name}-${c}-${r}`);
        line.push(`${s.name} ${fmt(m.rate)}/s, CPU per append ${fmt(m.node + m.pg)} us (Node ${fmt(m.node)}, PostgreSQL ${fmt(m.pg)})`);
      }
      const load = readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
      console.log(`${c} call${c === 1 ? '' : 's'}, load ${load}: ${line.join('; ')}`);
    }
  }
} finally {
  await swb.close().catch(() => undefined);
  await emt.close().catch(() => undefined);
  await admin.query(`DROP SCHEMA IF EXISTS ${swbSchema} CASCADE; DROP SCHEMA IF EXISTS ${emtSchema} CASCADE`);
  await admin.end();
}
