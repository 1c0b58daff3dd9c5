// tier: e2e (child processes)
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createSimulator, type RemoteScript, type Script, type Simulator } from '@switchboard/simulator';
import { releaseAll } from './support/cleanup.js';
import { freePort, until } from './support/net.js';

/**
 * The IVR bot (examples/ivr-bot, public API only) as a child process against the simulator
 * over loopback HTTP: four callers, each pressing a key (or none) while the menu plays. The
 * caller who presses 0 is transferred to the operator; one whose transfer the target refuses
 * hears that the operator is busy; the others hear a goodbye and the bot hangs up. Each call
 * ends where the simulator says, with the requests the menu implies.
 */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const APP = {
  appId: '00000000-0000-0000-0000-00000000b07',
  tenantId: '00000000-0000-0000-0000-0000000000aa',
  clientSecret: 'local-secret',
};
const SCALE = 0.1;

let owned: Array<() => unknown> = [];
afterEach(async () => {
  const releases = owned.reverse();
  owned = [];
  await releaseAll(releases);
});

describe('the IVR bot against the simulator', () => {
  it('transfers on 0, says goodbye on another key or none, and survives a refused transfer', async () => {
    const port = await freePort();
    const sim: Simulator = createSimulator({
      apps: [{ ...APP, callbackUri: `http://127.0.0.1:${port}/api/calls` }],
      seed: 19,
      timeScale: SCALE,
      // a loaded machine may take a while to start the bot's first answer
      timings: { incomingAnswerMs: 600_000 },
    });
    owned.push(() => sim.stop());
    const { url } = await sim.start();

    const dir = mkdtempSync(join(tmpdir(), 'swb-ivr-'));
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--conditions=@switchboard/source',
        join(ROOT, 'examples/ivr-bot/main.ts'),
        '--simulator',
        url,
        '--port',
        String(port),
        '--db',
        join(dir, 'ivr.db'),
        '--menu-timeout-ms',
        '4000',
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    owned.push(async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    await until(() => output.includes('ivr bot: listening'), 'the bot to listen', 60_000);

    const caller = (extra: Pick<RemoteScript, 'onTransfer'> = {}): Script => ({
      steps: [
        { do: 'waitFor', state: 'established' },
        { do: 'hangUp', after: 600_000 },
      ],
      ...extra,
    });
    const place = (from: string, script: Script) => sim.placeIncomingCall({ appId: APP.appId, from, script }).callId;
    const transferred = place('+14255550190', caller());
    const goodbye = place('+14255550191', caller());
    const silent = place('+14255550192', caller());
    const refused = place('+14255550193', caller({ onTransfer: { fail: 7700 } }));
    const ids = [transferred, goodbye, silent, refused];

    // (a request's template starts with its method: `POST /calls/{id}/answer`)
    const count = (id: string, template: string) =>
      sim.requests().filter((r) => r.callId === id && r.template === template && r.status < 400).length;
    // each caller presses a key once the bot has subscribed to tones (Graph notifies none before)
    for (const [id, digits] of [
      [transferred, '0'],
      [goodbye, '9'],
      [refused, '0'],
    ] as const) {
      await until(() => count(id, 'POST /calls/{id}/subscribeToTone') === 1, `the bot to subscribe ${id} to tones`, 30_000);
      const pressed = sim.act(id, { do: 'dtmf', digits });
      expect(pressed.applied).toBe(true);
    }
    for (const id of ids) await sim.waitForState(id, 'terminated', { timeoutMs: 60_000 });
    await until(() => output.match(/^call /gm)?.length === 4, 'a line per call', 10_000);

    const truth = (id: string) => sim.groundTruth(id)!;
    expect(truth(transferred).stateHistory).toContain('transferAccepted');
    expect(truth(transferred).resultInfo).toMatchObject({ subcode: 7015 });
    expect(truth(refused).stateHistory).toEqual(expect.arrayContaining(['transferring', 'established', 'terminated']));
    for (const id of [goodbye, silent, refused]) {
      expect(truth(id).stateHistory, id).not.toContain('transferAccepted');
      expect(count(id, 'DELETE /calls/{id}'), id).toBe(1);
    }
    for (const id of ids) {
      expect(count(id, 'POST /calls/{id}/answer'), id).toBe(1);
      expect(count(id, 'POST /calls/{id}/subscribeToTone'), id).toBe(1);
      expect(count(id, 'POST /calls/{id}/transfer'), id).toBe(id === transferred || id === refused ? 1 : 0);
    }
    const outcomes = output
      .match(/^call \S+: .+$/gm)!
      .map((line) => line.replace(/^call \S+: /, ''))
      .sort();
    expect(outcomes).toEqual(['goodbye', 'goodbye', 'transfer failed', 'transferred']);

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 120_000);
});
