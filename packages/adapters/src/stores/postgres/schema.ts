/**
 * The PostgreSQL schema and its migrations. Everything lives in one schema (default
 * `switchboard`), so several deployments, or parallel test files, can share a database.
 * `migrations` records which steps ran; `migrate()` runs the missing ones under an advisory
 * lock, so two instances starting at once do not both create the same table.
 */
import { SwitchboardError } from '@switchboard/core';

export const DEFAULT_PG_SCHEMA = 'switchboard';

/** The schema version this code writes. */
export const PG_SCHEMA_VERSION = 2;

/** `pg_advisory_xact_lock(MIGRATE_LOCK_CLASS, hashtext(schema))` serialises migrations per schema. */
export const MIGRATE_LOCK_CLASS = 0x53_57_42_01;

// Lowercase so that it needs no quoting anywhere, and short so that the notification
// channel derived from it stays under PostgreSQL's 63-byte identifier limit.
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,47}$/;

/** Throws `SWB_INVALID_ARGUMENT` unless `schema` is a plain lowercase identifier of up to 48 characters. */
export function checkSchemaName(schema: string): void {
  if (typeof schema !== 'string' || !SCHEMA_NAME.test(schema)) {
    throw new SwitchboardError(
      'SWB_INVALID_ARGUMENT',
      `schema must be a lowercase identifier ([a-z_][a-z0-9_]*, up to 48 characters), got ${JSON.stringify(schema)}`,
    );
  }
}

/** The LISTEN/NOTIFY channel appends are announced on. */
export function appendChannel(schema: string): string {
  return `swb_appended_${schema}`;
}

/** The statements that create the schema and its bookkeeping table (safe to repeat). */
export function bootstrapSql(schema: string): string {
  return `
    CREATE SCHEMA IF NOT EXISTS ${schema};
    CREATE TABLE IF NOT EXISTS ${schema}.migrations (
      version    integer     PRIMARY KEY,
      applied_at timestamptz NOT NULL DEFAULT now()
    );`;
}

/** Migration `n` (1-based) brings the schema from version n-1 to n. */
export function migrations(schema: string): readonly string[] {
  const s = schema;
  return [
    `
    -- One row per stream: its version (the position of its last entry). Appends lock this row,
    -- which is what serialises writers of one stream and keeps positions dense.
    CREATE TABLE ${s}.streams (
      stream_id  text        PRIMARY KEY,
      version    integer     NOT NULL DEFAULT 0 CHECK (version >= 0),
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
    );
    CREATE INDEX streams_updated_at ON ${s}.streams (updated_at);

    -- The log. body is the entry as JSON text (json, not jsonb: kept byte for byte).
    CREATE TABLE ${s}.entries (
      stream_id text             NOT NULL REFERENCES ${s}.streams (stream_id),
      position  integer          NOT NULL CHECK (position >= 1),
      entry_id  text             NOT NULL,
      kind      text             NOT NULL,
      at        double precision NOT NULL,
      body      json             NOT NULL,
      stored_at timestamptz      NOT NULL DEFAULT now(),
      PRIMARY KEY (stream_id, position),
      UNIQUE (stream_id, entry_id)
    );

    CREATE TABLE ${s}.snapshots (
      stream_id       text        PRIMARY KEY,
      position        integer     NOT NULL,
      machine_version text        NOT NULL,
      body            json        NOT NULL,
      written_at      timestamptz NOT NULL DEFAULT now()
    );

    -- Who runs a call's timers and commands. Times are the database's (now()), never an
    -- instance's. token grows each time the lease changes hands: a fencing token.
    CREATE TABLE ${s}.leases (
      stream_id   text        PRIMARY KEY,
      owner       text        NOT NULL,
      token       bigint      NOT NULL,
      acquired_at timestamptz NOT NULL,
      renewed_at  timestamptz NOT NULL,
      expires_at  timestamptz NOT NULL
    );

${appendEntriesSql(s, { replace: false, notify: true })}
    `,
    // 2: the append no longer NOTIFYs inside its transaction. A transaction that sent a NOTIFY
    // holds a database-wide lock from its commit until its WAL is flushed, so concurrent appends
    // committed one by one (measured: 259 entries/s at 64 concurrent calls with it, 652
    // without). The store announces an append right after it committed instead.
    `
${appendEntriesSql(s, { replace: true, notify: false })}
    `,
  ];
}

/**
 * The append function. Version 1 NOTIFYed inside the append's transaction; version 2 does not
 * (the store announces after the commit): `notify` says which one to write.
 */
function appendEntriesSql(s: string, o: { readonly replace: boolean; readonly notify: boolean }): string {
  return `
    -- One append, one round trip, one transaction. Each statement of a plpgsql function sees
    -- the rows committed before it started, so after the stream row is locked the dedup
    -- query sees every entry of every writer that got the lock first.
    CREATE${o.replace ? ' OR REPLACE' : ''} FUNCTION ${s}.append_entries(
      p_stream text, p_expected integer, p_ids text[], p_kinds text[], p_ats double precision[], p_bodies text[]
    ) RETURNS TABLE (o_conflict boolean, o_before integer, o_version integer, o_existing text[])
    LANGUAGE plpgsql AS $fn$
    DECLARE
      v_version  integer;
      v_existing text[];
      v_count    integer;
    BEGIN
      SELECT st.version INTO v_version FROM ${s}.streams st WHERE st.stream_id = p_stream FOR UPDATE;
      IF NOT FOUND THEN
        IF p_expected IS NOT NULL AND p_expected <> 0 THEN
          RETURN QUERY SELECT true, 0, 0, ARRAY[]::text[];
          RETURN;
        END IF;
        INSERT INTO ${s}.streams (stream_id) VALUES (p_stream) ON CONFLICT (stream_id) DO NOTHING;
        SELECT st.version INTO v_version FROM ${s}.streams st WHERE st.stream_id = p_stream FOR UPDATE;
      END IF;
      IF p_expected IS NOT NULL AND p_expected <> v_version THEN
        RETURN QUERY SELECT true, v_version, v_version, ARRAY[]::text[];
        RETURN;
      END IF;

      SELECT coalesce(array_agg(e.entry_id), ARRAY[]::text[]) INTO v_existing
        FROM ${s}.entries e WHERE e.stream_id = p_stream AND e.entry_id = ANY (p_ids);

      INSERT INTO ${s}.entries (stream_id, position, entry_id, kind, at, body)
        SELECT p_stream, v_version + row_number() OVER (ORDER BY i.ord), i.id, i.kind, i.at, i.body::json
          FROM unnest(p_ids, p_kinds, p_ats, p_bodies) WITH ORDINALITY AS i (id, kind, at, body, ord)
         WHERE i.id <> ALL (v_existing);
      GET DIAGNOSTICS v_count = ROW_COUNT;

      IF v_count > 0 THEN
        UPDATE ${s}.streams SET version = v_version + v_count, updated_at = clock_timestamp()
         WHERE stream_id = p_stream;
${o.notify ? NOTIFY_IN_TRANSACTION(s) : ''}      END IF;
      RETURN QUERY SELECT false, v_version, v_version + v_count, v_existing;
    END
    $fn$;`;
}

/** Version 1's in-transaction announcement (delivered at commit; `t` tells a listener that lost its connection from when to catch up). */
const NOTIFY_IN_TRANSACTION = (s: string) => `
        PERFORM pg_notify('${appendChannel(s)}', json_build_object(
          's', p_stream, 'v', v_version + v_count, 't', extract(epoch FROM clock_timestamp()) * 1000)::text);
`;
