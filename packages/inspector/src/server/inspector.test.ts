import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, get as httpGet, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { InMemoryEventStore, type LogEntry, type ReadOptions } from '@switchboard/core';
import { SqliteEventStore } from '@switchboard/adapters';
import { createInspector, type Inspector } from './inspector.js';

const timer = (callId: string, n: number, at = 1_767_600_000_000 + n): LogEntry => ({
  kind: 'timer',
  id: `t${n}`,
  callId,
  at,
  timer: 'keepAliveDue',
});
const state = (callId: string, n: number, value: string): LogEntry => ({
  kind: 'notification',
  id: `n${n}`,
  callId,
  at: 1_767_600_000_000 + n,
  changeType: 'updated',
  resourceUrl: `/communications/calls/${callId}`,
  target: { type: 'call' },
  resourceData: { '@odata.type': '#microsoft.graph.call', state: value },
});

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function memoryConsole(options: { token?: string; basePath?: string } = {}): Promise<Inspector> {
  const store = new InMemoryEventStore();
  await store.appendToStream('call-1', [state('call-1', 1, 'establishing')]);
  const inspector = createInspector({ store, ...options });
  cleanup.push(() => inspector.close());
  return inspector;
}

function request(inspector: Inspector, path: string, init: RequestInit & { remote?: string } = {}): Promise<Response> {
  return inspector.fetch(
    new Request(`http://127.0.0.1:4747${path}`, init),
    init.remote === undefined ? undefined : { remoteAddress: init.remote },
  );
}

describe('who the console serves', () => {
  it('without a token: loopback clients addressed by a loopback name, nobody else', async () => {
    const inspector = await memoryConsole();
    expect((await request(inspector, '/', { remote: '127.0.0.1' })).status).toBe(200);
    expect((await request(inspector, '/', { remote: '::ffff:127.0.0.1' })).status).toBe(200);
    expect((await request(inspector, '/', { remote: '10.1.2.3' })).status).toBe(403);
    expect((await request(inspector, '/', {})).status).toBe(403); // the Fetch handler was not told who asks
    // DNS rebinding: a loopback client sent by a page of another site names that site as Host
    const rebound = await inspector.fetch(new Request('http://127.0.0.1:4747/', { headers: { host: 'evil.example:4747' } }), {
      remoteAddress: '127.0.0.1',
    });
    expect(rebound.status).toBe(403);
  });

  it('with a token: the bearer header, or the token once in the address, then the cookie it sets', async () => {
    const inspector = await memoryConsole({ token: 'correct-horse-battery' });
    expect((await request(inspector, '/', { remote: '10.1.2.3' })).status).toBe(401);
    expect((await request(inspector, '/', { remote: '10.1.2.3', headers: { authorization: 'Bearer wrong-token-here' } })).status).toBe(401);
    expect((await request(inspector, '/', { remote: '10.1.2.3', headers: { authorization: 'Bearer correct-horse-battery' } })).status).toBe(
      200,
    );
    const login = await request(inspector, '/calls/call-1?token=correct-horse-battery&from=0', { remote: '10.1.2.3', redirect: 'manual' });
    expect(login.status).toBe(303);
    expect(login.headers.get('location')).toBe('/calls/call-1?from=0');
    const cookie = login.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^swb_inspect=correct-horse-battery; Path=\/; HttpOnly; SameSite=Strict$/);
    expect((await request(inspector, '/calls/call-1', { remote: '10.1.2.3', headers: { cookie: cookie.split(';')[0]! } })).status).toBe(
      200,
    );
    expect((await request(inspector, '/?token=nope-nope-nope', { remote: '10.1.2.3' })).status).toBe(401);
    expect(() => createInspector({ store: new InMemoryEventStore(), token: 'short' })).toThrow(/at least 8/);
  });

  it('only reads: other methods get 405, pages carry a strict policy', async () => {
    const inspector = await memoryConsole();
    const post = await request(inspector, '/', { method: 'POST', remote: '127.0.0.1', body: '{}' });
    expect(post.status).toBe(405);
    const page = await request(inspector, '/', { remote: '127.0.0.1' });
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(page.headers.get('x-frame-options')).toBe('DENY');
  });

  it('mounted under a path, links relative to it', async () => {
    const inspector = await memoryConsole({ basePath: '/ops/inspect/' });
    const bare = await request(inspector, '/ops/inspect?state=live', { remote: '127.0.0.1', redirect: 'manual' });
    expect(bare.status).toBe(308);
    expect(bare.headers.get('location')).toBe('/ops/inspect/?state=live');
    const list = await (await request(inspector, '/ops/inspect/', { remote: '127.0.0.1' })).text();
    expect(list).toContain('href="calls/call-1"');
    expect(list).toContain('<script src="assets/inspector.js" defer>');
    expect((await request(inspector, '/ops/inspect/calls/call-1', { remote: '127.0.0.1' })).status).toBe(200);
    expect((await request(inspector, '/ops/inspect/assets/inspector.js', { remote: '127.0.0.1' })).status).toBe(200);
    expect((await request(inspector, '/elsewhere/', { remote: '127.0.0.1' })).status).toBe(404);
    expect((await request(inspector, '/ops/inspect/calls/nope', { remote: '127.0.0.1' })).status).toBe(404);
  });
});

/** An SQLite log written by one store and read by the console through another, opened read-only. */
function sqliteLog(): { writer: SqliteEventStore; reader: SqliteEventStore; reads: ReadOptions[] } {
  const dir = mkdtempSync(join(tmpdir(), 'swb-inspect-'));
  const path = join(dir, 'calls.db');
  const writer = new SqliteEventStore({ path, writer: 'inline' });
  const reader = new SqliteEventStore({ path, readOnly: true });
  const reads: ReadOptions[] = [];
  const readStream = reader.readStream.bind(reader);
  reader.readStream = (id, options) => {
    reads.push({ after: options?.after ?? 0 });
    return readStream(id, options);
  };
  for (const method of ['appendToStream', 'writeSnapshot'] as const) {
    (reader as unknown as Record<string, unknown>)[method] = () => {
      throw new Error(`the console called ${method}`);
    };
  }
  cleanup.push(async () => {
    await reader.close();
    await writer.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { writer, reader, reads };
}

async function serve(inspector: Inspector): Promise<string> {
  const server: Server = createServer((req, res) => void inspector.node(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Server-sent events as they arrive, until `stop`. */
function events(url: string): { next(type: string): Promise<string>; stop(): void } {
  let buffer = '';
  const waiting: { type: string; resolve: (data: string) => void }[] = [];
  const seen: { type: string; data: string }[] = [];
  let response: IncomingMessage | undefined;
  const req = httpGet(url, (res) => {
    response = res;
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      buffer += chunk;
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const type = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (type === undefined || data === undefined) continue;
        const w = waiting.findIndex((x) => x.type === type);
        if (w >= 0) waiting.splice(w, 1)[0]!.resolve(data);
        else seen.push({ type, data });
      }
    });
  });
  req.on('error', () => undefined);
  return {
    next(type) {
      const i = seen.findIndex((s) => s.type === type);
      if (i >= 0) return Promise.resolve(seen.splice(i, 1)[0]!.data);
      return new Promise((resolve) => waiting.push({ type, resolve }));
    },
    stop() {
      response?.destroy();
      req.destroy();
    },
  };
}

describe('live, on an SQLite log written by another store', () => {
  it('announces a new call and a new entry, reading only what was appended, and never writes', async () => {
    const { writer, reader, reads } = sqliteLog();
    await writer.appendToStream('call-1', [state('call-1', 1, 'establishing')]);
    const inspector = createInspector({ store: reader, pollMs: 20 });
    cleanup.push(() => inspector.close());
    const url = await serve(inspector);

    const list = await (await fetch(`${url}/`)).text();
    expect(list).toContain('call-1');
    expect(reads).toEqual([{ after: 0 }]); // the index read the call once

    const live = events(`${url}/events`);
    cleanup.push(() => live.stop());
    await live.next('hello');
    await writer.appendToStream('call-2', [state('call-2', 2, 'incoming')]);
    expect(JSON.parse(await live.next('change'))).toEqual({ calls: ['call-2'] });
    await writer.appendToStream('call-1', [state('call-1', 3, 'established'), timer('call-1', 4)]);
    expect(JSON.parse(await live.next('change'))).toEqual({ calls: ['call-1'] });
    // each change read that stream's new entries only: no stream was read whole again
    expect(reads).toEqual([{ after: 0 }, { after: 0 }, { after: 1 }]);

    const fragment = await (await fetch(`${url}/?fragment=1&state=live`)).text();
    expect(fragment).not.toContain('<html');
    expect(fragment).toMatch(/data-call="call-1" data-state="established"/);
    expect(fragment).toMatch(/data-call="call-2" data-state="incoming"/);
    const page = await (await fetch(`${url}/calls/call-1`)).text();
    expect(page).toContain('snapshot: none stored');
    expect(page).toMatch(/<g class="m-node visited final" data-state="established">/);
    live.stop();
  });
});
