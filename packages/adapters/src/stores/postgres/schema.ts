/**
 * The PostgreSQL schema and its migrations. Everything lives in one schema (default
 * `switchboard`), so several deployments, or parallel test files, can share a database.
 * `migrations` records which steps ran; `migrate()` runs the missing ones under an advisory
 * lock, so two instances starting at once do not both create the same table.
 */
import { SwitchboardError } from '@switchboard/core';

export const DEFAULT_PG_SCHEMA = 'switchboard';

/** The schema version this code writes. */
export const PG_SCHEMA_VERSION = 3;

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
    // 3: group commit. Appends to different streams made at once share one transaction and
    // one round trip (append_group); where one of them fails, append_group_guarded runs each
    // in its own savepoint so the others still commit. append_entries stays: a group of one
    // unfenced append uses it, and so do instances still on version 2 during a rolling
    // upgrade (both lock stream rows the same way).
    `
${appendGroupSql(s)}
    `,
  ];
}

/**
 * The group append. Arguments are aligned arrays: one element per append (stream, expected
 * version or NULL, lease owner and token or NULL), and one per entry (the 1-based index of its
 * append, then id, kind, at, body). A stream appears at most once per group (the store holds
 * back a second append to it for a later group). One row per append comes back, in order:
 * o_status 0 written (o_existing: ids the stream already held, dropped), 1 version conflict
 * (o_version: the stream's version), 2 fenced (the owner does not hold the lease with that
 * token). Nothing raises for one append alone except a broken row (a constraint, a body
 * PostgreSQL refuses): then the whole call fails and the store runs append_group_guarded.
 */
function appendGroupSql(s: string): string {
  return `
    CREATE FUNCTION ${s}.append_group(
      p_streams text[], p_expected integer[], p_owners text[], p_tokens bigint[],
      p_apps integer[], p_ids text[], p_kinds text[], p_ats double precision[], p_bodies text[]
    ) RETURNS TABLE (o_status smallint, o_before integer, o_version integer, o_existing text[])
    LANGUAGE plpgsql
    -- Every statement below looks rows up by key, a few per append. Left to its estimates (an
    -- array's length is a guess) the planner hashes whole tables instead, and replans each call.
    SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off SET plan_cache_mode = force_generic_plan
    AS $fn$
    DECLARE
      v_fenced  boolean[];
      v_before  integer[];  -- per append: the stream's version once locked (NULL: no stream)
      v_ok      boolean[];  -- per append: writes
      v_dup     integer[];  -- entries (1-based) whose id their stream already holds
      v_written text[];     -- streams that got entries, and their new versions
      v_after   integer[];
    BEGIN
      -- Fencing, only for appends that carry an owner: the owner must hold the live lease with
      -- that token. FOR SHARE keeps a takeover (an UPDATE of the lease) waiting until this
      -- transaction ends, so the append commits while the lease is still the owner's.
      IF p_owners IS NULL THEN
        v_fenced := array_fill(false, ARRAY[cardinality(p_streams)]);
      ELSE
        PERFORM 1 FROM ${s}.leases l
          WHERE l.stream_id = ANY (SELECT a.stream FROM unnest(p_streams, p_owners) a (stream, owner) WHERE a.owner IS NOT NULL)
          ORDER BY l.stream_id FOR SHARE;
        SELECT array_agg(a.owner IS NOT NULL AND NOT EXISTS (
                 SELECT 1 FROM ${s}.leases l
                  WHERE l.stream_id = a.stream AND l.owner = a.owner AND l.token = a.token AND l.expires_at > now())
               ORDER BY a.i)
          INTO v_fenced
          FROM unnest(p_streams, p_owners, p_tokens) WITH ORDINALITY a (stream, owner, token, i);
      END IF;

      -- New streams: created by an append without an expected version, or at 0.
      INSERT INTO ${s}.streams (stream_id)
        SELECT a.stream FROM unnest(p_streams, p_expected, v_fenced) a (stream, expected, fenced)
         WHERE NOT a.fenced AND coalesce(a.expected, 0) = 0
         ORDER BY a.stream
        ON CONFLICT (stream_id) DO NOTHING;

      -- Lock the streams in id order (groups running at once cannot deadlock) and read their
      -- versions: a lock waited for returns the row as its holder committed it.
      SELECT array_agg(l.version ORDER BY a.i),
             array_agg(NOT a.fenced AND l.version IS NOT NULL AND (a.expected IS NULL OR a.expected = l.version) ORDER BY a.i)
        INTO v_before, v_ok
        FROM (SELECT * FROM unnest(p_streams, p_expected, v_fenced) WITH ORDINALITY u (stream, expected, fenced, i)
               ORDER BY u.stream) a
        LEFT JOIN LATERAL (
          SELECT st.version FROM ${s}.streams st WHERE st.stream_id = a.stream AND NOT a.fenced FOR UPDATE
        ) l ON true;

      -- Dedup by id against everything the streams hold, whoever wrote it.
      SELECT coalesce(array_agg(x.k), ARRAY[]::integer[]) INTO v_dup
        FROM unnest(p_apps, p_ids) WITH ORDINALITY x (app, id, k)
       WHERE v_ok[x.app]
         AND EXISTS (SELECT FROM ${s}.entries e WHERE e.stream_id = p_streams[x.app] AND e.entry_id = x.id);

      -- The rest at the next dense positions, and each stream's version moved past them.
      WITH inserted AS (
        INSERT INTO ${s}.entries (stream_id, position, entry_id, kind, at, body)
          SELECT p_streams[x.app], v_before[x.app] + row_number() OVER (PARTITION BY x.app ORDER BY x.k),
                 x.id, x.kind, x.at, x.body::json
            FROM unnest(p_apps, p_ids, p_kinds, p_ats, p_bodies) WITH ORDINALITY x (app, id, kind, at, body, k)
           WHERE v_ok[x.app] AND x.k <> ALL (v_dup)
        RETURNING stream_id
      ), counted AS (
        SELECT stream_id, count(*)::integer AS n FROM inserted GROUP BY stream_id
      ), moved AS (
        UPDATE ${s}.streams st SET version = st.version + c.n, updated_at = clock_timestamp()
          FROM counted c WHERE st.stream_id = c.stream_id
        RETURNING st.stream_id, st.version
      )
      SELECT array_agg(m.stream_id), array_agg(m.version) INTO v_written, v_after FROM moved m;

      RETURN QUERY
        SELECT (CASE WHEN v_fenced[a.i] THEN 2 WHEN v_ok[a.i] THEN 0 ELSE 1 END)::smallint,
               coalesce(v_before[a.i], 0),
               coalesce(w.version, v_before[a.i], 0),
               CASE WHEN v_ok[a.i] AND cardinality(v_dup) > 0
                 THEN ARRAY(SELECT p_ids[d] FROM unnest(v_dup) d WHERE p_apps[d] = a.i ORDER BY d)
                 ELSE ARRAY[]::text[] END
          FROM unnest(p_streams) WITH ORDINALITY a (stream, i)
          LEFT JOIN unnest(v_written, v_after) w (stream, version) ON w.stream = a.stream
         ORDER BY a.i;
    END
    $fn$;

    -- The same group with each append in its own savepoint: one that raises (o_status 3, with
    -- the error's SQLSTATE and message) is rolled back alone. Only run after append_group
    -- failed, since a savepoint per stream costs a subtransaction each.
    CREATE FUNCTION ${s}.append_group_guarded(
      p_streams text[], p_expected integer[], p_owners text[], p_tokens bigint[],
      p_apps integer[], p_ids text[], p_kinds text[], p_ats double precision[], p_bodies text[]
    ) RETURNS TABLE (o_status smallint, o_before integer, o_version integer, o_existing text[], o_sqlstate text, o_error text)
    LANGUAGE plpgsql AS $fn$
    DECLARE
      v_ids text[]; v_kinds text[]; v_ats double precision[]; v_bodies text[];
    BEGIN
      FOR i IN 1 .. cardinality(p_streams) LOOP
        SELECT coalesce(array_agg(x.id ORDER BY x.k), ARRAY[]::text[]), coalesce(array_agg(x.kind ORDER BY x.k), ARRAY[]::text[]),
               coalesce(array_agg(x.at ORDER BY x.k), ARRAY[]::double precision[]), coalesce(array_agg(x.body ORDER BY x.k), ARRAY[]::text[])
          INTO v_ids, v_kinds, v_ats, v_bodies
          FROM unnest(p_apps, p_ids, p_kinds, p_ats, p_bodies) WITH ORDINALITY x (app, id, kind, at, body, k)
         WHERE x.app = i;
        BEGIN
          RETURN QUERY
            SELECT g.o_status, g.o_before, g.o_version, g.o_existing, NULL::text, NULL::text
              FROM ${s}.append_group(ARRAY[p_streams[i]], ARRAY[p_expected[i]],
                     CASE WHEN p_owners IS NULL THEN NULL ELSE ARRAY[p_owners[i]] END,
                     CASE WHEN p_tokens IS NULL THEN NULL ELSE ARRAY[p_tokens[i]] END,
                     array_fill(1, ARRAY[cardinality(v_ids)]), v_ids, v_kinds, v_ats, v_bodies) g;
        EXCEPTION WHEN OTHERS THEN
          RETURN QUERY SELECT 3::smallint, 0, 0, ARRAY[]::text[], SQLSTATE::text, SQLERRM::text;
        END;
      END LOOP;
    END
    $fn$;`;
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
