// tier: e2e (child processes)
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { main } from './main.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const LOG = join(ROOT, 'test/fixtures/graph/recorded/sambetts-graph-calling-bots--p2p-simpletest.jsonl');

async function run(...argv: string[]) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = await main(argv, { stdout: (t) => stdout.push(t), stderr: (t) => stderr.push(t) });
  return { code, stdout: stdout.join('\n'), stderr: stderr.join('\n') };
}

describe('switchboard replay', () => {
  it('prints the timeline with state changes and the final calls', async () => {
    const r = await run('replay', LOG);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('pending -> establishing');
    expect(r.stdout).toContain('established -> terminated');
    expect(r.stdout).toMatch(/6f1f5c00-8c1b-47f1-be9d-660c501041a9 {2}terminated/);
  });

  it('--json prints Graph-shaped projections, the same bytes every time', async () => {
    const a = await run('replay', LOG, '--json');
    const b = await run('replay', LOG, '--json');
    expect(a.stdout).toBe(b.stdout);
    const json = JSON.parse(a.stdout);
    expect(json.calls['6f1f5c00-8c1b-47f1-be9d-660c501041a9']).toMatchObject({
      state: 'terminated',
      operations: [{ status: 'completed' }],
    });
  });

  it('a shuffled, duplicated delivery converges to the same final state', async () => {
    const inOrder = JSON.parse((await run('replay', LOG, '--json')).stdout);
    for (const seed of ['1', '2', '3', '4', '5']) {
      const shuffled = JSON.parse((await run('replay', LOG, '--json', '--shuffle', seed, '--duplicate', '0.5')).stdout);
      const pick = (j: { calls: Record<string, { state: string; operations: unknown; tones: unknown[] }> }) =>
        Object.values(j.calls).map((c) => [c.state, c.operations, c.tones.length]);
      expect(pick(shuffled)).toEqual(pick(inOrder));
    }
  });

  it("--shuffle is causal: it never moves the bot's own commands, so a failed transfer stays failed", async () => {
    // Graph's call: transfer page, example 2 (consultative), the failed alternative: the bot's
    // transfer request, then transferring, transferAccepted and established with 500/7700. A
    // shuffle that moved the request after the failure reopened the transfer (transferAccepted).
    const log = join(ROOT, 'test/fixtures/graph/docs/v1.0-call-transfer--example-2-consultative-transfer-from-a-peer-to-peer-call.jsonl');
    for (const seed of ['1', '2', '3', '4', '5', '6']) {
      const r = await run('replay', log, '--alt', 'failed', '--json', '--shuffle', seed, '--duplicate', '0.3');
      expect(JSON.parse(r.stdout).calls['341a0500-d4bf-4224-8b19-1581168d328b'].state, `seed ${seed}`).toBe('established');
    }
    // and Graph's call: reject page, example 2: the call ends on a deleted notification with no state
    const reject = join(ROOT, 'test/fixtures/graph/docs/v1.0-call-reject--example-2-reject-an-incoming-call-with-none-reason.jsonl');
    for (const seed of ['1', '2', '3']) {
      const r = await run('replay', reject, '--json', '--shuffle', seed, '--duplicate', '0.3');
      expect(JSON.parse(r.stdout).calls['57dab8b1-894c-409a-b240-bd8beae78896'].state, `seed ${seed}`).toBe('terminated');
    }
  });

  it('exit codes mean something: 2 for usage, 3 for unreadable input', async () => {
    expect((await run()).code).toBe(2);
    expect((await run('nope')).code).toBe(2);
    expect((await run('replay')).code).toBe(2);
    expect((await run('replay', LOG, '--duplicate', '7')).code).toBe(2);
    expect((await run('replay', LOG, '--bogus')).code).toBe(2);
    const missing = await run('replay', '/nonexistent.jsonl');
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain('ENOENT');
    expect((await run('replay', '--help')).code).toBe(0);
  });

  it('reads the log a line at a time: a multi-megabyte log (lines across read chunks, multi-byte text) replays as read whole', async () => {
    // the four recorded logs, repeated with fresh call ids until the file passes 3 MB, with a
    // non-ASCII display name so that UTF-8 sequences straddle the 1 MB read chunks
    const dir = mkdtempSync(join(tmpdir(), 'swb-replay-big-'));
    const file = join(dir, 'big.jsonl');
    const sources = ['p2p-simpletest', 'p2p-callupdates', 'groupcall', 'failed-p2p'].map((n) =>
      readFileSync(join(ROOT, `test/fixtures/graph/recorded/sambetts-graph-calling-bots--${n}.jsonl`), 'utf8'),
    );
    const lines: string[] = [];
    let size = 0;
    for (let lap = 0; size < 3 * 2 ** 20; lap++) {
      for (const text of sources) {
        const copy = text
          .replace(/"displayName":\s*"([^"]*)"/g, '"displayName":"$1 Zoë 🎧"')
          .replace(/([0-9a-f]{8})-([0-9a-f]{4})-/g, (_, a: string, _b: string) => `${a}-${(lap % 65536).toString(16).padStart(4, '0')}-`);
        lines.push(copy.trimEnd());
        size += Buffer.byteLength(copy);
      }
    }
    writeFileSync(file, lines.join('\r\n\n')); // CRLF and blank lines; no newline at the end
    const streamed = await run('replay', file, '--json', '--progress');
    expect(streamed.code, streamed.stderr).toBe(0);
    expect(streamed.stderr).toMatch(/replayed [\d,]+ entries in [\d.]+ s \([\d,]+\/s\), done$/);
    // --html holds every entry (the in-memory path): the same projections
    const held = await run('replay', file, '--json', '--html', join(dir, 'big.html'));
    expect(held.code, held.stderr).toBe(0);
    expect(streamed.stdout).toBe(held.stdout);
    const calls = Object.values(JSON.parse(streamed.stdout).calls as Record<string, unknown>);
    expect(calls.length).toBeGreaterThan(100);
    expect(streamed.stdout.split('Zoë 🎧').length - 1).toBeGreaterThan(100); // the text survived the chunk boundaries
    // an alternative the log does not have: known only at the end of the stream, still an error
    const alt = await run('replay', file, '--json', '--alt', 'nope');
    expect(alt.code).toBe(3);
    expect(alt.stderr).toContain("no alternative 'nope'");
  });

  it('runs as a real process', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', '--conditions=@switchboard/source', join(ROOT, 'packages/cli/src/bin.ts'), 'replay', LOG],
      { cwd: ROOT },
    );
    expect(stdout).toContain('established -> terminated');
    await expect(
      promisify(execFile)(
        process.execPath,
        ['--import', 'tsx', '--conditions=@switchboard/source', join(ROOT, 'packages/cli/src/bin.ts'), 'replay', '/nonexistent'],
        { cwd: ROOT },
      ),
    ).rejects.toMatchObject({ code: 3 });
  });
});

describe('switchboard replay: quarantined notifications', () => {
  // the participant: startHoldMusic page's exchange, with two notifications this version
  // cannot decode put beside the good one: a state that is a number, and one naming no call
  function logWithOddOnes(): string {
    const dir = mkdtempSync(join(tmpdir(), 'swb-replay-quarantine-'));
    const file = join(dir, 'odd.jsonl');
    const lines = readFileSync(join(ROOT, 'test/fixtures/graph/docs/v1.0-participant-startholdmusic--example.jsonl'), 'utf8')
      .trimEnd()
      .split('\n');
    const odd = (value: unknown[]) =>
      JSON.stringify({ kind: 'notification', method: 'POST', path: '/api/calls', status: null, body: { value } });
    const call = '/communications/calls/e141b67c-90fd-455d-858b-b48a40b9cc8d';
    lines.splice(2, 0, odd([{ changeType: 'updated', resourceUrl: call, resourceData: { state: 42 } }]), odd([{ changeType: 'updated' }]));
    writeFileSync(file, `${lines.join('\n')}\n`);
    return file;
  }

  it('reports each one on stderr and goes on; --json lists them; the call still ends as the page says', async () => {
    const file = logWithOddOnes();
    const timeline = await run('replay', file);
    expect(timeline.code, timeline.stderr).toBe(0);
    expect(timeline.stderr).toContain(
      'record 3: quarantined (wrong-type) $.value[0].resourceData.state: state must be a string [call e141b67c-90fd-455d-858b-b48a40b9cc8d]',
    );
    expect(timeline.stderr).toContain(
      'record 4: quarantined (missing-field) $.value[0].resourceUrl: a notification needs resourceUrl or resource [names no call]',
    );
    expect(timeline.stderr).toContain('2 notifications quarantined (not applied); --strict stops at the first');
    expect(timeline.stdout).toMatch(
      /e141b67c-90fd-455d-858b-b48a40b9cc8d {2}pending; participants 0; operations startHoldMusicOperation:completed; quarantined 1/,
    );
    expect(timeline.stdout).toContain('(no call)  quarantined 1');

    const json = await run('replay', file, '--json');
    expect(json.code).toBe(0);
    const parsed = JSON.parse(json.stdout) as { calls: Record<string, { operations: { status: string }[] }>; quarantined: unknown[] };
    expect(Object.keys(parsed.calls)).toEqual(['e141b67c-90fd-455d-858b-b48a40b9cc8d']);
    expect(parsed.calls['e141b67c-90fd-455d-858b-b48a40b9cc8d']!.operations.map((o) => o.status)).toEqual(['completed']);
    expect(parsed.quarantined).toEqual([
      {
        record: 3,
        callId: 'e141b67c-90fd-455d-858b-b48a40b9cc8d',
        reason: 'wrong-type',
        path: '$.value[0].resourceData.state',
        message: '$.value[0].resourceData.state: state must be a string',
      },
      {
        record: 4,
        callId: null,
        reason: 'missing-field',
        path: '$.value[0].resourceUrl',
        message: '$.value[0].resourceUrl: a notification needs resourceUrl or resource',
      },
    ]);
    const mermaid = await run('replay', file, '--mermaid');
    expect(mermaid.stdout.split('stateDiagram-v2').length - 1).toBe(1); // no diagram for what names no call
  });

  it('--strict stops at the first, naming its record (exit 3)', async () => {
    const strict = await run('replay', logWithOddOnes(), '--strict');
    expect(strict.code).toBe(3);
    expect(strict.stderr).toContain('record 3 $.value[0].resourceData.state: state must be a string [SWB_DECODE]');
  });
});

describe('switchboard redecode', () => {
  it('folds in what an older version quarantined, once; a second run adds nothing', async () => {
    const { SqliteEventStore } = await import('@switchboard/adapters');
    const { QUARANTINE_STREAM, createEngine } = await import('@switchboard/core');
    const dir = mkdtempSync(join(tmpdir(), 'swb-redecode-'));
    const path = join(dir, 'calls.db');
    // as a version that could not read a resourceUrl without its leading slash stored it
    // (participant: stopHoldMusic page), beside one that no version reads
    const notification = JSON.parse(
      readFileSync(join(ROOT, 'test/fixtures/graph/docs/v1.0-participant-stopholdmusic--example.jsonl'), 'utf8').trimEnd().split('\n')[2]!,
    ).body.value[0];
    const store = new SqliteEventStore({ path, writer: 'inline' });
    await store.appendToStream(QUARANTINE_STREAM, [
      {
        kind: 'quarantined',
        id: 'q:old-1',
        callId: QUARANTINE_STREAM,
        at: 5,
        notification,
        index: 0,
        error: { code: 'SWB_DECODE', reason: 'invalid-value', path: '$.value[0].resourceUrl', message: 'not a call resource' },
      },
      {
        kind: 'quarantined',
        id: 'q:old-2',
        callId: QUARANTINE_STREAM,
        at: 6,
        notification: 'garbage',
        index: 0,
        error: { code: 'SWB_DECODE', reason: 'not-an-object', path: '$.value[0]', message: 'not an object' },
      },
    ]);
    await store.close();

    const first = await run('redecode', '--store', path);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain('2 quarantined notifications read: 1 appended to 1 call, 0 already there, 1 still not decodable');
    expect(first.stdout).toContain('  appended to e141b67c-90fd-455d-858b-b48a40b9cc8d');
    expect(first.stdout).toContain(
      '  still quarantined: q:old-2 (names no call): not-an-object at $.value[0]: $.value[0]: a notification must be an object',
    );
    const second = await run('redecode', '--store', path);
    expect(second.stdout).toContain('2 quarantined notifications read: 0 appended to 0 calls, 1 already there, 1 still not decodable');

    const reopened = new SqliteEventStore({ path, writer: 'inline' });
    const engine = createEngine({ store: reopened, clock: () => 0 });
    await engine.hydrate();
    expect(Object.values(engine.getCall('e141b67c-90fd-455d-858b-b48a40b9cc8d')!.operations).map((o) => o.status)).toEqual(['completed']);
    expect(await reopened.readStream('e141b67c-90fd-455d-858b-b48a40b9cc8d')).toHaveLength(1);
    await reopened.close();
  });

  it('exit codes: 2 for usage, 3 for a log that is not there', async () => {
    expect((await run('redecode')).code).toBe(2);
    expect((await run('redecode', '--store', '/tmp/x.db', '--schema', 's')).code).toBe(2);
    const missing = await run('redecode', '--store', '/nonexistent/calls.db');
    expect([missing.code, missing.stderr]).toEqual([3, 'switchboard redecode: cannot read /nonexistent/calls.db: ENOENT [SWB_CLI_INPUT]']);
    expect((await run('redecode', '--help')).code).toBe(0);
  });
});

describe('switchboard archive', () => {
  it('exit codes: 2 for usage (shards are PostgreSQL URLs only), 3 for a log that is not there', async () => {
    const args = ['--dir', '/tmp/never-written', '--older-than', '1'];
    expect((await run('archive', ...args)).code).toBe(2);
    expect((await run('archive', '--store', '/tmp/x.db', '--schema', 's', ...args)).code).toBe(2);
    const mixed = await run('archive', '--store', 'postgres://127.0.0.1/a', '--store', '/tmp/x.db', ...args);
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toContain('every one a postgres:// URL');
    const missing = await run('archive', '--store', '/nonexistent/calls.db', ...args);
    expect([missing.code, missing.stderr]).toEqual([3, 'switchboard archive: cannot read /nonexistent/calls.db: ENOENT [SWB_CLI_INPUT]']);
    expect((await run('archive', '--help')).stdout).toContain('given more than once');
  });
});

describe('switchboard simulate', () => {
  it('starts the simulator on a port, answers its token endpoint, and stops', async () => {
    const { simulateCommand } = await import('./commands/simulate.js');
    const lines: string[] = [];
    let release!: () => void;
    const until = new Promise<void>((r) => (release = r));
    const running = simulateCommand(
      ['--port', '0', '--seed', '3', '--faults', 'light'],
      { stdout: (t) => lines.push(t), stderr: (t) => lines.push(t) },
      until,
    );
    await expect.poll(() => lines.join('\n')).toContain('simulator listening on http://127.0.0.1:');
    const url = /listening on (\S+)/.exec(lines.join('\n'))![1]!;
    const token = await fetch(`${url}/00000000-0000-0000-0000-0000000000aa/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: '00000000-0000-0000-0000-00000000b07',
        client_secret: 'local-secret',
        scope: 'https://graph.microsoft.com/.default',
      }),
    });
    expect(token.status).toBe(200);
    expect(((await token.json()) as { access_token?: string }).access_token).toMatch(/^ey/);
    release();
    expect(await running).toBe(0);
    expect(lines.at(-1)).toBe('simulator stopped');
  });

  it('rejects bad options with exit code 2', async () => {
    expect((await run('simulate', '--faults', 'apocalyptic')).code).toBe(2);
    expect((await run('simulate', '--port', 'x')).code).toBe(2);
  });
});

describe('switchboard demo', () => {
  it('runs the demo bot from the checkout in a child process, to the end of its scenarios', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'swb-cli-demo-'));
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        '--import',
        'tsx',
        '--conditions=@switchboard/source',
        join(ROOT, 'packages/cli/src/bin.ts'),
        'demo',
        '--db',
        join(dir, 'demo.db'),
        '--time-scale',
        '0.1',
      ],
      { cwd: ROOT, timeout: 60_000 },
    );
    expect(stdout).toContain('switchboard demo: simulator http://127.0.0.1:');
    expect(stdout).toMatch(/guest +\w+ +Demo Bot admitted/);
    for (const scenario of ['caller', 'caller2', 'outbound', 'guest'])
      expect(stdout).toMatch(new RegExp(`^${scenario} +\\w+ +terminated$`, 'm'));
  }, 90_000);

  it('says how to get a checkout when there is no examples/demo-bot above', async () => {
    const { findDemo } = await import('./commands/demo.js');
    expect(findDemo([tmpdir()])).toBeUndefined();
    expect(findDemo([join(ROOT, 'packages', 'cli')])).toBe(join(ROOT, 'examples', 'demo-bot', 'demo.ts'));
  });
});
