/** `switchboard inspect` as a command: usage, a read-only SQLite file, a token on other hosts, PostgreSQL live. */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { LogEntry } from '@switchboard/core';
import { PgEventStore, SqliteEventStore } from '@switchboard/adapters';
import { inspectCommand, main } from '@switchboard/cli';
import { readOnlySessions } from '../packages/cli/src/commands/inspect.js';
import { adminQuery, requirePostgres, testSchemas, TEST_DATABASE_URL } from '../packages/adapters/src/stores/postgres/test-db.js';

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

async function run(...argv: string[]) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = await main(argv, { stdout: (t) => stdout.push(t), stderr: (t) => stderr.push(t) });
  return { code, stdout: stdout.join('\n'), stderr: stderr.join('\n') };
}

/** Starts the command; resolves once it listens, with its address, what it printed, and how to stop it. */
async function start(...argv: string[]): Promise<{ url: string; stdout: string[]; stop(): Promise<number> }> {
  let stop!: () => void;
  const until = new Promise<void>((resolve) => (stop = resolve));
  const stdout: string[] = [];
  let exited: Promise<number> | undefined;
  const url = await new Promise<string>((resolve, reject) => {
    exited = inspectCommand(
      [...argv, '--port', '0'],
      { stdout: (t) => stdout.push(t), stderr: (t) => stdout.push(t) },
      { until, ready: resolve },
    );
    exited.then(() => reject(new Error(`inspect ended before listening: ${stdout.join('\n')}`)), reject);
  });
  return {
    url,
    stdout,
    stop: async () => {
      stop();
      return exited!;
    },
  };
}

function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('switchboard inspect', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a missing or malformed --store, and a log that is not there', async () => {
    expect((await run('inspect')).code).toBe(2);
    const bad = await run('inspect', '--store', 'mysql://x');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('sqlite:<path> or postgres://');
    const missing = await run('inspect', '--store', `sqlite:${join(tmpdir(), 'no-such-dir-18', 'calls.db')}`);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain('SWB_STORE_UNAVAILABLE');
    const help = await run('inspect', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--store <log>');
    expect((await run('--help')).stdout).toContain('inspect --store <log>');
  });

  it('serves an SQLite log on loopback and leaves the file as it was', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'swb-inspect-cli-'));
    dirs.push(dir);
    const path = join(dir, 'demo.db');
    const writer = new SqliteEventStore({ path });
    await writer.appendToStream('call-a', [state('call-a', 1, 'establishing'), state('call-a', 2, 'established')]);
    await writer.close();
    const before = statSync(path);

    const inspect = await start('--store', `sqlite:${path}`);
    expect(inspect.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(inspect.stdout.join('\n')).toContain('loopback clients only, no token');
    const list = await get(inspect.url);
    expect(list.status).toBe(200);
    expect(list.body).toContain('data-call="call-a" data-state="established"');
    expect((await get(`${inspect.url}calls/call-a`)).body).toContain('establishing');
    expect(await inspect.stop()).toBe(0);
    const after = statSync(path);
    expect([after.size, after.mtimeMs]).toEqual([before.size, before.mtimeMs]);
  });

  it('on another host makes up a token, and serves nobody without it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'swb-inspect-cli-'));
    dirs.push(dir);
    const path = join(dir, 'calls.db');
    const writer = new SqliteEventStore({ path });
    await writer.appendToStream('call-b', [state('call-b', 1, 'incoming')]);
    await writer.close();
    const inspect = await start('--store', `sqlite:${path}`, '--host', '0.0.0.0');
    try {
      const token = new URL(inspect.url).searchParams.get('token');
      expect(token).toMatch(/^[A-Za-z0-9_-]{32}$/);
      expect(inspect.stdout.join('\n')).toContain('made up for this run');
      const port = new URL(inspect.url).port;
      expect((await get(`http://127.0.0.1:${port}/`)).status).toBe(401);
      expect((await get(`http://127.0.0.1:${port}/`, { authorization: `Bearer ${token}` })).body).toContain('call-b');
    } finally {
      await inspect.stop();
    }
  });
});

describe('switchboard inspect on PostgreSQL', () => {
  const schemas = testSchemas('inspect');
  beforeAll(requirePostgres);
  afterAll(() => schemas.dropAll());

  it('reads in read-only sessions, migrates nothing, and hears appends through the notifications', async () => {
    const schema = schemas.next();
    const writer = new PgEventStore({ connectionString: TEST_DATABASE_URL, schema });
    await writer.appendToStream('call-p', [state('call-p', 1, 'establishing')]);
    const inspect = await start('--store', TEST_DATABASE_URL, '--schema', schema);
    try {
      expect(inspect.stdout.join('\n')).toContain(`schema ${schema}`);
      expect((await get(inspect.url)).body).toContain('data-call="call-p" data-state="establishing"');
      // it connected as itself (its sessions are read-only: the next test)
      const sessions = await adminQuery("SELECT 1 FROM pg_stat_activity WHERE application_name LIKE 'switchboard-inspect%'");
      expect(sessions.length).toBeGreaterThan(0);

      // live: the change arrives as a server-sent event
      const port = new URL(inspect.url).port;
      const change = new Promise<string>((resolve, reject) => {
        const req = httpRequest(`http://127.0.0.1:${port}/events`, (res) => {
          let buffer = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => {
            buffer += c;
            if (buffer.includes('event: hello') && !buffer.includes('appending')) {
              buffer += 'appending';
              void writer.appendToStream('call-p', [state('call-p', 2, 'established')]);
            }
            const m = /event: change\ndata: (.*)\n/.exec(buffer);
            if (m) {
              res.destroy();
              resolve(m[1]!);
            }
          });
        });
        req.on('error', reject);
        req.end();
      });
      expect(JSON.parse(await change)).toEqual({ calls: ['call-p'] });
      expect((await get(`${inspect.url}?fragment=1`)).body).toContain('data-call="call-p" data-state="established"');
    } finally {
      await inspect.stop();
      await writer.close();
    }
  });

  it('opens sessions that cannot write, and creates no schema', async () => {
    const schema = schemas.next();
    const writer = new PgEventStore({ connectionString: TEST_DATABASE_URL, schema });
    await writer.migrate();
    await writer.close();
    // the connection string the command opens its store with
    const reader = new PgEventStore({ connectionString: readOnlySessions(TEST_DATABASE_URL), schema, migrate: false });
    try {
      await expect(reader.appendToStream('call-x', [state('call-x', 1, 'incoming')])).rejects.toThrow(/read-only/);
    } finally {
      await reader.close();
    }
    const absent = schemas.next();
    const inspect = await start('--store', TEST_DATABASE_URL, '--schema', absent);
    try {
      expect((await get(inspect.url)).status).toBe(503);
    } finally {
      await inspect.stop();
    }
    expect(await adminQuery('SELECT 1 FROM information_schema.schemata WHERE schema_name = $1', [absent])).toEqual([]);
  });
});
