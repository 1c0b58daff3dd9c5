/**
 * The embedded default store: one SQLite file, written through better-sqlite3 in WAL mode.
 * Commits run on a worker thread that owns the write connection; reads run on the calling
 * thread's own connection. One process writes at a time (other processes wait up to
 * `busyTimeoutMs`); for several bot instances on several machines use the PostgreSQL store.
 */
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import {
  endedAtOf,
  ExpectedVersionConflictError,
  SwitchboardError,
  type AppendOptions,
  type AppendResult,
  type CallSnapshot,
  type EventStore,
  type LogEntry,
  type ReadOptions,
  type StoredEntry,
  type StoreReadiness,
} from '@switchboard/core';
import type BetterSqlite3 from 'better-sqlite3';
import {
  checkExpectedVersion,
  decodeEntry,
  encodeEntries,
  encodeSnapshot,
  readAfter,
  storeClosedError,
  type EndedStream,
} from '../shared.js';
import { loadSqliteDriver, type SqliteDriver } from './driver.js';
import { keep, pragmaValue, setPragma } from './keep.js';
import { SQLITE_LIVE_INDEX_VERSION, SQLITE_MIGRATIONS, SQLITE_SCHEMA_VERSION } from './schema.js';
import { backfillEndedAt } from './live-index.js';
import type { WriterThreadData } from './writer-worker.js';
import {
  configureConnection,
  GATE_COMMITTING,
  GATE_EXITING,
  GATE_IDLE,
  GroupWriter,
  OP_APPEND,
  OP_SNAPSHOT,
  type GroupOutcome,
  type SqliteSettings,
  type WriteGroup,
  type WriterFailure,
} from './writer.js';

export type { SqliteSettings } from './writer.js';

/** Where the SQLite store writes when no path is given, relative to the working directory. */
export const DEFAULT_SQLITE_PATH = '.switchboard/calls.db';

export interface SqliteEventStoreOptions {
  /**
   * The database file. Default `.switchboard/calls.db` in the working directory; missing
   * directories are created. `:memory:` gives a throwaway database (tests).
   */
  readonly path?: string;
  /**
   * SQLite's `synchronous` pragma. `full` (the default) fsyncs the WAL on every commit, so
   * an append that resolved survives a power cut: the webhook answers 202 only after the
   * append, and Graph does not redeliver what got a 202. `normal` fsyncs only at WAL
   * checkpoints: still safe against a process crash, but a power cut or OS crash may lose
   * the last appends, which were already acknowledged. Faster; choose it knowingly.
   */
  readonly synchronous?: 'full' | 'normal';
  /** How long a write waits for another process's write lock before failing. Default 5,000 ms. */
  readonly busyTimeoutMs?: number;
  /**
   * Where commits run. `worker` (the default for a file): a worker thread owns the write
   * connection, so the event loop keeps serving while a group of appends is written and
   * flushed. `inline`: on the calling thread, one synchronous commit per tick; the only
   * choice for `:memory:`, whose database a second connection cannot see (and the default
   * there). With a writer thread, `process.exit()` during a commit waits for that commit to
   * end (at most `busyTimeoutMs` and 10 s more) and starts no other: a thread stopped inside
   * a failing commit would abort the process.
   */
  readonly writer?: 'worker' | 'inline';
  /**
   * The better-sqlite3 constructor, when the caller loaded it; by default it is required on
   * demand. It opens the calling thread's connection; the writer thread loads better-sqlite3
   * itself, resolved from this package.
   */
  readonly driver?: SqliteDriver;
  /**
   * Open an existing log for reading only (an inspector, a report): the file is opened
   * read-only, nothing is migrated and no writer thread starts; appends and snapshot writes
   * throw `SWB_STORE_READ_ONLY`. The file must exist at this schema version (the bot's own
   * store migrates it when it opens it). Default false.
   */
  readonly readOnly?: boolean;
}

/** What `appendedSince` found: the streams appended to, with their versions, and where to look from next time. */
export interface AppendedSince {
  /** Pass this to the next call. Opaque: a position in the file's entries, not a stream version. */
  readonly cursor: number;
  /** Each stream with entries past the cursor, once, with its version then; in no promised order. */
  readonly streams: ReadonlyArray<{ readonly streamId: string; readonly version: number }>;
}

interface EntryRow {
  readonly position: number;
  readonly body: string;
}

interface SnapshotRow {
  readonly body: string;
}

interface AppendedRow {
  readonly streamId: string;
  readonly version: number;
  readonly last: number;
}

/** A write waiting for its group's commit. */
interface PendingWrite {
  readonly streamId: string;
  /** The batch of an append; `undefined` for a snapshot write. */
  readonly entries: readonly LogEntry[] | undefined;
  readonly expectedVersion: number | undefined;
  readonly resolve: (result: AppendResult) => void;
  readonly reject: (error: unknown) => void;
}

const requireFromHere = createRequire(import.meta.url);
/** The store's writer thread for each store that has one; read by `sqliteWriterThread` (tests). */
const writerThreads = new WeakMap<SqliteEventStore, Worker>();

/**
 * An `EventStore` in one SQLite file (WAL, `synchronous = FULL` by default, a busy timeout).
 *
 * Writes (appends and snapshots) commit in groups: those asked for while no commit is running
 * go together at the end of the tick, those asked for while one runs form the next group, and
 * each group is one immediate transaction with one disk flush. Each write runs in its own
 * savepoint: the version check, the dedup and the inserts see and write one consistent stream
 * even when another process shares the file, and each write succeeds or fails on its own.
 * Each promise resolves only once its group is committed.
 *
 * For a file, the commits run on a worker thread that owns the write connection (`writer:
 * 'worker'`), so the event loop keeps serving (answering webhooks) while SQLite writes and
 * fsyncs; the entries are serialised to JSON on the calling thread and cross as strings.
 * Reads run synchronously on the calling thread's own connection, and see every write whose
 * promise resolved (WAL). The thread holds the process open only while a commit is running.
 * With `writer: 'inline'` (and always for `:memory:`) the commit runs on the calling thread.
 *
 * It does not notify other processes of appends and has no ownership lease: one process per
 * file is the intended use.
 */
export class SqliteEventStore implements EventStore, StoreReadiness {
  /** The absolute path of the database file (or `:memory:`). */
  readonly path: string;
  /** The pragmas in force, read back from SQLite (the writer thread's connection checks it has the same). */
  readonly settings: SqliteSettings;
  /** The calling thread's connection: migrations and reads, and the writes when `writer` is `inline`. */
  readonly #db: BetterSqlite3.Database;
  readonly #stmt: ReturnType<typeof prepareReads>;
  /** Commits on this thread (`inline`), or ... */
  readonly #inline: GroupWriter | undefined;
  /** ... on this worker thread. */
  readonly #worker: Worker | undefined;
  /** Settles once the writer thread has exited. */
  readonly #workerExited: Promise<void>;
  /** Resolves once the writer thread has opened the file (at once inline); rejects if it failed first. */
  #ready: Promise<void> = Promise.resolve();
  #readyNow: (() => void) | undefined;
  #readyFailed: ((error: unknown) => void) | undefined;
  /** The next group, filling up: its writes flattened, and their promises. */
  #group: WriteGroup = [];
  #pending: PendingWrite[] = [];
  /** The group the writer thread is committing (one at a time). */
  #inFlight: PendingWrite[] | undefined;
  #flushScheduled = false;
  /** `close()` waiting for the groups asked for to commit. */
  #idleWaiters: (() => void)[] = [];
  #closing: Promise<void> | undefined;
  /** Set when `close()` stops the writer thread: its exit is then expected. */
  #stopping = false;
  /** Set when the writer thread died: every later write fails with it. */
  #writerFailure: SwitchboardError | undefined;
  /** Set for a store opened with `readOnly`: every write fails with it. */
  readonly #readOnly: SwitchboardError | undefined;

  constructor(options: SqliteEventStoreOptions = {}) {
    const Driver = options.driver ?? loadSqliteDriver();
    const synchronous = options.synchronous ?? 'full';
    if (synchronous !== 'full' && synchronous !== 'normal') {
      throw new SwitchboardError('SWB_INVALID_ARGUMENT', `synchronous must be 'full' or 'normal', got ${String(synchronous)}`);
    }
    const busyTimeoutMs = options.busyTimeoutMs ?? 5_000;
    if (!Number.isSafeInteger(busyTimeoutMs) || busyTimeoutMs < 0) {
      throw new SwitchboardError('SWB_INVALID_ARGUMENT', `busyTimeoutMs must be a whole number >= 0, got ${String(busyTimeoutMs)}`);
    }
    const path = options.path ?? DEFAULT_SQLITE_PATH;
    this.path = path === ':memory:' ? path : resolve(path);
    if (options.readOnly === true) {
      this.#readOnly = new SwitchboardError('SWB_STORE_READ_ONLY', `the SQLite event store at ${this.path} was opened read-only`);
      this.#db = openReadOnly(Driver, this.path, busyTimeoutMs);
      try {
        this.settings = readSettings(this.#db, busyTimeoutMs);
        this.#stmt = prepareReads(this.#db);
      } catch (error) {
        this.#db.close();
        if (error instanceof SwitchboardError) throw error;
        throw new SwitchboardError('SWB_STORE_FAILED', `cannot read the SQLite event store at ${this.path}`, { cause: error });
      }
      this.#inline = undefined;
      this.#worker = undefined;
      this.#workerExited = Promise.resolve();
      return;
    }
    this.#readOnly = undefined;
    const writer = options.writer ?? (this.path === ':memory:' ? 'inline' : 'worker');
    if (writer !== 'worker' && writer !== 'inline') {
      throw new SwitchboardError('SWB_INVALID_ARGUMENT', `writer must be 'worker' or 'inline', got ${String(writer)}`);
    }
    if (writer === 'worker' && this.path === ':memory:') {
      throw new SwitchboardError(
        'SWB_INVALID_ARGUMENT',
        "a :memory: database cannot have a writer thread (a second connection would open another, empty database): use writer: 'inline'",
      );
    }

    try {
      if (this.path !== ':memory:') mkdirSync(dirname(this.path), { recursive: true });
      this.#db = keep(new Driver(this.path, { timeout: busyTimeoutMs }));
    } catch (error) {
      throw new SwitchboardError('SWB_STORE_UNAVAILABLE', `cannot open the SQLite event store at ${this.path}`, { cause: error });
    }
    try {
      this.settings = configureConnection(this.#db, this.path, { synchronous, busyTimeoutMs });
      // before the writer thread opens its connection: it only ever sees the current schema
      migrate(this.#db);
      this.#stmt = prepareReads(this.#db);
      this.#inline = writer === 'inline' ? new GroupWriter(this.#db) : undefined;
    } catch (error) {
      this.#db.close();
      if (error instanceof SwitchboardError) throw error;
      throw new SwitchboardError('SWB_STORE_FAILED', `cannot prepare the SQLite event store at ${this.path}`, { cause: error });
    }
    if (writer === 'inline') {
      this.#workerExited = Promise.resolve();
      return;
    }
    let worker: Worker;
    let gate: Int32Array;
    try {
      gate = new Int32Array(new SharedArrayBuffer(4));
      worker = startWriterThread({
        path: this.path,
        synchronous,
        busyTimeoutMs,
        driverPath: resolveDriverPath(),
        gate: gate.buffer as SharedArrayBuffer,
      });
    } catch (error) {
      this.#db.close();
      if (error instanceof SwitchboardError) throw error;
      throw new SwitchboardError('SWB_STORE_FAILED', `cannot start the writer thread of the SQLite event store at ${this.path}`, {
        cause: error,
      });
    }
    this.#worker = worker;
    this.#ready = new Promise<void>((resolve, reject) => {
      this.#readyNow = resolve;
      this.#readyFailed = reject;
    });
    this.#ready.catch(() => undefined); // the failure is also every write's
    writerThreads.set(this, worker);
    worker.unref(); // an idle store does not keep the process alive
    worker.on('message', (message: GroupOutcome | { readonly ready: SqliteSettings }) => this.#onWriterMessage(message));
    worker.on('error', (error: unknown) => this.#writerFailed(`failed (${(error as Error | null)?.message ?? String(error)})`, error));
    // If the process exits while a commit runs, exit waits for it (at most the busy timeout and
    // 10 s more): see closeGateForExit.
    const exitGate = { gate, maxWaitMs: busyTimeoutMs + 10_000 };
    openGates.add(exitGate);
    if (openGates.size === 1) process.on('exit', closeGatesForExit);
    this.#workerExited = new Promise((resolve) =>
      worker.once('exit', (code) => {
        openGates.delete(exitGate);
        if (openGates.size === 0) process.off('exit', closeGatesForExit);
        if (!this.#stopping) this.#writerFailed(`exited unexpectedly (exit code ${code})`, undefined);
        resolve();
      }),
    );
  }

  /**
   * Resolves once the store takes writes without waiting: its writer thread has started and
   * opened the file (starting a thread, from TypeScript source under load especially, can take
   * a second, which the first append would otherwise wait for). At once with `writer:
   * 'inline'`; rejects when the thread failed first. The runtime's `start()` waits for it.
   */
  ready(): Promise<void> {
    return this.#ready;
  }

  /** Reads a stream in position order, optionally only after a position. An unknown stream reads as empty. */
  async readStream(streamId: string, options?: ReadOptions): Promise<readonly StoredEntry[]> {
    this.#assertOpen();
    const after = readAfter(options);
    if (after === null) return [];
    const rows = this.#guard('read', () => this.#stmt.read.all(streamId, after) as EntryRow[]);
    return rows.map((row) => decodeEntry(row.body, row.position));
  }

  /**
   * Appends in the next group commit: checks `expectedVersion` (throwing
   * `ExpectedVersionConflictError` and writing nothing when the stream moved), drops entries
   * whose id the stream holds, then writes the rest at the next dense positions. The entries
   * are serialised now; a change to them after the call is not stored.
   */
  async appendToStream(streamId: string, entries: readonly LogEntry[], options?: AppendOptions): Promise<AppendResult> {
    this.#assertWritable();
    const expectedVersion = options?.expectedVersion;
    checkExpectedVersion(streamId, expectedVersion);
    const encoded = encodeEntries(streamId, entries);
    return new Promise<AppendResult>((resolve, reject) => {
      const group = this.#group;
      group.push(OP_APPEND, streamId, expectedVersion ?? -1, endedAtOf(entries) ?? '', encoded.length);
      for (const row of encoded) group.push(row.id, row.kind, row.at, row.body);
      this.#pending.push({ streamId, entries, expectedVersion, resolve, reject });
      this.#schedule();
    });
  }

  /** Every stream holding at least one entry, in the order they were first written. */
  async listStreams(): Promise<readonly string[]> {
    this.#assertOpen();
    return this.#guard('list', () => this.#stmt.list.all() as string[]);
  }

  /**
   * The live streams: not ended, or ended at or after `endedSince` (ms, the `at` of the entry
   * that ended the call), by the live index kept with each append; not the log.
   */
  async listLiveStreams(endedSince: number): Promise<readonly string[]> {
    this.#assertOpen();
    return this.#guard('list', () => [
      ...(this.#stmt.listNotEnded.all() as string[]),
      ...(this.#stmt.listEndedSince.all(endedSince) as string[]),
    ]);
  }

  /**
   * The streams whose call ended before `cutoff` (ms), earliest end first, at most `limit`:
   * what the archive moves out. The stream holding the file's last entry is left for a later
   * run (`appendedSince` reads the entries' row ids, which must not go back).
   */
  async listEndedBefore(cutoff: number, limit: number): Promise<readonly EndedStream[]> {
    this.#assertOpen();
    return this.#guard('list', () => this.#stmt.endedBefore.all(cutoff, limit) as EndedStream[]);
  }

  /**
   * Deletes these streams (entries, snapshot and stream row) in one transaction on this
   * thread's connection, only if every one is still at the version given; otherwise deletes
   * nothing and resolves to false. For the archive, once the streams are durably written
   * elsewhere. Appends to other streams wait for it at most as long as the transaction takes.
   */
  async deleteStreams(streams: readonly { readonly streamId: string; readonly version: number }[]): Promise<boolean> {
    this.#assertWritable();
    return this.#guard('delete from', () => this.#deleteStreams(streams));
  }

  /** How many of these streams the store holds (any version). */
  async countStreams(streamIds: readonly string[]): Promise<number> {
    this.#assertOpen();
    return this.#guard('read', () => {
      let n = 0;
      for (const id of streamIds) if (this.#stmt.streamOf.get(id) !== undefined) n++;
      return n;
    });
  }

  #deleteStreams(streams: readonly { readonly streamId: string; readonly version: number }[]): boolean {
    const db = this.#db;
    const stmt = this.#stmt;
    return db
      .transaction(() => {
        const keys: number[] = [];
        for (const { streamId, version } of streams) {
          const row = stmt.streamOf.get(streamId) as { key: number; version: number } | undefined;
          if (row === undefined || row.version !== version) return false;
          keys.push(row.key);
        }
        for (let i = 0; i < keys.length; i++) {
          stmt.deleteEntries.run(keys[i]);
          stmt.deleteSnapshot.run(streams[i]!.streamId);
          stmt.deleteStream.run(keys[i]);
        }
        return true;
      })
      .immediate();
  }

  /**
   * Which streams were appended to since `cursor` (what the previous call returned), each with
   * its version, and the cursor for the next call: a cheap way for a reader in another process
   * to follow the log, reading only the entries' index past the cursor, never the log. Without
   * a cursor it only returns the current one (start there, then read what you need). A stream
   * may be reported at a version it has already passed: read it after the position you hold.
   */
  async appendedSince(cursor?: number): Promise<AppendedSince> {
    this.#assertOpen();
    return this.#guard('follow', () => {
      const last = this.#stmt.lastRow.get() as number;
      if (cursor === undefined || !Number.isSafeInteger(cursor) || cursor < 0) return { cursor: last, streams: [] };
      if (last === cursor) return { cursor, streams: [] };
      if (last < cursor) {
        // the row ids went back (a VACUUM renumbers them): every stream, to be safe
        const streams = this.#stmt.allVersions.all() as { streamId: string; version: number }[];
        return { cursor: last, streams };
      }
      const rows = this.#stmt.appendedSince.all(cursor) as AppendedRow[];
      let next = cursor;
      for (const row of rows) if (row.last > next) next = row.last;
      return { cursor: next, streams: rows.map((row) => ({ streamId: row.streamId, version: row.version })) };
    });
  }

  /** The last snapshot written for the stream, or `undefined`. Not validated: the engine checks `machineVersion`. */
  async readSnapshot(streamId: string): Promise<CallSnapshot | undefined> {
    this.#assertOpen();
    const row = this.#guard('read a snapshot of', () => this.#stmt.readSnapshot.get(streamId) as SnapshotRow | undefined);
    return row ? (JSON.parse(row.body) as CallSnapshot) : undefined;
  }

  /**
   * Replaces the stream's snapshot, in the next group commit (so after the appends asked for before it),
   * unless the one stored is further along for the same machine version.
   */
  async writeSnapshot(streamId: string, snapshot: CallSnapshot): Promise<void> {
    this.#assertWritable();
    const body = encodeSnapshot(streamId, snapshot);
    return new Promise<void>((resolve, reject) => {
      this.#group.push(OP_SNAPSHOT, streamId, Number(snapshot.position) || 0, String(snapshot.machineVersion), body);
      this.#pending.push({ streamId, entries: undefined, expectedVersion: undefined, resolve: () => resolve(), reject });
      this.#schedule();
    });
  }

  /**
   * Commits every write already asked for, stops the writer thread, then closes the file
   * (checkpointing the WAL). Idempotent; later calls to the other methods throw `SWB_STORE_CLOSED`.
   */
  close(): Promise<void> {
    this.#closing ??= this.#shutDown();
    return this.#closing;
  }

  async #shutDown(): Promise<void> {
    this.#flush();
    await this.#whenIdle();
    const worker = this.#worker;
    if (worker) {
      this.#stopping = true;
      if (this.#writerFailure === undefined) {
        worker.ref();
        worker.postMessage('close');
      }
      await this.#workerExited;
    }
    if (this.#db.open) this.#db.close();
  }

  /** Sends the group at the end of this tick, unless a commit is running: its end sends it. */
  #schedule(): void {
    if (this.#flushScheduled || this.#inFlight !== undefined) return;
    this.#flushScheduled = true;
    setImmediate(() => {
      this.#flushScheduled = false;
      this.#flush();
    });
  }

  /** Commits the group filled so far: hands it to the writer thread, or commits it here. */
  #flush(): void {
    if (this.#inFlight !== undefined || this.#pending.length === 0) return;
    const group = this.#group;
    const pending = this.#pending;
    this.#group = [];
    this.#pending = [];
    if (this.#writerFailure !== undefined) {
      for (const write of pending) write.reject(this.#writerFailure);
      return;
    }
    if (this.#worker === undefined) {
      this.#settle(pending, this.#inline!.commit(group));
      return;
    }
    this.#inFlight = pending;
    this.#worker.ref(); // a commit is running: the process waits for it
    this.#worker.postMessage(group);
  }

  #onWriterMessage(message: GroupOutcome | { readonly ready: SqliteSettings }): void {
    if ('ready' in message) {
      const theirs = message.ready;
      const ours = this.settings;
      if (
        theirs.journalMode !== ours.journalMode ||
        theirs.synchronous !== ours.synchronous ||
        theirs.busyTimeoutMs !== ours.busyTimeoutMs
      ) {
        this.#writerFailed(`opened the file with other settings (${JSON.stringify(theirs)}, expected ${JSON.stringify(ours)})`, undefined);
        void this.#worker?.terminate();
      } else {
        this.#readyNow?.();
      }
      return;
    }
    const done = this.#inFlight;
    if (done === undefined) return; // the thread was declared failed meanwhile
    this.#inFlight = undefined;
    // The writes asked for during that commit go at the end of this tick, together with any
    // that arrive in it (one flush for all of them).
    if (this.#pending.length > 0) this.#schedule();
    else this.#nowIdle();
    this.#settle(done, message);
  }

  /** Settles each write's promise from its group's outcome. */
  #settle(writes: readonly PendingWrite[], outcome: GroupOutcome): void {
    if ('failure' in outcome) {
      // the commit itself failed (busy, disk, closed): nothing of the group is stored
      const error = storeError(this.path, 'append to', restoreError(outcome.failure));
      for (const write of writes) write.reject(error);
      return;
    }
    const { results } = outcome;
    for (let i = 0; i < writes.length; i++) {
      const write = writes[i]!;
      const result = results[i]!;
      if (typeof result === 'number') {
        if (write.entries === undefined) (write.resolve as () => void)();
        else write.resolve(appendResult(write.entries, result, undefined));
      } else if ('conflict' in result) {
        write.reject(new ExpectedVersionConflictError(write.streamId, write.expectedVersion!, result.conflict));
      } else if ('failure' in result) {
        const what = write.entries === undefined ? 'write a snapshot of' : 'append to';
        write.reject(storeError(this.path, what, restoreError(result.failure)));
      } else {
        write.resolve(appendResult(write.entries!, result.base, result.duplicates));
      }
    }
  }

  /** The writer thread is gone: what it was committing is in doubt, what waited is refused, and so is every later write. */
  #writerFailed(reason: string, cause: unknown): void {
    if (this.#writerFailure !== undefined) return; // 'error' comes before 'exit': the first says more
    const where = `the writer thread of the SQLite event store at ${this.path}`;
    this.#writerFailure = new SwitchboardError(
      'SWB_STORE_FAILED',
      `${where} ${reason}; the store takes no more writes (reads still work): close it and open it again`,
      cause === undefined ? undefined : { cause },
    );
    this.#readyFailed?.(this.#writerFailure);
    const inFlight = this.#inFlight ?? [];
    this.#inFlight = undefined;
    if (inFlight.length > 0) {
      const error = new SwitchboardError(
        'SWB_STORE_FAILED',
        `${where} ${reason} with ${inFlight.length} write(s) handed to it: whether they were stored is unknown (read the streams to find out)`,
        cause === undefined ? undefined : { cause },
      );
      for (const write of inFlight) write.reject(error);
    }
    const pending = this.#pending;
    this.#group = [];
    this.#pending = [];
    for (const write of pending) write.reject(this.#writerFailure);
    this.#nowIdle();
  }

  #whenIdle(): Promise<void> {
    if (this.#inFlight === undefined && this.#pending.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Nothing is committing or waiting: the thread may let the process exit, and `close()` may go on. */
  #nowIdle(): void {
    this.#worker?.unref();
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  #assertOpen(): void {
    if (this.#closing !== undefined || !this.#db.open) throw storeClosedError('SQLite');
  }

  #assertWritable(): void {
    this.#assertOpen();
    if (this.#readOnly !== undefined) throw this.#readOnly;
    if (this.#writerFailure !== undefined) throw this.#writerFailure;
  }

  #guard<T>(what: string, run: () => T): T {
    try {
      return run();
    } catch (error) {
      throw storeError(this.path, what, error);
    }
  }
}

/**
 * The store's writer thread, for tests (to end it as a crash would). `undefined` when the
 * store commits on the calling thread. Not exported from the package. Careful: terminating it
 * while a statement is failing (SQLITE_BUSY after the busy timeout) makes better-sqlite3 build
 * its error in a terminating isolate, which aborts the whole process on Node 24; the store
 * itself only terminates a thread that is idle.
 */
export function sqliteWriterThread(store: SqliteEventStore): Worker | undefined {
  return writerThreads.get(store);
}

/** An append's result, from the version the stream had before it and the batch indexes dropped as duplicates. */
function appendResult(entries: readonly LogEntry[], base: number, duplicateIndexes: readonly number[] | undefined): AppendResult {
  const appended: StoredEntry[] = [];
  const duplicates: LogEntry[] = [];
  let position = base;
  let nextDuplicate = 0; // the indexes come in batch order
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i]!;
    if (duplicateIndexes !== undefined && duplicateIndexes[nextDuplicate] === i) {
      nextDuplicate += 1;
      duplicates.push(entry);
    } else {
      position += 1;
      appended.push({ ...entry, position } as StoredEntry);
    }
  }
  return { appended, duplicates, version: position };
}

/** SQLite's errors as the store reports them: `SWB_STORE_BUSY` when another process held the lock too long, else `SWB_STORE_FAILED`. */
function storeError(path: string, what: string, error: unknown): SwitchboardError {
  if (error instanceof SwitchboardError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_BUSY_SNAPSHOT') {
    return new SwitchboardError(
      'SWB_STORE_BUSY',
      `could not ${what} the SQLite event store at ${path}: another process held the write lock past the busy timeout`,
      { cause: error },
    );
  }
  return new SwitchboardError('SWB_STORE_FAILED', `could not ${what} the SQLite event store at ${path}`, { cause: error });
}

/** An error the writer reported as data, as an `Error` again (with SQLite's `code`). */
function restoreError(failure: WriterFailure): Error {
  const error = new Error(failure.message);
  if (failure.name !== undefined) error.name = failure.name;
  if (failure.code !== undefined) (error as Error & { code?: string }).code = failure.code;
  return error;
}

/** better-sqlite3's entry point, for the writer thread to load (as `loadSqliteDriver` resolves it). */
function resolveDriverPath(): string {
  try {
    return requireFromHere.resolve('better-sqlite3');
  } catch (error) {
    throw new SwitchboardError(
      'SWB_DEPENDENCY_MISSING',
      "the SQLite store's writer thread loads better-sqlite3 itself and cannot resolve it from @switchboard/adapters: install it (`pnpm add better-sqlite3`), or pass writer: 'inline' to commit on the calling thread",
      { cause: error },
    );
  }
}

/** The commit gates of every running writer thread in this process. */
const openGates = new Set<{ readonly gate: Int32Array; readonly maxWaitMs: number }>();

function closeGatesForExit(): void {
  for (const { gate, maxWaitMs } of openGates) closeGateForExit(gate, maxWaitMs);
}

/**
 * Called as the process exits (`process.on('exit')`, before Node stops its worker threads):
 * waits, blocking, for a commit in progress to end, at most `maxWaitMs`, then closes the gate so
 * that no commit starts. A thread stopped inside a commit that fails (a lock held elsewhere past
 * the busy timeout, a disk error) aborts the whole process: better-sqlite3 builds its error in
 * an isolate that is being terminated (a V8 fatal error, on Node 20 and 24 alike).
 */
function closeGateForExit(gate: Int32Array, maxWaitMs: number): void {
  const deadline = Date.now() + maxWaitMs;
  for (;;) {
    if (Atomics.compareExchange(gate, 0, GATE_IDLE, GATE_EXITING) !== GATE_COMMITTING) return;
    const left = deadline - Date.now();
    if (left <= 0) return;
    Atomics.wait(gate, 0, GATE_COMMITTING, left);
  }
}

/**
 * Starts the writer thread. Built (dist), the store runs `writer-worker.js` beside it. From
 * TypeScript source (tests, tsx) there is no .js to run and Node's own loader does not apply
 * tsx's hooks to a worker's entry, so the thread loads the .ts through tsx's require hook.
 */
function startWriterThread(data: WriterThreadData): Worker {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return new Worker(new URL('./writer-worker.js', here), { workerData: data });
  const entry = fileURLToPath(new URL('./writer-worker.ts', here));
  let tsx: string;
  try {
    tsx = requireFromHere.resolve('tsx/cjs/api');
  } catch (error) {
    throw new SwitchboardError(
      'SWB_DEPENDENCY_MISSING',
      "the SQLite store runs from TypeScript source here, and its writer thread needs tsx to load writer-worker.ts: install tsx, run the built package, or pass writer: 'inline'",
      { cause: error },
    );
  }
  const boot = `require(${JSON.stringify(tsx)}).require(${JSON.stringify(entry)}, ${JSON.stringify(entry)});`;
  return new Worker(boot, { eval: true, workerData: data });
}

function migrate(db: BetterSqlite3.Database): void {
  const current = pragmaValue(db, 'user_version') as number;
  if (current > SQLITE_SCHEMA_VERSION) {
    throw new SwitchboardError(
      'SWB_SCHEMA_NEWER',
      `the SQLite event store was written by a newer Switchboard (schema ${current}, this one knows ${SQLITE_SCHEMA_VERSION}); upgrade Switchboard`,
    );
  }
  if (current === SQLITE_SCHEMA_VERSION) return;
  db.transaction(() => {
    // Re-read inside the write lock: another process may have migrated meanwhile.
    const from = pragmaValue(db, 'user_version') as number;
    for (let version = from + 1; version <= SQLITE_SCHEMA_VERSION; version++) {
      db.exec(SQLITE_MIGRATIONS[version - 1]!);
      if (version === SQLITE_LIVE_INDEX_VERSION) backfillEndedAt(db);
    }
    setPragma(db, `user_version = ${SQLITE_SCHEMA_VERSION}`);
  }).immediate();
}

function prepareReads(db: BetterSqlite3.Database) {
  return {
    read: keep(
      db.prepare(
        'SELECT position, body FROM swb_entries WHERE stream_key = (SELECT stream_key FROM swb_streams WHERE stream_id = ?) AND position > ? ORDER BY position',
      ),
    ),
    list: keep(db.prepare('SELECT stream_id FROM swb_streams WHERE version > 0 ORDER BY stream_key').pluck()),
    listNotEnded: keep(db.prepare('SELECT stream_id FROM swb_streams WHERE ended_at IS NULL AND version > 0').pluck()),
    listEndedSince: keep(db.prepare('SELECT stream_id FROM swb_streams WHERE ended_at >= ? AND version > 0').pluck()),
    endedBefore: keep(
      db.prepare(
        `SELECT stream_id AS streamId, version, ended_at AS endedAt FROM swb_streams
          WHERE ended_at < ? AND version > 0
            AND stream_key IS NOT (SELECT stream_key FROM swb_entries ORDER BY rowid DESC LIMIT 1)
          ORDER BY ended_at LIMIT ?`,
      ),
    ),
    streamOf: keep(db.prepare('SELECT stream_key AS key, version FROM swb_streams WHERE stream_id = ?')),
    deleteEntries: keep(db.prepare('DELETE FROM swb_entries WHERE stream_key = ?')),
    deleteSnapshot: keep(db.prepare('DELETE FROM swb_snapshots WHERE stream_id = ?')),
    deleteStream: keep(db.prepare('DELETE FROM swb_streams WHERE stream_key = ?')),
    readSnapshot: keep(db.prepare('SELECT body FROM swb_snapshots WHERE stream_id = ?')),
    // each commit's rows get ids past every committed one: only the archive deletes entries, and
    // it leaves the stream holding the last row (see listEndedBefore), so the last id never goes back
    lastRow: keep(db.prepare('SELECT coalesce(max(rowid), 0) FROM swb_entries').pluck()),
    appendedSince: keep(
      db.prepare(
        'SELECT s.stream_id AS streamId, max(e.position) AS version, max(e.rowid) AS last FROM swb_entries e JOIN swb_streams s ON s.stream_key = e.stream_key WHERE e.rowid > ? GROUP BY e.stream_key',
      ),
    ),
    allVersions: keep(db.prepare('SELECT stream_id AS streamId, version FROM swb_streams WHERE version > 0')),
  };
}

/** A read-only connection to an existing log at this schema version. */
function openReadOnly(Driver: SqliteDriver, path: string, busyTimeoutMs: number): BetterSqlite3.Database {
  if (path === ':memory:')
    throw new SwitchboardError('SWB_INVALID_ARGUMENT', 'a :memory: database cannot be opened read-only: it would be empty');
  let db: BetterSqlite3.Database;
  try {
    db = keep(new Driver(path, { readonly: true, fileMustExist: true, timeout: busyTimeoutMs }));
  } catch (error) {
    throw new SwitchboardError('SWB_STORE_UNAVAILABLE', `cannot open the SQLite event store at ${path} read-only`, { cause: error });
  }
  try {
    const version = pragmaValue(db, 'user_version') as number;
    if (version > SQLITE_SCHEMA_VERSION) {
      throw new SwitchboardError(
        'SWB_SCHEMA_NEWER',
        `the SQLite event store at ${path} was written by a newer Switchboard (schema ${version}, this one knows ${SQLITE_SCHEMA_VERSION}); upgrade Switchboard`,
      );
    }
    if (version < SQLITE_SCHEMA_VERSION) {
      throw new SwitchboardError(
        'SWB_SCHEMA_OLDER',
        version === 0
          ? `${path} holds no Switchboard event log`
          : `the SQLite event store at ${path} has schema ${version}, this Switchboard reads ${SQLITE_SCHEMA_VERSION}: open it once with a writer (the bot) to migrate it`,
      );
    }
  } catch (error) {
    db.close();
    if (error instanceof SwitchboardError) throw error;
    throw new SwitchboardError('SWB_STORE_UNAVAILABLE', `cannot read the SQLite event store at ${path}`, { cause: error });
  }
  return db;
}

/** The pragmas of a read-only connection: the busy timeout is set, the rest is read as the writer left it. */
function readSettings(db: BetterSqlite3.Database, busyTimeoutMs: number): SqliteSettings {
  setPragma(db, `busy_timeout = ${busyTimeoutMs}`);
  const levels = ['off', 'normal', 'full', 'extra'] as const;
  return {
    journalMode: String(pragmaValue(db, 'journal_mode')),
    synchronous: levels[Number(pragmaValue(db, 'synchronous'))] ?? 'off',
    busyTimeoutMs: Number(pragmaValue(db, 'busy_timeout')),
  };
}
