/**
 * Soak of the webhook receiver under slow and oversized senders, on both handlers (node:http,
 * and the Hono example's Fetch handler): 200 hostile connections at once, each refused and
 * closed by the receiver, while valid signed deliveries go on. Prints, per handler: how long
 * each hostile connection stayed open (from its first byte to the server closing it) against
 * `bodyTimeoutMs` + 1 s, and the latency of valid deliveries before, during and after.
 *
 *   pnpm exec tsx --conditions=@switchboard/source bench/webhook-soak.ts [--body-timeout-ms 10000]
 *
 * Not a test: its figures depend on the machine. The server runs in a child process
 * (bench/webhook-soak-server.ts); this process sends everything.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { Agent, request } from 'node:http';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { startKeyServer } from '../test/support/hostile/keys.js';
import { rawExchange, type RawExchange, type RawRequestSpec } from '../test/support/hostile/raw.js';
import { established } from '../test/support/hostile/valid.js';
import type { SoakServerConfig } from './webhook-soak-server.js';

const APP_ID = 'b0t00000-0000-4000-8000-00000000504c';
const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const BODY_TIMEOUT_MS = Number(arg('--body-timeout-ms') ?? 10_000);
const HOSTILE = 200;
const MiB = 1024 * 1024;

async function startServer(config: SoakServerConfig): Promise<{ child: ChildProcess; port: number }> {
  const child = fork(join(import.meta.dirname, 'webhook-soak-server.ts'), [], {
    execArgv: ['--import', 'tsx', '--conditions=@switchboard/source'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m) => resolve((m as { port: number }).port));
    child.once('exit', (code) => reject(new Error(`soak server exited with ${code}`)));
    child.send(config);
  });
  return { child, port };
}

async function stopServer(child: ChildProcess): Promise<void> {
  child.send('stop');
  await new Promise<void>((r) => (child.exitCode !== null ? r() : child.once('exit', () => r())));
}

/** One valid signed delivery over a keep-alive connection; resolves to its latency in ms. */
function deliver(port: number, agent: Agent, token: string, callId: string): Promise<number> {
  const body = established(callId);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/api/calls',
        method: 'POST',
        agent,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        res.resume();
        res.on('end', () =>
          res.statusCode === 202 ? resolve(performance.now() - started) : reject(new Error(`a valid delivery got ${res.statusCode}`)),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** The 200 hostile senders: who they are and what each sends. */
function hostileSpecs(port: number, token: string, otherAppToken: string): Array<{ kind: string; spec: RawRequestSpec }> {
  const bearer = ['authorization', `Bearer ${token}`] as const;
  const json = ['content-type', 'application/json'] as const;
  const until = BODY_TIMEOUT_MS + 30_000;
  const kinds: Array<{ kind: string; count: number; spec: Omit<RawRequestSpec, 'port' | 'untilMs'> }> = [
    {
      kind: 'PUT trickled (405)',
      count: 40,
      spec: { method: 'PUT', headers: [bearer, json, ['content-length', String(MiB)]], body: { kind: 'trickle', everyMs: 100 } },
    },
    {
      kind: 'no token, trickled (401)',
      count: 40,
      spec: { method: 'POST', headers: [json, ['content-length', String(MiB)]], body: { kind: 'trickle', everyMs: 100 } },
    },
    {
      kind: 'another app, trickled (403)',
      count: 20,
      spec: {
        method: 'POST',
        headers: [['authorization', `Bearer ${otherAppToken}`], json, ['content-length', String(MiB)]],
        body: { kind: 'trickle', everyMs: 100 },
      },
    },
    {
      kind: 'valid token, trickled (408)',
      count: 40,
      spec: { method: 'POST', headers: [bearer, json, ['content-length', String(64 * 1024)]], body: { kind: 'trickle', everyMs: 100 } },
    },
    {
      kind: 'declares 64 MiB, trickled (413)',
      count: 30,
      spec: { method: 'POST', headers: [bearer, json, ['content-length', String(64 * MiB)]], body: { kind: 'trickle', everyMs: 100 } },
    },
    {
      kind: 'PUT 64 MiB flood (405)',
      count: 15,
      spec: { method: 'PUT', headers: [bearer, json, ['content-length', String(64 * MiB)]], body: { kind: 'flood', total: 64 * MiB } },
    },
    {
      kind: '64 MiB flood (413)',
      count: 15,
      spec: { method: 'POST', headers: [bearer, json, ['content-length', String(64 * MiB)]], body: { kind: 'flood', total: 64 * MiB } },
    },
  ];
  if (kinds.reduce((n, k) => n + k.count, 0) !== HOSTILE) throw new Error('the mix must add up to 200');
  return kinds.flatMap((k) => Array.from({ length: k.count }, () => ({ kind: k.kind, spec: { ...k.spec, port, untilMs: until } })));
}

async function soak(
  handler: 'node' | 'hono',
  keys: Awaited<ReturnType<typeof startKeyServer>>,
  token: string,
  otherAppToken: string,
): Promise<string[]> {
  const { child, port } = await startServer({
    handler,
    openIdConfigurationUrl: keys.openIdConfigurationUrl,
    appId: APP_ID,
    bodyTimeoutMs: BODY_TIMEOUT_MS,
  });
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  let n = 0;
  const batch = async (count: number) => {
    const out: number[] = [];
    for (let i = 0; i < count; i++) out.push(await deliver(port, agent, token, `${handler}-${n++}`));
    return out;
  };
  try {
    await batch(100); // warm-up
    const before = await batch(300);
    // the 200 at once, then valid deliveries one after another until the last of them is closed
    const specs = hostileSpecs(port, token, otherAppToken);
    const opened = performance.now();
    let open = specs.length;
    const exchanges = specs.map(({ kind, spec }) =>
      rawExchange(spec).then((x) => {
        open -= 1;
        return { kind, x };
      }),
    );
    const during: number[] = [];
    while (open > 0) during.push(await deliver(port, agent, token, `${handler}-${n++}`));
    const results = await Promise.all(exchanges);
    const window = performance.now() - opened;
    await new Promise((r) => setTimeout(r, 200));
    // the server's view: every connection it closed (the hostile ones; the deliveries' stays open)
    const serverSide = await new Promise<number[]>((resolve) => {
      child.once('message', (m) => resolve((m as { lifetimes: number[] }).lifetimes));
      child.send('lifetimes');
    });
    const after = await batch(300);

    const bound = BODY_TIMEOUT_MS + 1000;
    const lines = [
      `${handler === 'node' ? 'node:http handler' : 'Hono (Fetch handler via @hono/node-server)'}: ${HOSTILE} hostile connections, bodyTimeoutMs ${BODY_TIMEOUT_MS}`,
    ];
    const byKind = new Map<string, Array<{ x: RawExchange }>>();
    for (const r of results) byKind.set(r.kind, [...(byKind.get(r.kind) ?? []), r]);
    for (const [kind, rs] of byKind) {
      const closed = rs.map((r) => r.x.closedAfterMs);
      const statuses = [...new Set(rs.map((r) => String(r.x.status)))].join('/');
      const heldByUs = rs.filter((r) => r.x.closedBy === 'client').length;
      lines.push(
        `  ${kind.padEnd(32)} ${String(rs.length).padStart(3)}  answered ${statuses.padEnd(9)} closed by the server after ${quantile(closed, 0).toFixed(0)}-${quantile(closed, 1).toFixed(0)} ms (median ${quantile(closed, 0.5).toFixed(0)})${heldByUs ? `, ${heldByUs} NOT closed by the server` : ''}`,
      );
    }
    const worst = Math.max(...results.map((r) => r.x.closedAfterMs));
    const late = results.filter((r) => r.x.closedBy === 'client' || r.x.closedAfterMs > bound).length;
    lines.push(
      `  every connection closed within bodyTimeoutMs + 1 s (${bound} ms) as the senders saw it: ${late === 0 ? 'yes' : `NO, ${late} not`}; the last after ${worst.toFixed(0)} ms (all ${HOSTILE} over in ${window.toFixed(0)} ms)`,
    );
    const serverLate = serverSide.filter((ms) => ms > bound).length;
    lines.push(
      `  as the server saw them (${serverSide.length} connections closed, accept to close): ${serverLate === 0 ? 'all' : `NOT all, ${serverLate} not`} within ${bound} ms; median ${quantile(serverSide, 0.5).toFixed(0)} ms, the last ${Math.max(...serverSide).toFixed(0)} ms`,
    );
    const med = (v: number[]) => quantile(v, 0.5);
    lines.push(
      `  valid deliveries, median / p95 ms: before ${med(before).toFixed(2)} / ${quantile(before, 0.95).toFixed(2)} (${before.length}), during ${med(during).toFixed(2)} / ${quantile(during, 0.95).toFixed(2)} (${during.length}), after ${med(after).toFixed(2)} / ${quantile(after, 0.95).toFixed(2)} (${after.length})`,
      `  median after / before = ${(med(after) / med(before)).toFixed(2)} (bound 1.5); during / before = ${(med(during) / med(before)).toFixed(2)}`,
    );
    return lines;
  } finally {
    agent.destroy();
    await stopServer(child);
  }
}

const keys = await startKeyServer(APP_ID);
try {
  const now = Math.floor(Date.now() / 1000);
  const token = await keys.token({ exp: now + 3600 });
  const otherAppToken = await keys.token({ aud: 'someone-else' });
  const out = [
    `webhook soak, ${new Date().toISOString()}, ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} at the start, Node ${process.version}`,
  ];
  for (const handler of ['node', 'hono'] as const) out.push(...(await soak(handler, keys, token, otherAppToken)));
  process.stdout.write(`${out.join('\n')}\n`);
} finally {
  await keys.close();
}
