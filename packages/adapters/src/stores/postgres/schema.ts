/**
 * The PostgreSQL schema and its migrations. Everything lives in one schema (default
 * `switchboard`), so several deployments, or parallel test files, can share a database.
 * `migrations` records which steps ran; `migrate()` runs the missing ones under an advisory
 * lock, so two instances starting at once do not both create the same table.
 */
import { SwitchboardError } from '@switchboard/core';

export const DEFAULT_PG_SCHEMA = 'switchboard';

/** The schema version this code writes. */
export const PG_SCHEMA_VERSION = 5;

/** The version whose migration adds the live index (and after which the store backfills it). */
export const PG_LIVE_INDEX_VERSION = 4;

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
    // 4: the live index. ended_at is the `at` of the entry that ended the stream's call (NULL
    // while it has not ended), set in the append's own transaction by new overloads of the
    // append functions that take it (the store computes it with core's endsCall); the old ones
    // stay for instances still on version 3 during a rolling upgrade (their appends leave
    // ended_at unset: such a call stays live until archived by hand). The store backfills the
    // streams already there right after this step, in the same transaction.
    `
    ALTER TABLE ${s}.streams ADD COLUMN ended_at double precision;
    CREATE INDEX streams_ended_at ON ${s}.streams (ended_at);
${appendGroupSql(s, { ends: true })}
${appendEntriesSql(s, { replace: false, notify: false, ends: true })}
    `,
    // 5: the sweep's listing (claimableCalls) reads the leases not ended, not the whole table:
    // an ended call's lease stays (expired at -infinity, its fencing token kept) until the call
    // is archived, so the table grows with the history. `ended` is computed from expires_at,
    // so instances still on version 4 keep it right; the index's key and predicate do not
    // change when a lease is renewed (expires_at moves, ended stays false), so a renewal stays
    // a HOT update that touches no index. (The never-leased streams are looked for among the
    // live ones, by the live index's streams_ended_at, instead of every stream.)
    `
    ALTER TABLE ${s}.leases ADD COLUMN ended boolean GENERATED ALWAYS AS (expires_at = '-infinity') STORED;
    CREATE INDEX leases_unended ON ${s}.leases (owner) WHERE NOT ended;
    `,
  ];
}

/**
 * The group append. Arguments are aligned arrays: one element per append (stream, expected
 * version or NULL, lease owner and token or NULL), and one per entry (the 1-based index of its
 * append, then id, kind, at, body; an append's entries are consecutive). A stream appears at
 * most once per group (the store holds a second append to it back for a later group).
 *
 * One row comes back, of arrays by append: o_fenced (the owner does not hold the lease with
 * that token; nothing written), o_ok (written; otherwise a version conflict), o_before (the
 * stream's version before, NULL when there is no stream); then o_held, the entries (1-based,
 * in the group) whose id their stream already held, dropped; and o_inserted, how many entries
 * were written. Nothing raises for one append alone except a row PostgreSQL refuses (a
 * constraint, a body it cannot take): then the whole call fails, and the store runs
 * append_group_guarded.
 */
function appendGroupSql(s: string, o: { readonly ends: boolean } = { ends: false }): string {
  // with `ends`: p_ends, by append, the `at` of the entry that ends its call (NULL: none does)
  const ends = o.ends ? ', p_ends double precision[]' : '';
  return `
    CREATE FUNCTION ${s}.append_group(
      p_streams text[], p_expected integer[], p_owners text[], p_tokens bigint[],
      p_apps integer[], p_ids text[], p_kinds text[], p_ats double precision[], p_bodies text[]${ends}
    ) RETURNS TABLE (o_fenced boolean[], o_ok boolean[], o_before integer[], o_held integer[], o_inserted integer)
    LANGUAGE plpgsql
    -- Every statement below looks rows up by key, a few per append. Left to its estimates (an
    -- array's length is a guess) the planner hashes whole tables instead, and replans each call.
    SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off SET plan_cache_mode = force_generic_plan
    AS $fn$
    DECLARE
      v_fenced   boolean[];
      v_before   integer[];
      v_ok       boolean[];
      v_held     integer[];
      v_inserted integer;
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
        SELECT array_agg(a.owner IS NOT NULL AND (
                 SELECT l.owner IS DISTINCT FROM a.owner OR l.token IS DISTINCT FROM a.token OR l.expires_at <= now()
                   FROM ${s}.leases l WHERE l.stream_id = a.stream) IS NOT false
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

      -- One statement for the rest, so one snapshot, taken once the locks were granted: it sees
      -- every entry the streams' earlier writers committed. Entries whose id their stream holds
      -- are dropped (dedup across every writer); the others go at the next dense positions; each
      -- stream's version moves past them.
      WITH x AS (
        SELECT u.app, u.id, u.kind, u.at, u.body, u.k,
               -- a scalar subquery: an EXISTS may be planned as a hash of every entry instead
               coalesce((SELECT true FROM ${s}.entries e WHERE e.stream_id = p_streams[u.app] AND e.entry_id = u.id), false) AS held
          FROM unnest(p_apps, p_ids, p_kinds, p_ats, p_bodies) WITH ORDINALITY u (app, id, kind, at, body, k)
         WHERE v_ok[u.app]
      ), inserted AS (
        INSERT INTO ${s}.entries (stream_id, position, entry_id, kind, at, body)
          SELECT p_streams[x.app], v_before[x.app] + row_number() OVER (PARTITION BY x.app ORDER BY x.k),
                 x.id, x.kind, x.at, x.body::json
            FROM x WHERE NOT x.held
        RETURNING stream_id
      ), counted AS (
        SELECT i.stream_id, count(*)::integer AS n FROM inserted i GROUP BY i.stream_id
      ), moved AS (
        UPDATE ${s}.streams st SET version = st.version + c.n, updated_at = clock_timestamp()${
          o.ends ? ',\n               ended_at = coalesce(st.ended_at, p_ends[array_position(p_streams, c.stream_id)])' : ''
        }
          FROM counted c WHERE st.stream_id = c.stream_id
      )
      SELECT coalesce(array_agg(x.k ORDER BY x.k) FILTER (WHERE x.held), ARRAY[]::integer[]),
             (SELECT coalesce(sum(c.n), 0)::integer FROM counted c)
        INTO v_held, v_inserted
        FROM x;

      RETURN QUERY SELECT v_fenced, v_ok, v_before, v_held, v_inserted;
    END
    $fn$;

    -- The same group with each append in its own savepoint: one that raises is rolled back
    -- alone, its SQLSTATE and message in o_sqlstates / o_errors (NULL for the others). Only run
    -- after append_group failed, since a savepoint per append costs a subtransaction each.
    CREATE FUNCTION ${s}.append_group_guarded(
      p_streams text[], p_expected integer[], p_owners text[], p_tokens bigint[],
      p_apps integer[], p_ids text[], p_kinds text[], p_ats double precision[], p_bodies text[]${ends}
    ) RETURNS TABLE (o_fenced boolean[], o_ok boolean[], o_before integer[], o_held integer[], o_inserted integer,
                     o_sqlstates text[], o_errors text[])
    LANGUAGE plpgsql AS $fn$
    DECLARE
      v_one      record;
      v_from     integer;
      v_to       integer;
      v_fenced   boolean[] := ARRAY[]::boolean[];
      v_ok       boolean[] := ARRAY[]::boolean[];
      v_before   integer[] := ARRAY[]::integer[];
      v_held     integer[] := ARRAY[]::integer[];
      v_inserted integer := 0;
      v_states   text[] := ARRAY[]::text[];
      v_errors   text[] := ARRAY[]::text[];
    BEGIN
      FOR i IN 1 .. cardinality(p_streams) LOOP
        -- this append's entries: p_apps is ascending, so they are p_apps[v_from .. v_to]
        v_from := coalesce(array_position(p_apps, i), 1);
        v_to := v_from - 1;
        WHILE v_to < cardinality(p_apps) AND p_apps[v_to + 1] = i LOOP v_to := v_to + 1; END LOOP;
        BEGIN
          SELECT * INTO v_one FROM ${s}.append_group(
            ARRAY[p_streams[i]], ARRAY[p_expected[i]],
            CASE WHEN p_owners IS NULL THEN NULL ELSE ARRAY[p_owners[i]] END,
            CASE WHEN p_tokens IS NULL THEN NULL ELSE ARRAY[p_tokens[i]] END,
            array_fill(1, ARRAY[v_to - v_from + 1]),
            p_ids[v_from:v_to], p_kinds[v_from:v_to], p_ats[v_from:v_to], p_bodies[v_from:v_to]${
              o.ends ? ',\n            ARRAY[p_ends[i]]' : ''
            });
          v_fenced := v_fenced || v_one.o_fenced[1];
          v_ok := v_ok || v_one.o_ok[1];
          v_before := v_before || v_one.o_before[1];
          v_held := v_held || ARRAY(SELECT h + v_from - 1 FROM unnest(v_one.o_held) h);
          v_inserted := v_inserted + v_one.o_inserted;
          v_states := v_states || NULL::text;
          v_errors := v_errors || NULL::text;
        EXCEPTION WHEN OTHERS THEN
          v_fenced := v_fenced || false;
          v_ok := v_ok || false;
          v_before := v_before || NULL::integer;
          v_states := v_states || SQLSTATE::text;
          v_errors := v_errors || SQLERRM::text;
        END;
      END LOOP;
      RETURN QUERY SELECT v_fenced, v_ok, v_before, v_held, v_inserted, v_states, v_errors;
    END
    $fn$;`;
}

/**
 * The append function. Version 1 NOTIFYed inside the append's transaction; version 2 does not
 * (the store announces after the commit): `notify` says which one to write.
 */
function appendEntriesSql(s: string, o: { readonly replace: boolean; readonly notify: boolean; readonly ends?: boolean }): string {
  return `
    -- One append, one round trip, one transaction. Each statement of a plpgsql function sees
    -- the rows committed before it started, so after the stream row is locked the dedup
    -- query sees every entry of every writer that got the lock first.
    CREATE${o.replace ? ' OR REPLACE' : ''} FUNCTION ${s}.append_entries(
      p_stream text, p_expected integer, p_ids text[], p_kinds text[], p_ats double precision[], p_bodies text[]${
        o.ends ? ', p_ended double precision' : ''
      }
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
        UPDATE ${s}.streams SET version = v_version + v_count, updated_at = clock_timestamp()${
          o.ends ? ', ended_at = coalesce(ended_at, p_ended)' : ''
        }
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
