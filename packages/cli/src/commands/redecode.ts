import { parseArgs } from 'node:util';
import { createEngine, QUARANTINE_STREAM } from '@switchboard/core';
import type { Output } from '../output.js';
import { openLog } from './log-store.js';

export const REDECODE_HELP = `Usage: switchboard redecode --store <log> [options]

Decodes every quarantined notification in a Switchboard log again, with this version's rules,
and appends each one that decodes now to its call, where the engine folds it as a late delivery.
Run it after an upgrade that reads shapes an earlier version quarantined. Running it twice adds
nothing the second time. The quarantined entries stay in the log (it is append-only).

Options:
  --store <log>        the log: a SQLite file (.switchboard/calls.db), or a PostgreSQL URL
                       (postgres://user@host:5432/db)
  --schema <name>      the PostgreSQL schema (default switchboard)
  --call <id>          only this call's stream (repeat for several; '${QUARANTINE_STREAM}' is the
                       stream of notifications that name no call); default: every stream
  -h, --help           show this help

A running bot on PostgreSQL hears the appends and folds them; with SQLite, stop the bot first
(or call switchboard.engine.redecode() inside it), or it sees them only after a restart.

Prints what it did: notifications read, appended to their calls, already there, and each one that
still does not decode (its call, JSON path and reason).

Exit codes: 0 done (whether or not some still do not decode); 2 bad usage; 3 the log could not be
opened or read.`;

export async function redecodeCommand(argv: readonly string[], out: Output): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      store: { type: 'string' },
      schema: { type: 'string' },
      call: { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    out.stdout(REDECODE_HELP);
    return 0;
  }
  const store = openLog(values.store === undefined ? [] : [values.store], values.schema, 'redecode', REDECODE_HELP);
  try {
    const engine = createEngine({ store, clock: Date.now, snapshotEvery: 0 });
    const result = await engine.redecode(values.call !== undefined ? { callIds: values.call } : {});
    out.stdout(
      `${result.examined} quarantined notification${result.examined === 1 ? '' : 's'} read: ` +
        `${result.redecoded} appended to ${result.callIds.length} call${result.callIds.length === 1 ? '' : 's'}, ` +
        `${result.alreadyApplied} already there, ${result.stillUndecodable.length} still not decodable`,
    );
    for (const callId of result.callIds) out.stdout(`  appended to ${callId}`);
    for (const { entry, error } of result.stillUndecodable) {
      const where = entry.callId === QUARANTINE_STREAM ? 'names no call' : `call ${entry.callId}`;
      out.stdout(`  still quarantined: ${entry.id} (${where}): ${error.reason} at ${error.path}: ${error.message}`);
    }
    return 0;
  } finally {
    await store.close?.();
  }
}
