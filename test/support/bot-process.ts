import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The demo bot (examples/demo-bot) as a real child process. */
export interface BotProcess {
  readonly child: ChildProcess;
  /** Everything it printed so far. */
  readonly output: string[];
  /** Resolves when it printed its start line (its webhook listens, its calls are restored). */
  readonly ready: Promise<void>;
  /** Resolves with its exit code (null when a signal ended it). */
  readonly exited: Promise<number | null>;
}

/** Starts the demo bot against a running simulator, serving only (no scenarios), until signalled. */
export function startBotProcess(simulatorUrl: string, port: number, args: readonly string[]): BotProcess {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--conditions=@switchboard/source',
      join(ROOT, 'examples/demo-bot/demo.ts'),
      '--simulator',
      simulatorUrl,
      '--port',
      String(port),
      '--no-scenarios',
      '--stay',
      ...args,
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const output: string[] = [];
  let started!: () => void;
  const ready = new Promise<void>((resolve) => (started = resolve));
  const onData = (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    output.push(text);
    if (text.includes('switchboard demo:')) started();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output, ready, exited };
}
