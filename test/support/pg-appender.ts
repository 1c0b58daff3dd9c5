/**
 * A child process for the group-commit crash test: many writers appending at once to a
 * PgEventStore (so appends go in shared groups), each printing a line for every append whose
 * promise resolved, until the test kills it.
 *
 * Usage: pg-appender.ts <connection string> <schema> <tag> <writers>
 * Prints `ready`, then `ack <stream> <version> <id> <id>` per resolved append (two entries
 * each, at the expected version the writer holds). Writes to a pipe are synchronous on Linux,
 * so a line printed is a line the parent gets, even when SIGKILL follows at once.
 */
import type { LogEntry } from '@switchboard/core';
import { PgEventStore } from '@switchboard/adapters';

const [connectionString, schema, tag, writers = '48'] = process.argv.slice(2);
if (!connectionString || !schema || !tag) throw new Error('usage: pg-appender.ts <connection string> <schema> <tag> [writers]');

const store = new PgEventStore({ connectionString, schema });
await store.migrate();
process.stdout.write('ready\n');

const entry = (callId: string, id: string): LogEntry => ({ id, callId, at: 1, kind: 'timer', timer: 'keepAliveDue' });

async function writer(w: number): Promise<never> {
  for (let call = 0; ; call++) {
    const stream = `${tag}-w${w}-c${call}`;
    for (let version = 0; version < 20; version += 2) {
      const ids = [`${stream}-${version}a`, `${stream}-${version}b`];
      const result = await store.appendToStream(
        stream,
        ids.map((id) => entry(stream, id)),
        { expectedVersion: version },
      );
      process.stdout.write(`ack ${stream} ${result.version} ${ids.join(' ')}\n`);
    }
  }
}

await Promise.all(Array.from({ length: Number(writers) }, (_, w) => writer(w)));
