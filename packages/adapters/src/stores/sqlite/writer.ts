/**
 * The SQLite store's write side: one connection that commits groups of appends and snapshot
 * writes, each group in one immediate transaction and each write in its own savepoint. It runs
 * on the store's writer thread (`writer-worker.ts`), or on the calling thread for `:memory:`
 * and `writer: 'inline'`.
 *
 * This module imports nothing from `@switchboard/core` at run time, so the writer thread
 * loads only it (and keep.ts) and better-sqlite3. What crosses between threads is plain data: a group is
 * one flat array of strings and numbers (cheap to copy), an outcome is numbers and a few
 * small objects; the store turns them into `AppendResult`s and `SwitchboardError`s.
 */
import type BetterSqlite3 from 'better-sqlite3';
import { keep, pragmaValue, setPragma } from './keep.js';

/** A flat group of writes, in the order they were asked for. */
export type WriteGroup = (string | number)[];

/**
 * `OP_APPEND, streamId, expectedVersion (-1 when none), endedAt ('' when the batch does not end
 * the call), n, then n times: id, kind, at, body`.
 */
export const OP_APPEND = 0;
/** `OP_SNAPSHOT, streamId, position, machineVersion, body`. */
export const OP_SNAPSHOT = 1;

/**
 * The commit gate the store shares with its writer thread (one `Int32` in a
 * `SharedArrayBuffer`): the thread moves it from idle to committing around each commit, and
 * the exiting process moves it from idle to exiting for good (see `closeGateForExit` in
 * sqlite-store.ts).
 */
export const GATE_IDLE = 0;
export const GATE_COMMITTING = 1;
export const GATE_EXITING = 2;

/** An error from SQLite, as data. */
export interface WriterFailure {
  readonly message: string;
  readonly name?: string;
  /** SQLite's extended code, e.g. `SQLITE_BUSY`. */
  readonly code?: string;
}

/**
 * One write's outcome, in group order:
 * - a number: committed; for an append, the stream's version before it, every entry fresh
 *   (the common case); `0` for a snapshot;
 * - `{ base, duplicates }`: an append committed, the entries at these batch indexes dropped as
 *   duplicates (an id the stream holds, or one repeated earlier in the batch);
 * - `{ conflict }`: the append's expected version was not the stream's (its version given);
 *   nothing written;
 * - `{ failure }`: this write's savepoint rolled back; the rest of the group is unaffected.
 */
export type WriteResult =
  | number
  | { readonly base: number; readonly duplicates: readonly number[] }
  | { readonly conflict: number }
  | { readonly failure: WriterFailure };

/** A group's outcome: committed, with one result per write in order; or failed as a whole (nothing of it stored). */
export type GroupOutcome = { readonly results: WriteResult[] } | { readonly failure: WriterFailure };

/** The pragmas in force, read back from SQLite after opening (worth logging at start). */
export interface SqliteSettings {
  /** `wal` for a file; `memory` for `:memory:`. */
  readonly journalMode: string;
  /** SQLite reports a number; 0 to 3 are off, normal, full, extra. */
  readonly synchronous: 'off' | 'normal' | 'full' | 'extra';
  readonly busyTimeoutMs: number;
}

export interface ConnectionOptions {
  readonly synchronous: 'full' | 'normal';
  readonly busyTimeoutMs: number;
}

const SYNCHRONOUS_LEVELS = ['off', 'normal', 'full', 'extra'] as const;

/** Sets the connection's pragmas (WAL for a file) and reads them back. */
export function configureConnection(db: BetterSqlite3.Database, path: string, options: ConnectionOptions): SqliteSettings {
  // (pragmas through keep.ts: on Node 24 a statement the collector frees can abort the process)
  setPragma(db, `busy_timeout = ${options.busyTimeoutMs}`);
  // WAL lets readers run beside the writer and makes a commit one sequential write.
  if (path !== ':memory:') setPragma(db, 'journal_mode = WAL');
  setPragma(db, `synchronous = ${options.synchronous.toUpperCase()}`);
  return {
    journalMode: String(pragmaValue(db, 'journal_mode')),
    synchronous: SYNCHRONOUS_LEVELS[Number(pragmaValue(db, 'synchronous'))] ?? 'off',
    busyTimeoutMs: Number(pragmaValue(db, 'busy_timeout')),
  };
}

/** An error as data that can cross threads (structured clone drops an Error's `code`). */
function toFailure(error: unknown): WriterFailure {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' ? { message: error.message, name: error.name, code } : { message: error.message, name: error.name };
  }
  return { message: String(error) };
}

/** Thrown out of a group's transaction when one of its writes failed (not the commit itself). */
class WriteFailed extends Error {}

/** Commits groups of writes on one connection. */
export class GroupWriter {
  readonly #db: BetterSqlite3.Database;
  readonly #stmt: ReturnType<typeof prepareWrites>;
  /** The group's writes in one immediate transaction, no savepoints: the common case, nothing fails. */
  readonly #commitPlain: (group: WriteGroup, results: WriteResult[]) => void;
  /** The same with each write in its own savepoint, where a write fails: the others still commit. */
  readonly #commitGuarded: (group: WriteGroup, results: WriteResult[]) => void;

  constructor(db: BetterSqlite3.Database) {
    this.#db = db;
    this.#stmt = prepareWrites(db);
    const write = (group: WriteGroup, at: number, now: number): WriteResult =>
      group[at] === OP_APPEND ? this.#append(group, at, now) : this.#snapshot(group, at, now);
    // The group's writes in order, in one immediate transaction; `failed` turns a write's error into its result, or throws.
    const commitEach = (one: typeof write, failed: (error: unknown) => WriteResult) =>
      db.transaction((group: WriteGroup, results: WriteResult[]) => {
        const now = Date.now();
        for (let at = 0; at < group.length; at = next(group, at)) {
          try {
            results.push(one(group, at, now));
          } catch (error) {
            results.push(failed(error));
          }
        }
      }).immediate;
    this.#commitPlain = commitEach(write, (error) => {
      throw new WriteFailed('a write failed', { cause: error }); // rolls the whole group back
    });
    // better-sqlite3 runs a transaction function called inside another as a savepoint: a
    // failing write rolls back only its own
    this.#commitGuarded = commitEach(db.transaction(write), (error) => ({ failure: toFailure(error) }));
  }

  /**
   * Commits the group in one transaction (one flush). Never throws: a failure is in the
   * outcome. Writes run without savepoints (two statements fewer each); where one fails, the
   * transaction is rolled back and the group run again with a savepoint per write.
   */
  commit(group: WriteGroup): GroupOutcome {
    let results: WriteResult[] = [];
    try {
      this.#commitPlain(group, results);
      return { results };
    } catch (error) {
      // the commit itself failed (busy, disk): nothing of the group is stored
      if (!(error instanceof WriteFailed)) return { failure: toFailure(error) };
    }
    results = [];
    try {
      this.#commitGuarded(group, results);
    } catch (error) {
      return { failure: toFailure(error) };
    }
    return { results };
  }

  /** Closes the connection (the last one to a file checkpoints the WAL). */
  close(): void {
    if (this.#db.open) this.#db.close();
  }

  #append(group: WriteGroup, at: number, now: number): WriteResult {
    const streamId = group[at + 1] as string;
    const expected = group[at + 2] as number;
    const endedAt = group[at + 3];
    const count = group[at + 4] as number;
    const first = at + 5;
    const stream = this.#stmt.stream.get(streamId) as { stream_key: number; version: number } | undefined;
    const version = stream?.version ?? 0;
    if (expected !== -1 && expected !== version) return { conflict: version };
    // A new stream gets its key (the next integer) with its first entry, and its row is written
    // at the version it will have if every entry is fresh (corrected below if not).
    let key = stream?.stream_key;
    let recorded = version;
    // Dedup as core's splitDuplicates does: an id the stream holds, or one earlier in the batch.
    // The insert does nothing for such an id (UNIQUE (stream_key, entry_id)), and says so.
    let duplicates: number[] | undefined;
    let position = version;
    for (let i = 0; i < count; i++) {
      const row = first + 4 * i;
      if (key === undefined) {
        key = this.#stmt.newStream.get(streamId, count, now, now) as number;
        recorded = count;
      }
      const inserted = this.#stmt.insert.run(key, position + 1, group[row], group[row + 1], group[row + 2], group[row + 3], now).changes;
      if (inserted === 0) (duplicates ??= []).push(i);
      else position += 1;
    }
    if (position !== recorded) this.#stmt.setVersion.run(position, now, key);
    // the live index, in the append's transaction (the first end recorded stays)
    if (typeof endedAt === 'number' && key !== undefined) this.#stmt.setEnded.run(endedAt, key);
    return duplicates === undefined ? version : { base: version, duplicates };
  }

  #snapshot(group: WriteGroup, at: number, now: number): WriteResult {
    this.#stmt.writeSnapshot.run(group[at + 1], group[at + 2], group[at + 3], group[at + 4], now);
    return 0;
  }
}

/** The index of the write after the one at `at`. */
function next(group: WriteGroup, at: number): number {
  return group[at] === OP_APPEND ? at + 5 + 4 * (group[at + 4] as number) : at + 5;
}

function prepareWrites(db: BetterSqlite3.Database) {
  return {
    stream: keep(db.prepare('SELECT stream_key, version FROM swb_streams WHERE stream_id = ?')),
    newStream: keep(
      db.prepare('INSERT INTO swb_streams (stream_id, version, created_at, updated_at) VALUES (?, ?, ?, ?) RETURNING stream_key').pluck(),
    ),
    // a conflict on (stream_key, position) still fails: under the write lock it means a broken file
    insert: keep(
      db.prepare(
        `INSERT INTO swb_entries (stream_key, position, entry_id, kind, at, body, stored_at) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (stream_key, entry_id) DO NOTHING`,
      ),
    ),
    setVersion: keep(db.prepare('UPDATE swb_streams SET version = ?, updated_at = ? WHERE stream_key = ?')),
    setEnded: keep(db.prepare('UPDATE swb_streams SET ended_at = ? WHERE stream_key = ? AND ended_at IS NULL')),
    writeSnapshot: keep(
      db.prepare(
        `INSERT INTO swb_snapshots (stream_id, position, machine_version, body, written_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (stream_id) DO UPDATE SET position = excluded.position, machine_version = excluded.machine_version,
         body = excluded.body, written_at = excluded.written_at
       WHERE swb_snapshots.position <= excluded.position OR swb_snapshots.machine_version <> excluded.machine_version`,
      ),
    ),
  };
}
