/**
 * One bot instance of the scale-out benchmark, in its own process (forked by
 * bench/scale-out.ts with tsx): a Switchboard on a PgEventStore shared with the other
 * instances, behind a node:http webhook (no JWT: the webhook's own cost is measured by the
 * webhook benchmark). Its Graph refuses every request (a resync fails and records nothing):
 * the benchmark measures what instances do with notifications, not Graph round trips.
 *
 * Protocol: the parent sends `{ databaseUrl, schema, instanceId, leaseTtlMs }`; the child
 * answers `{ port }` once started. `'reset'` zeroes the counters and the CPU clock;
 * `'stats'` answers `ServerStats`, `'heap'` the same after a full GC (whose CPU it counts);
 * `'stop'` stops the switchboard and exits. With BENCH_CPU_PROF_DIR set, each instance writes a
 * .cpuprofile of what it did from `'reset'` to the next `'heap'` (the measured part), named by
 * schema and instance (`bench/profile-scale-out.ts` sums them by phase).
 */
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { Session } from 'node:inspector/promises';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { PgEventStore } from '@switchboard/adapters';
import { createSwitchboard, type GraphPort } from '@switchboard/runtime';

export interface ScaleServerConfig {
  readonly databaseUrl: string;
  readonly schema: string;
  readonly instanceId: string;
  readonly leaseTtlMs: number;
}

export interface ServerStats {
  /** CPU time of the process (user + system, every thread) since the reset, in microseconds. */
  readonly cpuUs: number;
  /** Webhook POSTs served since the reset. */
  readonly requests: number;
  /** Store reads since the reset: readStream, readSnapshot, listStreams, claimableCalls. */
  readonly reads: number;
  /** Statements sent to PostgreSQL since the reset, every kind (each a write to its socket). */
  readonly queries: number;
  /** Lease statements since the reset: acquire, renew, release, end, get. */
  readonly leaseOps: number;
  /** Notification entries this instance appended since the reset. */
  readonly appendedNotifications: number;
  /** Calls the engine holds, and calls this instance owns. */
  readonly held: number;
  readonly owned: number;
  /** V8 heap in use, bytes (after a full GC when asked with `'heap'`). */
  readonly heapUsed: number;
}

const refuse: GraphPort = {
  send: () => Promise.reject(Object.assign(new Error('no Graph in this benchmark'), { code: 'SWB_GRAPH_HTTP' })),
};

async function main(config: ScaleServerConfig): Promise<void> {
  const store = new PgEventStore({ connectionString: config.databaseUrl, schema: config.schema, maxConnections: 10 });
  let reads = 0;
  let leaseOps = 0;
  let appendedNotifications = 0;
  let requests = 0;
  let queries = 0;
  const query = pg.Client.prototype.query as (...args: unknown[]) => unknown;
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    queries++;
    return query.apply(this, args);
  } as typeof pg.Client.prototype.query;
  const methods = store as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const count = (name: string, onCall: () => void) => {
    const original = methods[name]!.bind(store);
    methods[name] = (...args) => {
      onCall();
      return original(...args);
    };
  };
  for (const name of ['readStream', 'readSnapshot', 'listStreams', 'claimableCalls']) count(name, () => reads++);
  for (const name of ['acquireLease', 'renewLease', 'releaseLease', 'endLease', 'getLease']) count(name, () => leaseOps++);
  const append = store.appendToStream.bind(store);
  store.appendToStream = async (streamId, entries, options) => {
    const result = await append(streamId, entries, options);
    for (const e of result.appended) if (e.kind === 'notification' || e.kind === 'quarantined') appendedNotifications++;
    return result;
  };

  const sw = createSwitchboard({
    graph: refuse,
    store,
    instanceId: config.instanceId,
    leaseTtlMs: config.leaseTtlMs,
    answerDeadlineMs: 3_600_000,
    onAnswerDeadline: { action: 'none' },
    snapshotWhenQuietMs: 0,
  });
  sw.on('error', () => undefined);
  await sw.start();
  const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    requests++;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      sw.sink({ body: Buffer.concat(chunks).toString('utf8') }).then(
        () => res.writeHead(202).end(),
        () => res.writeHead(500).end(),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  let cpuAtReset = process.cpuUsage();
  const profDir = process.env['BENCH_CPU_PROF_DIR'];
  let profiling: Session | undefined;
  const startProfile = async () => {
    if (!profDir) return;
    profiling = new Session();
    profiling.connect();
    await profiling.post('Profiler.enable');
    await profiling.post('Profiler.setSamplingInterval', { interval: 200 });
    await profiling.post('Profiler.start');
  };
  const stopProfile = async () => {
    const session = profiling;
    profiling = undefined;
    if (!session || !profDir) return;
    const { profile } = await session.post('Profiler.stop');
    session.disconnect();
    writeFileSync(`${profDir}/${config.schema}-${config.instanceId}.cpuprofile`, JSON.stringify(profile));
  };
  process.send!({ port: (server.address() as AddressInfo).port });
  process.on('message', (msg) => {
    if (msg === 'reset') {
      void startProfile();
      cpuAtReset = process.cpuUsage();
      reads = 0;
      queries = 0;
      leaseOps = 0;
      appendedNotifications = 0;
      requests = 0;
    } else if (msg === 'stats' || msg === 'heap') {
      // (a full GC only when the heap is asked for: it costs CPU the counters would count)
      if (msg === 'heap') {
        void stopProfile();
        globalThis.gc?.();
      }
      const cpu = process.cpuUsage(cpuAtReset);
      const stats: ServerStats = {
        cpuUs: cpu.user + cpu.system,
        requests,
        reads,
        queries,
        leaseOps,
        appendedNotifications,
        held: sw.engine.calls().length,
        owned: sw.calls().filter((c) => sw.owns(c.id)).length,
        heapUsed: process.memoryUsage().heapUsed,
      };
      process.send!(stats);
    } else if (msg === 'stop') {
      server.closeAllConnections();
      server.close();
      void sw
        .stop()
        .then(() => store.close())
        .finally(() => process.send!({ stopped: true }, () => process.exit(0)));
    }
  });
}

process.once('message', (config) => void main(config as ScaleServerConfig));
