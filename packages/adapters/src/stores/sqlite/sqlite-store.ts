/**
 * The embedded default store: one SQLite file, written through better-sqlite3 in WAL mode.
 * One process writes at a time (other processes wait up to `busyTimeoutMs`); for several
 * bot instances on several machines use the PostgreSQL store.
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import {
  ExpectedVersionConflictError,
  SwitchboardError,
  splitDuplicates,
  type AppendOptions,
  type AppendResult,
  type CallSnapshot,
  type EventStore,
  type LogEntry,
  type ReadOptions,
  type StoredEntry,
} from '@switchboard/core';
import type BetterSqlite3 from 'better-sqlite3';
import {
  checkExpectedVersion,
  decodeEntry,
  encodeEntries,
  encodeSnapshot,
  readAfter,
  storeClosedError,
} from '../shared.js';
import { loadSqliteDriver, type SqliteDriver } from './driver.js';
import { SQLITE_MIGRATIONS, SQLITE_SCHEMA_VERSION } from './schema.js';

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
  /** The better-sqlite3 constructor, when the caller loaded it; by default it is required on demand. */
  readonly driver?: SqliteDriver;
}

/** The pragmas in force, read back from SQLite after opening (worth logging at start). */
export interface SqliteSettings {
  /** `wal` for a file; `memory` for `:memory:`. */
  readonly journalMode: string;
  /** SQLite reports a number; 0 to 3 are off, normal, full, extra. */
  readonly synchronous: 'off' | 'normal' | 'full' | 'extra';
  readonly busyTimeoutMs: number;
}

const SYNCHRONOUS_LEVELS = ['off', 'normal', 'full', 'extra'] as const;

interface EntryRow {
  readonly position: number;
  readonly body: string;
}
/** An append waiting for its group's commit. */
interface PendingAppend {
  readonly streamId: string;
  readonly entries: readonly LogEntry[];
  readonly options: AppendOptions | undefined;
  readonly resolve: (result: AppendResult) => void;
  readonly reject: (error: unknown) => void;
  result?: AppendResult;
  error?: unknown;
}

interface SnapshotRow {
  readonly body: string;
}

/**
 * An `EventStore` in one SQLite file (WAL, `synchronous = FULL` by default, a busy timeout).
 * Each append runs in its own savepoint: the version check, the dedup and the inserts see and
 * write one consistent stream even when another process shares the file. Appends made in the
 * same tick (concurrent webhook deliveries) commit together in one immediate transaction, so
 * they share one disk flush (group commit); each still succeeds or fails on its own, and each
 * promise resolves only once its entries are committed.
 *
 * It does not notify other processes of appends and has no ownership lease: one process per
 * file is the intended use. Reads run synchronously.
 */
export class SqliteEventStore implements EventStore {
  /** The absolute path of the database file (or `:memory:`). */
  readonly path: string;
  /** The pragmas in force, read back from the connection. */
  readonly settings: SqliteSettings;
  readonly #db: BetterSqlite3.Database;
  readonly #stmt: ReturnType<typeof prepare>;
  /** One append, in a savepoint of the group's transaction. */
  readonly #appendOne: (streamId: string, entries: readonly LogEntry[], options: AppendOptions | undefined) => AppendResult;
  /** The group's immediate transaction. */
  readonly #commitGroup: (group: PendingAppend[]) => void;
  /** Appends waiting for this tick's commit. */
  #pending: PendingAppend[] = [];

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

    try {
      if (this.path !== ':memory:') mkdirSync(dirname(this.path), { recursive: true });
      this.#db = new Driver(this.path, { timeout: busyTimeoutMs });
    } catch (error) {
      throw new SwitchboardError('SWB_STORE_UNAVAILABLE', `cannot open the SQLite event store at ${this.path}`, { cause: error });
    }
    try {
      this.#db.pragma(`busy_timeout = ${busyTimeoutMs}`);
      // WAL lets readers run beside the writer and makes a commit one sequential write.
      if (this.path !== ':memory:') this.#db.pragma('journal_mode = WAL');
      this.#db.pragma(`synchronous = ${synchronous.toUpperCase()}`);
      migrate(this.#db);
      this.#stmt = prepare(this.#db);
      this.settings = {
        journalMode: String(this.#db.pragma('journal_mode', { simple: true })),
        synchronous: SYNCHRONOUS_LEVELS[Number(this.#db.pragma('synchronous', { simple: true }))] ?? 'off',
        busyTimeoutMs: Number(this.#db.pragma('busy_timeout', { simple: true })),
      };
    } catch (error) {
      this.#db.close();
      if (error instanceof SwitchboardError) throw error;
      throw new SwitchboardError('SWB_STORE_FAILED', `cannot prepare the SQLite event store at ${this.path}`, { cause: error });
    }
    // better-sqlite3 runs a transaction function called inside another as a savepoint
    this.#appendOne = this.#db.transaction((streamId, entries, appendOptions) =>
      this.#appendInTransaction(streamId, entries, appendOptions),
    );
    this.#commitGroup = this.#db.transaction((group: PendingAppend[]) => {
      for (const append of group) {
        try {
          append.result = this.#guard('append to', () => this.#appendOne(append.streamId, append.entries, append.options));
        } catch (error) {
          append.error = error; // only its savepoint rolled back
        }
      }
    }).immediate;
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
   * Appends in one immediate transaction: checks `expectedVersion` (throwing
   * `ExpectedVersionConflictError` and writing nothing when the stream moved), drops entries
   * whose id the stream holds, then writes the rest at the next dense positions.
   */
  async appendToStream(streamId: string, entries: readonly LogEntry[], options?: AppendOptions): Promise<AppendResult> {
    this.#assertOpen();
    checkExpectedVersion(streamId, options?.expectedVersion);
    return new Promise<AppendResult>((resolve, reject) => {
      this.#pending.push({ streamId, entries, options, resolve, reject });
      if (this.#pending.length === 1) setImmediate(() => this.#flush());
    });
  }

  /** Commits the appends of this tick in one transaction, then settles each one's promise. */
  #flush(): void {
    const group = this.#pending;
    if (group.length === 0) return;
    this.#pending = [];
    try {
      this.#assertOpen();
      this.#guard('append to', () => this.#commitGroup(group));
    } catch (error) {
      // the commit itself failed (busy, disk, closed): nothing of the group is stored
      for (const append of group) append.reject(error);
      return;
    }
    for (const append of group) {
      if (append.error !== undefined) append.reject(append.error);
      else append.resolve(append.result!);
    }
  }

  /** Every stream holding at least one entry, in the order they were first written. */
  async listStreams(): Promise<readonly string[]> {
    this.#assertOpen();
    return this.#guard('list', () => this.#stmt.list.all() as string[]);
  }

  /** The last snapshot written for the stream, or `undefined`. Not validated: the engine checks `machineVersion`. */
  async readSnapshot(streamId: string): Promise<CallSnapshot | undefined> {
    this.#assertOpen();
    const row = this.#guard('read a snapshot of', () => this.#stmt.readSnapshot.get(streamId) as SnapshotRow | undefined);
    return row ? (JSON.parse(row.body) as CallSnapshot) : undefined;
  }

  /** Replaces the stream's snapshot. */
  async writeSnapshot(streamId: string, snapshot: CallSnapshot): Promise<void> {
    this.#assertOpen();
    const body = encodeSnapshot(streamId, snapshot);
    this.#guard('write a snapshot of', () =>
      this.#stmt.writeSnapshot.run(streamId, Number(snapshot.position) || 0, String(snapshot.machineVersion), body, Date.now()),
    );
  }

  /** Closes the file (checkpointing the WAL). Idempotent; later calls throw `SWB_STORE_CLOSED`. */
  async close(): Promise<void> {
    this.#flush(); // appends already asked for are committed first
    if (this.#db.open) this.#db.close();
  }

  #appendInTransaction(streamId: string, entries: readonly LogEntry[], options: AppendOptions | undefined): AppendResult {
    const encoded = encodeEntries(streamId, entries);
    const version = (this.#stmt.version.get(streamId) as number | undefined) ?? 0;
    if (options?.expectedVersion !== undefined && options.expectedVersion !== version) {
      throw new ExpectedVersionConflictError(streamId, options.expectedVersion, version);
    }
    const { fresh, duplicates } = splitDuplicates(entries, (id) => this.#stmt.hasEntry.get(streamId, id) !== undefined);
    if (fresh.length === 0) return { appended: [], duplicates, version };
    // Keyed by object, not id: a batch may repeat an id, and the first copy is the one kept.
    const byEntry = new Map(encoded.map((e) => [e.entry, e]));
    const now = Date.now();
    const appended: StoredEntry[] = [];
    let position = version;
    for (const entry of fresh) {
      const row = byEntry.get(entry)!;
      position += 1;
      this.#stmt.insert.run(streamId, position, row.id, row.kind, row.at, row.body, now);
      appended.push({ ...entry, position } as StoredEntry);
    }
    this.#stmt.setVersion.run(streamId, position, now, now);
    return { appended, duplicates, version: position };
  }

  #assertOpen(): void {
    if (!this.#db.open) throw storeClosedError('SQLite');
  }

  #guard<T>(what: string, run: () => T): T {
    try {
      return run();
    } catch (error) {
      if (error instanceof SwitchboardError) throw error;
      const code = (error as { code?: unknown }).code;
      if (code === 'SQLITE_BUSY' || code === 'SQLITE_BUSY_SNAPSHOT') {
        throw new SwitchboardError(
          'SWB_STORE_BUSY',
          `could not ${what} the SQLite event store at ${this.path}: another process held the write lock past the busy timeout`,
          { cause: error },
        );
      }
      throw new SwitchboardError('SWB_STORE_FAILED', `could not ${what} the SQLite event store at ${this.path}`, { cause: error });
    }
  }
}

function migrate(db: BetterSqlite3.Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SQLITE_SCHEMA_VERSION) {
    throw new SwitchboardError(
      'SWB_SCHEMA_NEWER',
      `the SQLite event store was written by a newer Switchboard (schema ${current}, this one knows ${SQLITE_SCHEMA_VERSION}); upgrade Switchboard`,
    );
  }
  if (current === SQLITE_SCHEMA_VERSION) return;
  db.transaction(() => {
    // Re-read inside the write lock: another process may have migrated meanwhile.
    const from = db.pragma('user_version', { simple: true }) as number;
    for (let version = from + 1; version <= SQLITE_SCHEMA_VERSION; version++) {
      db.exec(SQLITE_MIGRATIONS[version - 1]!);
    }
    db.pragma(`user_version = ${SQLITE_SCHEMA_VERSION}`);
  }).immediate();
}

function prepare(db: BetterSqlite3.Database) {
  return {
    version: db.prepare('SELECT version FROM swb_streams WHERE stream_id = ?').pluck(),
    hasEntry: db.prepare('SELECT 1 FROM swb_entries WHERE stream_id = ? AND entry_id = ?').pluck(),
    insert: db.prepare(
      'INSERT INTO swb_entries (stream_id, position, entry_id, kind, at, body, stored_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ),
    setVersion: db.prepare(
      `INSERT INTO swb_streams (stream_id, version, created_at, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version, updated_at = excluded.updated_at`,
    ),
    read: db.prepare('SELECT position, body FROM swb_entries WHERE stream_id = ? AND position > ? ORDER BY position'),
    list: db.prepare('SELECT stream_id FROM swb_streams WHERE version > 0 ORDER BY rowid').pluck(),
    readSnapshot: db.prepare('SELECT body FROM swb_snapshots WHERE stream_id = ?'),
    writeSnapshot: db.prepare(
      `INSERT INTO swb_snapshots (stream_id, position, machine_version, body, written_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (stream_id) DO UPDATE SET position = excluded.position, machine_version = excluded.machine_version,
         body = excluded.body, written_at = excluded.written_at`,
    ),
  };
}
