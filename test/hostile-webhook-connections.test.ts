import { Agent, createServer, request, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InMemoryEventStore } from '@switchboard/core';
import { createSwitchboard, type GraphPort, type Switchboard } from '@switchboard/runtime';
import { createWebhookReceiver, type WebhookReceiver } from '@switchboard/transport';
import { createApp } from '../examples/hono-webhook.js';
import { startKeyServer, type KeyServer } from './support/hostile/keys.js';
import { rawExchange, type RawBody, type RawExchange } from './support/hostile/raw.js';
import { established } from './support/hostile/valid.js';

/**
 * What a hostile sender can do to the webhook's connections rather than to its data, on both
 * handlers: the node:http one, and the Fetch one inside the Hono example served by
 * @hono/node-server. Each handler gets a short body timeout so that a held connection shows
 * in seconds; every time bound below is several times what the receiver promises.
 */
const APP_ID = 'b0t00000-0000-4000-8000-0000000c0de5';
const BODY_TIMEOUT_MS = 1000;
const MAX_BODY = 1024 * 1024; // the default
const MiB = 1024 * 1024;

let keys: KeyServer;
let sw: Switchboard;
let receiver: WebhookReceiver;
let token: string;
const delivered: string[] = [];

interface Target {
  readonly name: string;
  server: Server;
  port: number;
  /** What the server read from each connection, by the client's port. */
  readonly bytesRead: Map<number, number>;
}
const targets: Target[] = [
  { name: 'node:http handler', server: undefined as unknown as Server, port: 0, bytesRead: new Map() },
  { name: 'Hono (Fetch handler)', server: undefined as unknown as Server, port: 0, bytesRead: new Map() },
];

const graph: GraphPort = {
  async send(command) {
    throw Object.assign(new Error(`no Graph in this test (${command})`), { code: 'SWB_GRAPH_HTTP' });
  },
};

function watch(target: Target): void {
  target.server.on('connection', (socket: Socket) => {
    const port = socket.remotePort ?? 0;
    socket.on('close', () => target.bytesRead.set(port, socket.bytesRead));
  });
}

beforeAll(async () => {
  keys = await startKeyServer(APP_ID);
  token = await keys.token();
  sw = createSwitchboard({ graph, store: new InMemoryEventStore(), onAnswerDeadline: { action: 'none' } });
  receiver = createWebhookReceiver({
    appId: APP_ID,
    openIdConfigurationUrl: keys.openIdConfigurationUrl,
    bodyTimeoutMs: BODY_TIMEOUT_MS,
    sink: async (delivery) => {
      delivered.push(delivery.rawBody);
      await sw.sink({ body: delivery.body, receivedAt: delivery.receivedAt });
    },
  });
  const node = targets[0]!;
  node.server = createServer((req, res) => void receiver.node(req, res));
  await new Promise<void>((resolve) => node.server.listen(0, '127.0.0.1', resolve));
  node.port = (node.server.address() as AddressInfo).port;
  const hono = targets[1]!;
  hono.server = await new Promise<Server>((resolve) => {
    const s: ServerType = serve({ fetch: createApp(receiver, sw).fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s as Server));
  });
  hono.port = (hono.server.address() as AddressInfo).port;
  for (const t of targets) watch(t);
  // prime the key cache
  const primed = await rawExchange({
    port: node.port,
    method: 'POST',
    headers: [
      ['authorization', `Bearer ${token}`],
      ['content-type', 'application/json'],
      ['content-length', String(Buffer.byteLength(established('prime')))],
      ['connection', 'close'],
    ],
    body: { kind: 'bytes', bytes: Buffer.from(established('prime')) },
    untilMs: 10_000,
  });
  expect(primed.status).toBe(202);
});

afterAll(async () => {
  await sw?.stop();
  for (const t of targets) {
    await new Promise<void>((resolve) => {
      t.server?.close(() => resolve());
      t.server?.closeAllConnections();
    });
  }
  await keys?.close();
});

const json = ['content-type', 'application/json'] as const;

/** The early answers: each decided from the request line and headers alone, before the body is read. */
async function earlyAnswers(): Promise<Array<{ name: string; method: string; headers: Array<readonly [string, string]>; status: number }>> {
  const bearer = ['authorization', `Bearer ${token}`] as const;
  return [
    { name: '405: PUT with a valid token', method: 'PUT', headers: [bearer, json], status: 405 },
    { name: '415: text/plain with a valid token', method: 'POST', headers: [bearer, ['content-type', 'text/plain']], status: 415 },
    { name: '401: no token', method: 'POST', headers: [json], status: 401 },
    {
      name: '403: a token for another app',
      method: 'POST',
      headers: [['authorization', `Bearer ${await keys.token({ aud: 'someone-else' })}`], json],
      status: 403,
    },
    { name: '400: two Authorization headers', method: 'POST', headers: [bearer, bearer, json], status: 400 },
    { name: '413: a declared length over the limit', method: 'POST', headers: [bearer, json], status: 413 },
  ];
}

describe.each(targets.map((t, i) => [t.name, i] as const))('the webhook connections, %s', (_name, index) => {
  const target = () => targets[index]!;

  it('an answer given before the body is read bounds what is read after it: a trickled or a flooded body does not hold the connection', async () => {
    const cases = await earlyAnswers();
    const runs: Array<{ name: string; status: number; body: RawBody; declared: number; exchange: Promise<RawExchange> }> = [];
    for (const c of cases) {
      // a body trickled a byte every 50 ms under a declared length (over the limit for the 413 case)
      const trickleLength = c.status === 413 ? 5 * MAX_BODY : 64 * 1024;
      const trickle: RawBody = { kind: 'trickle', everyMs: 50 };
      runs.push({
        ...c,
        body: trickle,
        declared: trickleLength,
        exchange: rawExchange({
          port: target().port,
          method: c.method,
          headers: [...c.headers, ['content-length', String(trickleLength)]],
          body: trickle,
          untilMs: 15_000,
        }),
      });
      // 64 MiB under an honest length, as fast as the connection takes it
      const flood: RawBody = { kind: 'flood', total: 64 * MiB };
      runs.push({
        ...c,
        body: flood,
        declared: 64 * MiB,
        exchange: rawExchange({
          port: target().port,
          method: c.method,
          headers: [...c.headers, ['content-length', String(64 * MiB)]],
          body: flood,
          untilMs: 15_000,
        }),
      });
    }
    // 64 MiB with no declared length (chunked): read up to the limit, or refused before, then thrown away up to maxDiscardBytes
    const bearer = ['authorization', `Bearer ${token}`] as const;
    for (const [name, method, status] of [
      ['413: chunked, no length, past the limit', 'POST', 413],
      ['405: PUT chunked, no length', 'PUT', 405],
    ] as const) {
      const chunked: RawBody = { kind: 'chunked-flood', total: 64 * MiB };
      runs.push({
        name,
        status,
        body: chunked,
        declared: Number.NaN,
        exchange: rawExchange({
          port: target().port,
          method,
          headers: [bearer, json, ['transfer-encoding', 'chunked']],
          body: chunked,
          untilMs: 15_000,
        }),
      });
    }
    const problems: string[] = [];
    const figures: string[] = [];
    for (const run of runs) {
      const x = await run.exchange;
      const what = `${run.name}, ${run.body.kind}`;
      for (let waited = 0; !target().bytesRead.has(x.localPort) && waited < 5000; waited += 50) await new Promise((r) => setTimeout(r, 50));
      if (!target().bytesRead.has(x.localPort))
        problems.push(`${what}: the server's socket is still open (${x.status}, ${x.closedBy} after ${x.closedAfterMs.toFixed(0)} ms)`);
      const read = target().bytesRead.get(x.localPort) ?? Number.NaN;
      figures.push(
        `${what}: ${x.status} after ${x.answeredAfterMs?.toFixed(0)} ms, closed by ${x.closedBy} after ${x.closedAfterMs.toFixed(0)} ms, server read ${(read / MiB).toFixed(2)} MiB of ${(x.bytesWritten / MiB).toFixed(2)} written`,
      );
      // past maxDiscardBytes a Fetch handler can only answer and let the server close: that
      // answer may be lost in the reset (the node:http handler stops reading instead)
      const mayLoseAnswer = index === 1 && run.body.kind !== 'trickle';
      if (x.status !== run.status && !(mayLoseAnswer && x.status === null))
        problems.push(`${what}: status ${x.status}, expected ${run.status}`);
      if (x.closedBy === 'client') problems.push(`${what}: the server still held the connection after ${x.closedAfterMs.toFixed(0)} ms`);
      // the receiver promises bodyTimeoutMs (+ a short grace); 4 s more is for a loaded machine
      else if (x.closedAfterMs > BODY_TIMEOUT_MS + 5000) problems.push(`${what}: closed only after ${x.closedAfterMs.toFixed(0)} ms`);
      // at most the body limit plus what is discarded (16 MiB by default), plus kernel buffers
      if (read > MAX_BODY + 16 * MiB + 4 * MiB) problems.push(`${what}: the server read ${(read / MiB).toFixed(1)} MiB`);
    }
    console.log(`${target().name}:\n  ${figures.join('\n  ')}`);
    expect(problems).toEqual([]);
  }, 60_000);

  it("answers an honest 8 MiB body over the limit with a 413 the sender reads, every time (Node's http client)", async () => {
    // The sender sends its headers, is busy for 150 ms (its event loop blocked: a loaded
    // process), then writes the 8 MiB body in one go. The answer arrives while it is busy, so
    // the sender reads it only after it wrote: a server that closed right after answering
    // resets the connection under that write, and the sender may see EPIPE instead of its 413.
    const body = Buffer.alloc(8 * MiB, ' ');
    const keepAlive = new Agent({ keepAlive: true });
    const pooled = new WeakSet<Socket>();
    const outcomes: string[] = [];
    try {
      for (let i = 0; i < 20; i++) {
        outcomes.push(
          await new Promise<string>((resolve) => {
            let settled = false;
            const done = (what: string) => {
              if (!settled) resolve(what);
              settled = true;
            };
            const agent = i % 2 === 0 ? false : keepAlive;
            const req = request(
              `http://127.0.0.1:${target().port}/api/calls`,
              {
                method: 'POST',
                agent,
                headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': String(body.length) },
              },
              (res) => {
                const chunks: Buffer[] = [];
                res.on('data', (c: Buffer) => chunks.push(c));
                res.on('end', () =>
                  done(`${res.statusCode} ${(JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as { type?: string }).type}`),
                );
                res.on('error', (e) =>
                  done(`${res.statusCode} then ${(e as NodeJS.ErrnoException).code ?? e.message} before the body ended`),
                );
              },
            );
            req.on('error', (e) => done((e as NodeJS.ErrnoException).code ?? e.message));
            req.flushHeaders();
            req.on('socket', (socket) => {
              if (!pooled.has(socket)) socket.on('error', () => {}); // a pooled socket's late reset is not this request's
              pooled.add(socket);
              const busyThenWrite = () =>
                setTimeout(() => {
                  const until = performance.now() + 150;
                  while (performance.now() < until) {
                    // busy
                  }
                  req.end(body);
                }, 5);
              if (socket.connecting) socket.once('connect', busyThenWrite);
              else busyThenWrite();
            });
          }),
        );
      }
    } finally {
      keepAlive.destroy();
    }
    const tally = new Map<string, number>();
    for (const o of outcomes) tally.set(o, (tally.get(o) ?? 0) + 1);
    console.log(
      `${target().name}, 8 MiB over the limit, ${outcomes.length} tries: ${[...tally].map(([o, k]) => `${k} x ${o}`).join(', ')}`,
    );
    expect(outcomes).toEqual(outcomes.map(() => '413 urn:switchboard:webhook:too-large'));
  }, 60_000);

  it('refuses two Authorization headers the same way, whatever their order or values', async () => {
    const genuine = `Bearer ${token}`;
    const before = delivered.length;
    const body = Buffer.from(established(`dup-${index}`));
    const answers: string[] = [];
    for (const pair of [
      [genuine, 'Bearer junk'],
      ['Bearer junk', genuine],
      [genuine, genuine],
      [genuine, ''],
    ]) {
      const x = await rawExchange({
        port: target().port,
        method: 'POST',
        headers: [
          ...pair.map((v) => ['authorization', v] as const),
          json,
          ['content-length', String(body.length)],
          ['connection', 'close'],
        ],
        body: { kind: 'bytes', bytes: body },
        untilMs: 10_000,
      });
      answers.push(`${x.status} ${/"type":"([^"]+)"/.exec(x.response)?.[1]}`);
    }
    expect(answers).toEqual(answers.map(() => '400 urn:switchboard:webhook:duplicate-authorization'));
    expect(delivered.length).toBe(before);
  });

  it('refuses a body that is not UTF-8, instead of replacing the bytes (two bodies would become one)', async () => {
    const before = delivered.length;
    const statuses: string[] = [];
    for (const bad of [0xff, 0xfe]) {
      const text = established(`utf8-${index}`);
      const at = text.indexOf('utf8-') + 5;
      const body = Buffer.concat([Buffer.from(text.slice(0, at)), Buffer.from([bad]), Buffer.from(text.slice(at))]);
      const x = await rawExchange({
        port: target().port,
        method: 'POST',
        headers: [['authorization', `Bearer ${token}`], json, ['content-length', String(body.length)], ['connection', 'close']],
        body: { kind: 'bytes', bytes: body },
        untilMs: 10_000,
      });
      statuses.push(`${x.status} ${/"type":"([^"]+)"/.exec(x.response)?.[1]}`);
    }
    expect(statuses).toEqual(['400 urn:switchboard:webhook:invalid-utf8', '400 urn:switchboard:webhook:invalid-utf8']);
    expect(delivered.length).toBe(before);
  });

  it('echoes at most a short prefix of a bad value (a 900 KB changeType)', async () => {
    const body = Buffer.from(
      JSON.stringify({
        value: [
          {
            changeType: 'x'.repeat(900_000),
            resourceUrl: '/communications/calls/echo',
            resourceData: { '@odata.type': '#microsoft.graph.call', state: 'established' },
          },
        ],
      }),
    );
    const x = await rawExchange({
      port: target().port,
      method: 'POST',
      headers: [['authorization', `Bearer ${token}`], json, ['content-length', String(body.length)], ['connection', 'close']],
      body: { kind: 'bytes', bytes: body },
      untilMs: 10_000,
    });
    expect(x.status).not.toBeNull();
    // whatever the sink decides about the notification (refuse it, or keep it aside), nothing echoes it whole
    expect(x.response.length).toBeLessThan(2048);
    if (x.status === 400) expect(x.response).toContain('"path":"$.value[0].changeType"');
  });
});
