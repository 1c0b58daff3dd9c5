/**
 * The SQLite store's writer thread: owns the write connection and commits what the store
 * posts. The store posts each tick's writes as one group as soon as the tick ends; the thread
 * commits every group waiting when it starts a commit together (one immediate transaction, one
 * flush), so while one commit runs the next one's groups pile up in the port's queue (group
 * commit without a round trip through the store's event loop). Outcomes come back in commit
 * order, each saying how many groups it answers.
 *
 * Messages in: a `WriteGroup` array, or `'close'` (commit what came before it, close the
 * connection, end the thread). Messages out: `{ ready: SqliteSettings }` once the connection
 * is open, then one `CommitOutcome` per commit. A failure to open is thrown, which the store
 * sees as the thread's `error` event.
 */
import { createRequire } from 'node:module';
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import type BetterSqlite3 from 'better-sqlite3';
import { configureConnection, GroupWriter, type ConnectionOptions, type WriteGroup } from './writer.js';

/** What the store hands the thread at start. */
export interface WriterThreadData extends ConnectionOptions {
  /** The database file (absolute; never `:memory:`, which one connection cannot share). */
  readonly path: string;
  /** better-sqlite3's entry point, as the store resolved it. */
  readonly driverPath: string;
}

type Message = WriteGroup | 'close';

const data = workerData as WriterThreadData;
const port = parentPort!;
const loaded = createRequire(data.driverPath)(data.driverPath) as { default?: unknown };
const Driver = (loaded.default ?? loaded) as typeof BetterSqlite3;
const db = new Driver(data.path, { timeout: data.busyTimeoutMs });
const settings = configureConnection(db, data.path, data);
const writer = new GroupWriter(db);
port.postMessage({ ready: settings });

port.on('message', (first: Message) => {
  const groups: WriteGroup[] = [];
  let closing = first === 'close';
  if (!closing) groups.push(first as WriteGroup);
  // everything that arrived during the last commit goes into this one
  while (!closing) {
    const next = receiveMessageOnPort(port) as { message: Message } | undefined;
    if (next === undefined) break;
    if (next.message === 'close') closing = true;
    else groups.push(next.message);
  }
  if (groups.length > 0) port.postMessage(writer.commit(groups));
  if (closing) {
    writer.close();
    port.close(); // nothing else keeps the thread alive: it ends
  }
});
