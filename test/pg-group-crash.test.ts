// tier: e2e (child processes, PostgreSQL)
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgEventStore } from '@switchboard/adapters';
import { adminQuery, requirePostgres, testSchemas, TEST_DATABASE_URL } from '../packages/adapters/src/stores/postgres/test-db.js';

/**
 * Group commit and crashes: a process appending from 48 writers at once (so every append
 * shares a group and a group is always on its way) is killed with SIGKILL, three times, at a
 * point that differs each time. Every append whose promise resolved before the kill is in the
 * store, at the version it was told; no append is there in part (each writes two entries);
 * and the streams hold nothing but those appends and ones in flight at a kill.
 *
 * The test database runs these sessions with synchronous_commit off, which matters only when
 * the server crashes; here the client dies, and the database keeps whatever it committed.
 */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const KILLS = 3;
const schemas = testSchemas('gcrash');
beforeAll(requirePostgres);
afterAll(() => schemas.dropAll());

interface Ack {
  readonly stream: string;
  readonly version: number;
  readonly ids: readonly string[];
}

/** Runs the appender until it acknowledged `acks` appends (and a little more), then SIGKILLs it. */
async function runAndKill(schema: string, tag: string, acks: number): Promise<Ack[]> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--conditions=@switchboard/source', join(ROOT, 'test/support/pg-appender.ts')].concat([
      TEST_DATABASE_URL,
      schema,
      tag,
      '48',
    ]),
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const acked: Ack[] = [];
  const errors: string[] = [];
  let buffered = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.stderr!.on('data', (chunk: Buffer) => errors.push(chunk.toString('utf8')));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        const [word, stream, version, ...ids] = line.split(' ');
        if (word === 'ack') acked.push({ stream: stream!, version: Number(version), ids });
      }
      if (acked.length >= acks && child.exitCode === null) {
        child.kill('SIGKILL');
        resolve();
      }
    });
    void exited.then((code) => reject(new Error(`the appender exited (${String(code)}) before the kill: ${errors.join('')}`)));
  });
  expect(await exited).toBe(null); // killed by the signal
  // the lines already in the pipe when the signal landed (each was written whole: a write of
  // under 4 KiB to a pipe is atomic)
  if (!child.stdout!.closed) await new Promise((resolve) => child.stdout!.once('close', resolve));
  return acked;
}

describe('PgEventStore group commit under SIGKILL', () => {
  it(`loses no acknowledged append across ${KILLS} kills mid-group, and writes none in part`, async () => {
    const schema = schemas.next();
    const acked: Ack[] = [];
    for (let kill = 0; kill < KILLS; kill++) acked.push(...(await runAndKill(schema, `run${kill}`, 300 + ((kill * 397) % 500))));

    const store = new PgEventStore({ connectionString: TEST_DATABASE_URL, schema });
    try {
      const held = new Map<string, string[]>();
      for (const stream of await store.listStreams())
        held.set(
          stream,
          (await store.readStream(stream)).map((e) => e.id),
        );
      for (const a of acked) {
        const ids = held.get(a.stream);
        expect(ids?.slice(a.version - 2, a.version), `${a.stream} at ${a.version}`).toEqual(a.ids);
      }
      let unacknowledged = 0;
      for (const [stream, ids] of held) {
        // whole appends only, each at the version its writer expected
        expect(ids.length % 2, stream).toBe(0);
        ids.forEach((id, i) => expect(id, stream).toBe(`${stream}-${i - (i % 2)}${i % 2 === 0 ? 'a' : 'b'}`));
        const acknowledged = acked.filter((a) => a.stream === stream).length;
        unacknowledged += ids.length / 2 - acknowledged;
      }
      // what was committed but not acknowledged is at most what the writers had in flight
      expect(unacknowledged).toBeGreaterThanOrEqual(0);
      expect(unacknowledged).toBeLessThanOrEqual(KILLS * 48);
      const groups = await adminQuery<{ xmin: string; n: number }>(
        `SELECT xmin::text AS xmin, count(DISTINCT stream_id)::int AS n FROM ${schema}.entries GROUP BY 1 ORDER BY 2 DESC LIMIT 1`,
      );
      expect(groups[0]?.n, 'appends shared transactions').toBeGreaterThan(1);
    } finally {
      await store.close();
    }
  });
});
