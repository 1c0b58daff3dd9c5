import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import pg from 'pg';
import { arbCallScenario, callStateBody } from '@switchboard/core/testing';
import { DATABASE_URL } from './stores.js';
import type { Row } from './report.js';
import type { ScaleServerConfig, ServerStats } from './scale-out-server.js';

/**
 * Scale-out: 1, 2 and 3 bot instances (each its own process) on one PostgreSQL, with the
 * same calls offered through a seeded random balancer (each POST to one instance). Each call
 * rings first (an `incoming` notification: the instance that receives it owns the call),
 * then gets a generated scenario's notifications (lifecycle, roster, operations, tones),
 * interleaved across calls, after a warm-up of 150 other calls per instance. Measured on
 * the instances: CPU per notification (all instances
 * together), the heap each instance holds for its calls (heap after a full GC, less the
 * heap before any call), store reads per appended notification. Then the takeover: 3
 * instances hold 1,000 live calls, the owner of the most is killed with SIGKILL, and the
 * clock runs until every call has a live lease again.
 */

const SERVER = new URL('./scale-out-server.ts', import.meta.url).pathname;
const IN_FLIGHT = 16;

interface Server {
  readonly child: ChildProcess;
  readonly url: string;
}

async function startServer(config: ScaleServerConfig): Promise<Server> {
  const child = fork(SERVER, [], {
    execArgv: ['--expose-gc', '--import', 'tsx', '--conditions=@switchboard/source'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m) => resolve((m as { port: number }).port));
    child.once('exit', (code) => reject(new Error(`scale-out server exited with ${code}`)));
    child.send(config);
  });
  return { child, url: `http://127.0.0.1:${port}/` };
}

function ask<T>(server: Server, msg: string): Promise<T> {
  return new Promise((resolve) => {
    server.child.once('message', (m) => resolve(m as T));
    server.child.send(msg);
  });
}

async function stopServer(server: Server): Promise<void> {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return;
  const exited = new Promise((resolve) => server.child.once('exit', resolve));
  server.child.send('stop');
  await exited;
}

/** Per call: its `incoming` notification, then a generated scenario's; interleaved across calls. */
function offered(calls: number, prefix: string, seed = 20): string[] {
  const scenarios = fc.sample(arbCallScenario(), { numRuns: calls, seed });
  const queues = scenarios.map((s, i) => {
    const callId = `${prefix}-${i}`;
    return [JSON.stringify(callStateBody(callId, 'incoming')), ...s.bodies.map((b) => JSON.stringify(b).replaceAll(s.callId, callId))];
  });
  const bodies: string[] = [];
  for (let left = true; left; ) {
    left = false;
    for (const q of queues) {
      const next = q.shift();
      if (next !== undefined) {
        bodies.push(next);
        left = true;
      }
    }
  }
  return bodies;
}

/** Posts every body, `inFlight` at a time, each to one server picked by a seeded random balancer. */
async function offer(bodies: readonly string[], servers: readonly Server[], seed: number, inFlight = IN_FLIGHT): Promise<void> {
  let s = seed >>> 0 || 1;
  const pick = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return servers[Math.min(servers.length - 1, Math.floor(((s >>> 0) / 2 ** 32) * servers.length))]!;
  };
  let next = 0;
  const worker = async () => {
    while (next < bodies.length) {
      const body = bodies[next++]!;
      const response = await fetch(pick().url, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
      await response.arrayBuffer();
      if (response.status !== 202) throw new Error(`a delivery was answered ${response.status}`);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface FleetRun {
  readonly instances: number;
  readonly notifications: number;
  readonly cpuUsPerNotification: number;
  readonly readsPerAppended: number;
  readonly leaseOpsPerNotification: number;
  /** Statements sent to PostgreSQL (all kinds, all instances) per notification. */
  readonly queriesPerNotification: number;
  /** Heap each instance holds for calls (after - before), bytes: the largest of the instances. */
  readonly callHeapPerInstance: number;
  readonly heldPerInstance: readonly number[];
}

async function fleetRun(k: number, bodies: readonly string[], admin: pg.Client, inFlight = IN_FLIGHT): Promise<FleetRun> {
  const schema = `swb_bench_scale_${k}_${randomBytes(3).toString('hex')}`;
  const servers: Server[] = [];
  try {
    for (let i = 0; i < k; i++) {
      servers.push(await startServer({ databaseUrl: DATABASE_URL, schema, instanceId: `bench-${i}`, leaseTtlMs: 30_000 }));
    }
    // a warm-up of other calls first (each process compiles and optimises its code once: not per notification)
    await offer(offered(150 * k, `warm-${k}`, 21), servers, 5);
    await sleep(500);
    const before = await Promise.all(servers.map((s) => ask<ServerStats>(s, 'heap')));
    for (const s of servers) s.child.send('reset');
    await offer(bodies, servers, 7, inFlight);
    // the owners fold what the others persisted (NOTIFY, then a read of the tail): wait until they have
    const totalVersion = async () =>
      Number((await admin.query<{ n: string }>(`SELECT coalesce(sum(version), 0) AS n FROM ${schema}.streams`)).rows[0]!.n);
    const stored = await totalVersion();
    let after: ServerStats[] = [];
    for (let i = 0; i < 100; i++) {
      await sleep(100);
      after = await Promise.all(servers.map((s) => ask<ServerStats>(s, 'stats')));
      if (after.reduce((n, a) => n + a.held, 0) >= bodies.length / 20 && i >= 5) {
        const previous = after.map((a) => a.reads).join();
        await sleep(300);
        after = await Promise.all(servers.map((s) => ask<ServerStats>(s, 'stats')));
        if (after.map((a) => a.reads).join() === previous) break;
      }
    }
    const heap = await Promise.all(servers.map((s) => ask<ServerStats>(s, 'heap')));
    const appended = after.reduce((n, a) => n + a.appendedNotifications, 0);
    return {
      instances: k,
      notifications: bodies.length,
      cpuUsPerNotification: after.reduce((n, a) => n + a.cpuUs, 0) / bodies.length,
      readsPerAppended: after.reduce((n, a) => n + a.reads, 0) / Math.max(1, appended),
      leaseOpsPerNotification: after.reduce((n, a) => n + a.leaseOps, 0) / bodies.length,
      queriesPerNotification: after.reduce((n, a) => n + a.queries, 0) / bodies.length,
      callHeapPerInstance: Math.max(...heap.map((a, i) => a.heapUsed - before[i]!.heapUsed)),
      heldPerInstance: after.map((a) => a.held),
      ...(stored < appended ? { stored } : {}),
    };
  } finally {
    await Promise.all(servers.map(stopServer));
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  }
}

/** 3 instances, `calls` live calls; SIGKILL the owner of the most; ms until every call has a live lease again. */
async function takeover(calls: number, leaseTtlMs: number, admin: pg.Client): Promise<{ ms: number; orphaned: number }> {
  const schema = `swb_bench_takeover_${randomBytes(3).toString('hex')}`;
  const servers: Server[] = [];
  try {
    for (let i = 0; i < 3; i++)
      servers.push(await startServer({ databaseUrl: DATABASE_URL, schema, instanceId: `bench-${i}`, leaseTtlMs }));
    const bodies: string[] = [];
    for (let i = 0; i < calls; i++) bodies.push(JSON.stringify(callStateBody(`live-${i}`, 'incoming')));
    for (let i = 0; i < calls; i++) bodies.push(JSON.stringify(callStateBody(`live-${i}`, 'established')));
    await offer(bodies, servers, 11);
    const live = async () =>
      (
        await admin.query<{ owner: string; n: string }>(
          `SELECT owner, count(*) AS n FROM ${schema}.leases WHERE expires_at > now() GROUP BY owner`,
        )
      ).rows.map((r) => ({ owner: r.owner, n: Number(r.n) }));
    for (let i = 0; i < 200; i++) {
      if ((await live()).reduce((n, r) => n + r.n, 0) >= calls) break;
      await sleep(50);
    }
    const owners = await live();
    const victim = owners.sort((a, b) => b.n - a.n)[0]!;
    const index = Number(victim.owner.slice('bench-'.length));
    const killedAt = Date.now();
    servers[index]!.child.kill('SIGKILL');
    for (;;) {
      const rows = await live();
      if (rows.every((r) => r.owner !== victim.owner) && rows.reduce((n, r) => n + r.n, 0) >= calls) break;
      if (Date.now() - killedAt > 20 * leaseTtlMs) throw new Error('the calls were not taken over within 20 lease periods');
      await sleep(20);
    }
    return { ms: Date.now() - killedAt, orphaned: victim.n };
  } finally {
    await Promise.all(servers.map(stopServer));
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  }
}

export async function benchScaleOut(quick: boolean): Promise<Row[]> {
  const admin = new pg.Client({ connectionString: DATABASE_URL });
  await admin.connect();
  try {
    const calls = quick ? 300 : 1_500;
    const bodies = offered(calls, 'scale');
    const runs: FleetRun[] = [];
    for (const k of [1, 2, 3]) {
      runs.push(await fleetRun(k, bodies, admin));
      process.stderr.write(`bench: scale-out ${k}: ${JSON.stringify(runs.at(-1))}\n`);
    }
    const [one, two, three] = runs as [FleetRun, FleetRun, FleetRun];
    // one instance alone with what each of the three gets: a third of the calls, a third of the POSTs in flight
    const shareInFlight = Math.round(IN_FLIGHT / 3);
    const share = await fleetRun(1, offered(calls / 3, 'share'), admin, shareInFlight);
    process.stderr.write(`bench: scale-out, one instance with a third of the load: ${JSON.stringify(share)}\n`);
    const leaseTtlMs = 3_000;
    const taken = await takeover(quick ? 300 : 1_000, leaseTtlMs, admin);
    process.stderr.write(`bench: takeover: ${JSON.stringify(taken)}\n`);
    const us = (r: FleetRun) => `${r.cpuUsPerNotification.toFixed(0)} us`;
    const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
    const cpuRatio = three.cpuUsPerNotification / one.cpuUsPerNotification;
    const memRatio = three.callHeapPerInstance / one.callHeapPerInstance;
    const periods = taken.ms / leaseTtlMs;
    return [
      {
        benchmark: `scale-out: instance CPU per notification, 3 instances on one PostgreSQL (${bodies.length.toLocaleString('en-US')} notifications, ${calls.toLocaleString('en-US')} calls, random balancer)`,
        baseline: `1 instance: ${us(one)} (2 instances: ${us(two)})`,
        figure: `${us(three)}, all instances together`,
        ratio: cpuRatio,
        target: '<= 1.3x',
        met: cpuRatio <= 1.3,
      },
      {
        benchmark: `scale-out: instance CPU per notification, 3 instances, against 1 instance alone carrying one instance's share (${(calls / 3).toLocaleString('en-US')} calls, ${shareInFlight} POSTs in flight)`,
        baseline: `1 instance with a third of the load: ${us(share)}`,
        figure: `${us(three)}, all instances together (each instance's CPU per notification it received)`,
        ratio: three.cpuUsPerNotification / share.cpuUsPerNotification,
        target: 'informational (the per-instance form of the row above, for its decision)',
        met: true,
      },
      {
        benchmark:
          'scale-out: heap held for calls per instance, 3 instances (heap after GC at the end less the same after the warm-up; largest instance)',
        baseline: `1 instance holding every call: ${mib(one.callHeapPerInstance)}`,
        figure: `${mib(three.callHeapPerInstance)} (calls held: ${three.heldPerInstance.join(' / ')})`,
        ratio: memRatio,
        target: '<= 0.45x',
        met: memRatio <= 0.45,
      },
      {
        benchmark: 'scale-out: store reads (stream, snapshot, listings) per appended notification, 3 instances',
        baseline: `1 instance: ${one.readsPerAppended.toFixed(2)}`,
        figure: `${three.readsPerAppended.toFixed(2)} (lease statements per notification: ${three.leaseOpsPerNotification.toFixed(2)})`,
        ratio: null,
        target: '<= 1.2',
        met: three.readsPerAppended <= 1.2,
      },
      {
        benchmark: `scale-out: takeover after SIGKILL of the owner of ${taken.orphaned} of ${(quick ? 300 : 1_000).toLocaleString('en-US')} live calls, 3 instances, ${leaseTtlMs / 1000} s leases`,
        baseline: `lease period ${leaseTtlMs} ms`,
        figure: `every call owned again after ${taken.ms} ms (${periods.toFixed(2)} lease periods)`,
        ratio: periods,
        target: '<= 2 lease periods',
        met: periods <= 2,
      },
    ];
  } finally {
    await admin.end();
  }
}
