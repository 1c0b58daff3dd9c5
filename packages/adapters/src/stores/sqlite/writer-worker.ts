/**
 * The SQLite store's writer thread: owns the write connection and commits each group the
 * store posts, in one immediate transaction (one flush), answering with its outcome. The
 * store keeps one group in flight and gathers the next meanwhile, so outcomes answer groups
 * in order.
 *
 * Messages in: a `WriteGroup` array, or `'close'` (close the connection and end the thread;
 * the store sends it once nothing is in flight). Messages out: `{ ready: SqliteSettings }`
 * once the connection is open, then one `GroupOutcome` per group. A failure to open is
 * thrown, which the store sees as the thread's `error` event. Each commit runs inside the
 * shared gate (`GATE_*` in writer.ts), so an exiting process can wait for it to end.
 */
import { createRequire } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';
import type BetterSqlite3 from 'better-sqlite3';
import { keep } from './keep.js';
import { configureConnection, GATE_COMMITTING, GATE_IDLE, GroupWriter, type ConnectionOptions, type WriteGroup } from './writer.js';

/** What the store hands the thread at start. */
export interface WriterThreadData extends ConnectionOptions {
  /** The database file (absolute; never `:memory:`, which one connection cannot share). */
  readonly path: string;
  /** better-sqlite3's entry point, as the store resolved it. */
  readonly driverPath: string;
  /** The commit gate (`GATE_*`), shared with the store. */
  readonly gate: SharedArrayBuffer;
}

const data = workerData as WriterThreadData;
const port = parentPort!;
const loaded = createRequire(data.driverPath)(data.driverPath) as { default?: unknown };
const Driver = (loaded.default ?? loaded) as typeof BetterSqlite3;
const db = keep(new Driver(data.path, { timeout: data.busyTimeoutMs }));
const settings = configureConnection(db, data.path, data);
const writer = new GroupWriter(db);
const gate = new Int32Array(data.gate);
port.postMessage({ ready: settings });

port.on('message', (message: WriteGroup | 'close') => {
  if (message === 'close') {
    writer.close();
    port.close(); // nothing else keeps the thread alive: it ends
    return;
  }
  // the process is exiting (the gate is closed): start nothing, answer nothing
  if (Atomics.compareExchange(gate, 0, GATE_IDLE, GATE_COMMITTING) !== GATE_IDLE) return;
  let outcome;
  try {
    outcome = writer.commit(message);
  } finally {
    Atomics.store(gate, 0, GATE_IDLE);
    Atomics.notify(gate, 0);
  }
  port.postMessage(outcome);
});
