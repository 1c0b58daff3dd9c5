import { SwitchboardError } from '@switchboard/core';
import { archiveCommand } from './commands/archive.js';
import { demoCommand } from './commands/demo.js';
import { inspectCommand } from './commands/inspect.js';
import { redecodeCommand } from './commands/redecode.js';
import { replayCommand } from './commands/replay.js';
import { simulateCommand } from './commands/simulate.js';
import { UsageError, type Output } from './output.js';

export const HELP = `Usage: switchboard <command> [options]

Commands:
  replay <log.jsonl>      replay a recorded exchange log: the timeline, or --json, --mermaid, --html <out.html>
  redecode --store <log>  decode quarantined notifications again (after an upgrade) and fold them in
  archive --store <log>   move calls that ended more than N days ago into day files replay reads
  simulate                run the local Graph calls simulator (calls API, tokens, signed webhooks)
  demo                    run the demo bot against the simulator (from a checkout; same as pnpm demo)
  inspect --store <log>   a live web console of every call in a log (sqlite:<path> or postgres://...)

Run 'switchboard <command> --help' for a command's options.`;

const COMMANDS: Record<string, (argv: readonly string[], out: Output) => Promise<number>> = {
  replay: replayCommand,
  redecode: redecodeCommand,
  archive: archiveCommand,
  simulate: (argv, out) => simulateCommand(argv, out),
  demo: demoCommand,
  inspect: (argv, out) => inspectCommand(argv, out),
};

/** Runs the CLI and resolves to its exit code; never exits the process itself. */
export async function main(argv: readonly string[], out: Output): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    out.stdout(HELP);
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    out.stderr(`switchboard: unknown command '${name}'\n\n${HELP}`);
    return 2;
  }
  try {
    return await command(rest, out);
  } catch (error) {
    if (error instanceof UsageError) {
      out.stderr(`switchboard ${name}: ${error.message}\n\n${error.help}`);
      return 2;
    }
    if (error instanceof SwitchboardError) {
      out.stderr(`switchboard ${name}: ${error.message} [${error.code}]`);
      return 3;
    }
    if (error instanceof TypeError && 'code' in error && String((error as { code: unknown }).code).startsWith('ERR_PARSE_ARGS')) {
      out.stderr(`switchboard ${name}: ${error.message}`);
      return 2;
    }
    throw error;
  }
}
