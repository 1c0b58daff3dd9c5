/**
 * The server side of the webhook benchmark, run in a child process (forked by bench/webhook.ts
 * with tsx) so the load generator does not share its event loop. One variant per process:
 *
 * - `bare`: node:http answering 202 once the body is read (the baseline);
 * - `noop`: the webhook receiver's node handler, JWT verification on, a sink that does nothing;
 * - `sqlite`: the same with a sink that decodes the batch and appends it to a SqliteEventStore
 *   (a file, default `synchronous = full`) before the 202;
 * - `sqlite-normal`: the same with `synchronous = normal` (no fsync per commit);
 * - `sqlite-inline`: the `sqlite` sink with the store committing on the event loop
 *   (`writer: 'inline'`) instead of its writer thread.
 *
 * Protocol: the parent sends `{ mode, openIdConfigurationUrl, appId, dbPath }`; the child
 * answers `{ port }` once listening. `'reset'` restarts its event-loop delay histogram and
 * `'stats'` answers `{ eldP99Ms, eldMaxMs, cpuUsPerRequest, sysUsPerRequest, threads }` (the process's CPU time, all threads, per request served since the reset, and split by thread); it exits on `'stop'` (answering
 * `{ stopped, appended }`).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdirSync, readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { decodeNotifications, type LogEntry } from '@switchboard/core';
import { createWebhookReceiver, type WebhookDelivery } from '@switchboard/transport';
import { SqliteEventStore } from '@switchboard/adapters';

export interface ServerConfig {
  readonly mode: 'bare' | 'noop' | 'sqlite' | 'sqlite-normal' | 'sqlite-inline';
  readonly openIdConfigurationUrl: string;
  readonly appId: string;
  readonly issuer: string;
  readonly dbPath: string;
}

async function main(config: ServerConfig): Promise<void> {
  let appended = 0;
  let store: SqliteEventStore | undefined;
  let handler: (req: IncomingMessage, res: ServerResponse) => void;
  if (config.mode === 'bare') {
    handler = (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        Buffer.concat(chunks).toString('utf8');
        res.writeHead(202).end();
      });
    };
  } else {
    let sink: (d: WebhookDelivery) => Promise<void>;
    if (config.mode === 'noop') sink = async () => {};
    else {
      const s = new SqliteEventStore({
        path: config.dbPath,
        synchronous: config.mode === 'sqlite-normal' ? 'normal' : 'full',
        writer: config.mode === 'sqlite-inline' ? 'inline' : 'worker',
      });
      store = s;
      sink = async (d) => {
        const entries = decodeNotifications(d.body, { receivedAt: d.receivedAt });
        const byCall = new Map<string, LogEntry[]>();
        for (const e of entries) {
          const list = byCall.get(e.callId);
          if (list) list.push(e);
          else byCall.set(e.callId, [e]);
        }
        for (const [callId, list] of byCall) {
          const result = await s.appendToStream(callId, list); // (not `appended += await ...`: that reads the counter before the await)
          appended += result.appended.length;
        }
      };
    }
    const receiver = createWebhookReceiver({
      appId: config.appId,
      issuers: [config.issuer],
      openIdConfigurationUrl: config.openIdConfigurationUrl,
      sink,
    });
    handler = (req, res) => void receiver.node(req, res);
  }
  let requests = 0;
  const counted = handler;
  const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    requests++;
    counted(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const eld = monitorEventLoopDelay({ resolution: 1 });
  // CPU of the whole process (every thread: the SQLite writer's too) per request served
  let cpuAtReset = process.cpuUsage();
  let threadsAtReset = threadTicks();
  let requestsAtReset = 0;
  eld.enable();
  process.send!({ port: (server.address() as AddressInfo).port });
  process.on('message', (msg) => {
    if (msg === 'reset') {
      eld.reset();
      cpuAtReset = process.cpuUsage();
      threadsAtReset = threadTicks();
      requestsAtReset = requests;
    }
    if (msg === 'stats') {
      const cpu = process.cpuUsage(cpuAtReset);
      const served = requests - requestsAtReset;
      const threads = threadSplit(threadsAtReset, threadTicks(), served);
      process.send!({
        threads,
        eldP99Ms: eld.percentile(99) / 1e6,
        eldMaxMs: eld.max / 1e6,
        cpuUsPerRequest: served > 0 ? (cpu.user + cpu.system) / served : Number.NaN,
        sysUsPerRequest: served > 0 ? cpu.system / served : Number.NaN,
      });
    }
    if (msg !== 'stop') return;
    server.closeAllConnections();
    server.close();
    void store?.close();
    process.send!({ stopped: true, appended }, () => process.exit(0));
  });
}

/** User + system clock ticks of each thread of this process (Linux /proc; empty elsewhere). */
function threadTicks(): Map<number, number> {
  const out = new Map<number, number>();
  try {
    for (const tid of readdirSync('/proc/self/task')) {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(Number(tid), Number(fields[11]) + Number(fields[12]));
    }
  } catch {
    // not Linux: no split
  }
  return out;
}

/**
 * CPU per request (us) of the main thread, of the busiest other thread (the SQLite writer where
 * there is one) and of the rest together (V8's GC helpers, libuv's pool). Ticks are 10 ms.
 */
function threadSplit(
  before: Map<number, number>,
  after: Map<number, number>,
  served: number,
): { main: number; busiest: number; rest: number } | undefined {
  if (after.size === 0 || served === 0) return undefined;
  const us = (ticks: number) => (ticks * 10_000) / served;
  let main = 0;
  const others: number[] = [];
  for (const [tid, ticks] of after) {
    const used = ticks - (before.get(tid) ?? 0);
    if (tid === process.pid) main = used;
    else others.push(used);
  }
  others.sort((a, b) => b - a);
  const busiest = others[0] ?? 0;
  return { main: us(main), busiest: us(busiest), rest: us(others.reduce((s, x) => s + x, 0) - busiest) };
}

process.once('message', (config) => void main(config as ServerConfig));
process.on('disconnect', () => process.exit(0));
