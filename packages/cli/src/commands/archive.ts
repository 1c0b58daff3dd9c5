import { parseArgs } from 'node:util';
import { archiveEndedCalls, DEFAULT_ARCHIVE_BATCH } from '@switchboard/runtime';
import { UsageError, type Output } from '../output.js';
import { openLog } from './log-store.js';

export const ARCHIVE_HELP = `Usage: switchboard archive --store <log> --dir <dir> --older-than <days> [options]

Moves the calls that ended more than <days> days ago out of a Switchboard log into exchange
logs, one file per day of their end (<dir>/YYYY-MM-DD.jsonl.gz), that 'switchboard replay' reads
as they are, then deletes them from the log. A batch at a time: each batch is written and
flushed to disk before its calls are deleted, in one short transaction, so a running bot's
appends go on. Safe to stop at any point (even kill -9) and to run again: a call is in the log
or in exactly one file, never lost and never twice. Calls still live are never touched.

Options:
  --store <log>        the log: a SQLite file (.switchboard/calls.db), or a PostgreSQL URL
                       (postgres://user@host:5432/db); given more than once, the PostgreSQL
                       databases a ShardedPgEventStore partitions calls across, in the bot's
                       order (each batch is then taken from one database)
  --schema <name>      the PostgreSQL schema (default switchboard)
  --dir <dir>          where the archive's files go (created if missing)
  --older-than <days>  archive the calls that ended more than this many days ago (0: every ended call)
  --batch <n>          calls per batch (default ${DEFAULT_ARCHIVE_BATCH})
  --no-gzip            write new day files as plain .jsonl
  -h, --help           show this help

Prints a line per batch ('archived N calls to FILE') and a summary. With SWB_ARCHIVE_TRACE=<ms>
in the environment it also prints each step of a batch ('step journaled|appended|deleted FILE')
and pauses that long after it (the crash tests stop the archive inside a step this way).

Exit codes: 0 done; 2 bad usage; 3 the log could not be opened, read or written.`;

export async function archiveCommand(argv: readonly string[], out: Output): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      store: { type: 'string', multiple: true },
      schema: { type: 'string' },
      dir: { type: 'string' },
      'older-than': { type: 'string' },
      batch: { type: 'string' },
      'no-gzip': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    out.stdout(ARCHIVE_HELP);
    return 0;
  }
  if (!values.store?.length) throw new UsageError('archive needs --store <log>', ARCHIVE_HELP);
  if (values.dir === undefined || values.dir.trim() === '') throw new UsageError('archive needs --dir <dir>', ARCHIVE_HELP);
  const days = Number(values['older-than']);
  if (values['older-than'] === undefined || !Number.isFinite(days) || days < 0) {
    throw new UsageError('archive needs --older-than <days>, a number >= 0', ARCHIVE_HELP);
  }
  const batch = values.batch === undefined ? DEFAULT_ARCHIVE_BATCH : Number(values.batch);
  if (!Number.isSafeInteger(batch) || batch < 1) throw new UsageError('--batch takes a whole number >= 1', ARCHIVE_HELP);
  const store = openLog(values.store, values.schema, 'archive', ARCHIVE_HELP);
  const trace = process.env['SWB_ARCHIVE_TRACE'];
  const pauseMs = trace === undefined ? undefined : Math.max(0, Number(trace) || 0);
  try {
    const result = await archiveEndedCalls(store, {
      ...(pauseMs !== undefined
        ? {
            onStep: async (step: string, file: string) => {
              out.stdout(`step ${step} ${file}`);
              await new Promise((resolve) => setTimeout(resolve, pauseMs));
            },
          }
        : {}),
      dir: values.dir,
      olderThanDays: days,
      now: Date.now(),
      batchSize: batch,
      gzip: !values['no-gzip'],
      onRecovered: (outcome) => out.stdout(`an earlier run stopped mid-batch: its batch was ${outcome}`),
      onBatch: ({ file, calls }) => out.stdout(`archived ${calls} call${calls === 1 ? '' : 's'} to ${file}`),
    });
    out.stdout(
      `${result.archived} call${result.archived === 1 ? '' : 's'} archived${result.files.length > 0 ? ` in ${result.files.join(', ')}` : ''}`,
    );
    return 0;
  } finally {
    await store.close?.();
  }
}
