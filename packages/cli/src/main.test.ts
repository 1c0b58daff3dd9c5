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
    expect(json.calls['6f1f5c00-8c1b-47f1-be9d-660c501041a9']).toMatchObject({ state: 'terminated', operations: [{ status: 'completed' }] });
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

  it('--shuffle is causal: it never moves the bot\'s own commands, so a failed transfer stays failed', async () => {
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
        const copy = text.replace(/"displayName":\s*"([^"]*)"/g, '"displayName":"$1 Zoë 🎧"').replace(/([0-9a-f]{8})-([0-9a-f]{4})-/g, (_, a: string, b: string) => `${a}-${(lap % 65536).toString(16).padStart(4, '0')}-`);
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
      promisify(execFile)(process.execPath, ['--import', 'tsx', '--conditions=@switchboard/source', join(ROOT, 'packages/cli/src/bin.ts'), 'replay', '/nonexistent'], { cwd: ROOT }),
    ).rejects.toMatchObject({ code: 3 });
  });
});

describe('switchboard simulate', () => {
  it('starts the simulator on a port, answers its token endpoint, and stops', async () => {
    const { simulateCommand } = await import('./commands/simulate.js');
    const lines: string[] = [];
    let release!: () => void;
    const until = new Promise<void>((r) => (release = r));
    const running = simulateCommand(['--port', '0', '--seed', '3', '--faults', 'light'], { stdout: (t) => lines.push(t), stderr: (t) => lines.push(t) }, until);
    await expect.poll(() => lines.join('\n'), { timeout: 5000 }).toContain('simulator listening on http://127.0.0.1:');
    const url = /listening on (\S+)/.exec(lines.join('\n'))![1]!;
    const token = await fetch(`${url}/00000000-0000-0000-0000-0000000000aa/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: '00000000-0000-0000-0000-00000000b07', client_secret: 'local-secret', scope: 'https://graph.microsoft.com/.default' }),
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
      ['--import', 'tsx', '--conditions=@switchboard/source', join(ROOT, 'packages/cli/src/bin.ts'), 'demo', '--db', join(dir, 'demo.db'), '--time-scale', '0.1'],
      { cwd: ROOT, timeout: 60_000 },
    );
    expect(stdout).toContain('switchboard demo: simulator http://127.0.0.1:');
    expect(stdout).toMatch(/guest +\w+ +Demo Bot admitted/);
    for (const scenario of ['caller', 'caller2', 'outbound', 'guest']) expect(stdout).toMatch(new RegExp(`^${scenario} +\\w+ +terminated$`, 'm'));
  }, 90_000);

  it('says how to get a checkout when there is no examples/demo-bot above', async () => {
    const { findDemo } = await import('./commands/demo.js');
    expect(findDemo([tmpdir()])).toBeUndefined();
    expect(findDemo([join(ROOT, 'packages', 'cli')])).toBe(join(ROOT, 'examples', 'demo-bot', 'demo.ts'));
  });
});
