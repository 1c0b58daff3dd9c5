/**
 * The SQLite schema. `PRAGMA user_version` records which migrations ran; each runs once,
 * in order, inside the transaction that bumps the version.
 */

export const SQLITE_SCHEMA_VERSION = 1;

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
];
