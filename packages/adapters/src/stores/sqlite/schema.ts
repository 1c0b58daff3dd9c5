/**
 * The SQLite schema. `PRAGMA user_version` records which migrations ran; each runs once,
 * in order, inside the transaction that bumps the version.
 */

export const SQLITE_SCHEMA_VERSION = 3;

/** Migration `n` (1-based) brings the file from version n-1 to n. */
export const SQLITE_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE IF NOT EXISTS swb_streams (
    stream_id  TEXT    NOT NULL PRIMARY KEY,
    version    INTEGER NOT NULL CHECK (version >= 0),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );
  CREATE TABLE IF NOT EXISTS swb_entries (
    stream_id  TEXT    NOT NULL,
    position   INTEGER NOT NULL CHECK (position >= 1),
    entry_id   TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    at         REAL    NOT NULL,
    body       TEXT    NOT NULL,
    stored_at  INTEGER NOT NULL,
    PRIMARY KEY (stream_id, position),
    UNIQUE (stream_id, entry_id)
  );
  CREATE TABLE IF NOT EXISTS swb_snapshots (
    stream_id       TEXT    NOT NULL PRIMARY KEY,
    position        INTEGER NOT NULL,
    machine_version TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    written_at      INTEGER NOT NULL
  );
  `,
  // 2: streams get an integer key, and entries are indexed by it. Keyed by the call id (a
  // GUID), every append wrote index pages at random places: with 1,000 calls appended to in
  // turn, about 11 KiB of WAL and 32 us of CPU a write; by a key that grows with each new
  // stream, 3.6 KiB and 21 us (groups of 12, synchronous=full, 2026-11-30).
  `
  CREATE TABLE swb_streams_v2 (
    stream_key INTEGER PRIMARY KEY,
    stream_id  TEXT    NOT NULL UNIQUE,
    version    INTEGER NOT NULL CHECK (version >= 0),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );
  INSERT INTO swb_streams_v2 (stream_key, stream_id, version, created_at, updated_at)
    SELECT rowid, stream_id, version, created_at, updated_at FROM swb_streams ORDER BY rowid;
  -- a stream with entries but no row (never written by Switchboard, but keep its entries)
  INSERT INTO swb_streams_v2 (stream_id, version, created_at, updated_at)
    SELECT stream_id, MAX(position), MIN(stored_at), MAX(stored_at) FROM swb_entries
    WHERE stream_id NOT IN (SELECT stream_id FROM swb_streams_v2) GROUP BY stream_id ORDER BY MIN(rowid);
  CREATE TABLE swb_entries_v2 (
    stream_key INTEGER NOT NULL,
    position   INTEGER NOT NULL CHECK (position >= 1),
    entry_id   TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    at         REAL    NOT NULL,
    body       TEXT    NOT NULL,
    stored_at  INTEGER NOT NULL,
    PRIMARY KEY (stream_key, position),
    UNIQUE (stream_key, entry_id)
  );
  INSERT INTO swb_entries_v2 (stream_key, position, entry_id, kind, at, body, stored_at)
    SELECT s.stream_key, e.position, e.entry_id, e.kind, e.at, e.body, e.stored_at
    FROM swb_entries e JOIN swb_streams_v2 s ON s.stream_id = e.stream_id ORDER BY e.rowid;
  DROP TABLE swb_entries;
  DROP TABLE swb_streams;
  ALTER TABLE swb_streams_v2 RENAME TO swb_streams;
  ALTER TABLE swb_entries_v2 RENAME TO swb_entries;
  `,
  // 3: the live index. ended_at is the `at` of the entry that ended the stream's call (NULL
  // while it has not ended), written in the append's own transaction: a start loads the
  // calls not ended or ended lately, and the archive finds the ones ended long ago, both by
  // this index and not by reading the log. The store fills it in for the streams already in
  // the file right after this step (backfillEndedAt), in the same transaction.
  `
  ALTER TABLE swb_streams ADD COLUMN ended_at REAL;
  CREATE INDEX swb_streams_ended_at ON swb_streams (ended_at);
  `,
];

/** The schema version whose migration adds the live index (and after which it is backfilled). */
export const SQLITE_LIVE_INDEX_VERSION = 3;
