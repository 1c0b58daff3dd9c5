import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Output } from '../output.js';

const DEMO_HELP = `Usage: switchboard demo [options]

Runs the demo bot (examples/demo-bot in a Switchboard checkout) against the local Graph
simulator and shows each call's state changing live: two incoming calls (DTMF menu, transfer),
an outbound call, a guest meeting join that waits in the lobby. The same as 'pnpm demo'.
Every option is the demo's own ('switchboard demo --help' from a checkout lists them):
--simulator <url>, --db <path>, --seed <n>, --faults none|light|heavy, --time-scale <x>,
--port <n>, --no-scenarios, --stay.

Exit codes: the demo's own (0 every call ended); 2 when run outside a checkout.`;

/** The checkout holding examples/demo-bot: from the working directory up, then from this file up. */
export function findDemo(from: readonly string[]): string | undefined {
  for (const start of from) {
    let dir = resolve(start);
    for (;;) {
      const candidate = join(dir, 'examples', 'demo-bot', 'demo.ts');
      if (existsSync(candidate)) return candidate;
      const parent = dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
  }
  return undefined;
}

/**
 * The demo bot is an example built on the packages' public API, not part of this package:
 * it runs from a checkout, in a child process with tsx (a development dependency there).
 */
export async function demoCommand(argv: readonly string[], out: Output): Promise<number> {
  const demo = findDemo([process.cwd(), dirname(new URL(import.meta.url).pathname)]);
  if (!demo) {
    if (argv.includes('--help') || argv.includes('-h')) {
      out.stdout(DEMO_HELP);
      return 0;
    }
    out.stderr(
      `switchboard demo: no examples/demo-bot here or above. The demo runs from a Switchboard checkout:\n  git clone <switchboard> && cd switchboard && npx -y pnpm@10 install && npx -y pnpm@10 demo\n\n${DEMO_HELP}`,
    );
    return 2;
  }
  const root = dirname(dirname(dirname(demo)));
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@switchboard/source', demo, ...argv], {
    cwd: root,
    stdio: 'inherit',
  });
  const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
  const onInt = forward('SIGINT');
  const onTerm = forward('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  try {
    return await new Promise<number>((done, fail) => {
      child.once('error', fail);
      child.once('exit', (code, signal) => done(code ?? (signal ? 1 : 0)));
    });
  } finally {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  }
}
