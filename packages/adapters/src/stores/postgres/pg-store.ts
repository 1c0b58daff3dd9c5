/**
 * The store for several bot instances sharing calls: PostgreSQL through `pg`. Appends made
 * at once share one transaction and one round trip (group commit: a plpgsql function locks
 * the streams, checks each one's version, dedups, inserts every entry in one statement), and
 * are announced after the commit; instances tail each other's appends with LISTEN/NOTIFY and
 * agree on who runs a call through leases timed by the database's clock.
 */
import type pg from 'pg';
import {
  endedAtOf,
  ExpectedVersionConflictError,
  QUARANTINE_STREAM,
  SwitchboardError,
  splitDuplicates,
  type AppendListener,
  type AppendNotifier,
  type AppendOptions,
  type AppendResult,
  type CallLeases,
  type CallSnapshot,
  type ClaimableLeases,
  type EventStore,
  type Lease,
  type LeaseFence,
  type LeaseResult,
  type LogEntry,
  type ReadOptions,
  type StoredEntry,
  type Unsubscribe,
} from '@switchboard/core';
import {
  checkExpectedVersion,
  decodeEntry,
  encodeEntries,
  encodeSnapshot,
  readAfter,
  storeClosedError,
  type EncodedEntry,
  type EndedStream,
} from '../shared.js';
import { GroupCommit, type GroupMember } from './group-commit.js';
import { checkOwner, checkTtl, leaseSql, toLease, type LeaseRow } from './leases.js';
import { loadPg } from './driver.js';
import { backfillEndedAt } from './live-index.js';
import { AppendNotifications, CARRIED_MARK } from './notifications.js';
import {
  DEFAULT_PG_SCHEMA,
  MIGRATE_LOCK_CLASS,
  PG_LIVE_INDEX_VERSION,
  PG_SCHEMA_VERSION,
  appendChannel,
  bootstrapSql,
  checkSchemaName,
  migrations,
} from './schema.js';

export interface PgEventStoreOptions {
  /** `postgres://user:pass@host:5432/db`. Default: the `DATABASE_URL` environment variable. */
  readonly connectionString?: string;
  /**
   * A pool you manage (the store neither configures nor ends it). The LISTEN connection is
   * opened separately with the pool's options.
   */
  readonly pool?: pg.Pool;
  /** The schema holding the tables. Default `switchboard`. Lowercase identifier, up to 48 characters. */
  readonly schema?: string;
  /**
   * Create or upgrade the schema before the first operation. Default true. Set false when
   * the application's role may not run DDL, and call `migrate()` from a deploy step.
   */
  readonly migrate?: boolean;
  /** Pool size when the store makes the pool. Default 10. */
  readonly maxConnections?: number;
  /** How long to wait for a connection. Default 10,000 ms. */
  readonly connectTimeoutMs?: number;
  /** `application_name` of the connections (the LISTEN one gets `:listen` appended). Default `switchboard`. */
  readonly applicationName?: string;
  /**
   * Errors that happen in the background, with nobody awaiting them: an idle pooled
   * connection dropped, the LISTEN connection lost (it reconnects), a subscriber that threw.
   * Ignored by default; pass your logger.
   */
  readonly onError?: (error: SwitchboardError) => void;
  /** Backoff of the LISTEN connection's reconnects. Default 100 ms doubling up to 5,000 ms. */
  readonly reconnectDelayMs?: { readonly min: number; readonly max: number };
  /**
   * With a subscription: how often to poll for appends whose announcement never came (a
   * writer that died between its commit and its NOTIFY). Default 10,000 ms; 0 never polls.
   */
  readonly catchUpEveryMs?: number;
}

// PostgreSQL refuses btree keys over ~2.7 kB and NOTIFY payloads over 8 kB.
const MAX_ID_BYTES = 1_024;

/** `appendToStream`'s options on PostgreSQL. */
export interface PgAppendOptions extends AppendOptions {
  /**
   * Fences the append with a lease (see `acquireLease`): it writes only if `owner` holds the
   * call's live lease with this fencing `token` when it commits, else it throws
   * `SWB_LEASE_LOST` and writes nothing. A takeover of the lease waits for the append's commit.
   */
  readonly lease?: LeaseFence;
}

/** An append waiting for its group. */
interface PendingAppend extends GroupMember {
  readonly expected: number | null;
  readonly lease: PgAppendOptions['lease'];
  readonly entries: readonly LogEntry[];
  /** The batch without its repeats. */
  readonly rows: readonly EncodedEntry[];
  /** When the batch ends its call (the live index), or null. */
  readonly ended: number | null;
  readonly resolve: (result: AppendResult) => void;
  readonly reject: (error: unknown) => void;
}

/** `append_group`'s row (and `append_group_guarded`'s, which adds the errors): arrays by append. */
interface GroupRow {
  readonly o_fenced: boolean[];
  readonly o_ok: boolean[];
  readonly o_before: Array<number | null>;
  /** Entries (1-based, in the group) whose id their stream already held. */
  readonly o_held: number[];
  readonly o_inserted: number;
  readonly o_sqlstates?: Array<string | null>;
  readonly o_errors?: Array<string | null>;
}

/** `append_entries`' row. */
interface AloneRow {
  readonly o_conflict: boolean;
  readonly o_before: number;
  readonly o_version: number;
  readonly o_existing: string[];
}

/**
 * An announcement on its way: the stream's new version and, while they can go with it, the
 * entries that brought it there (their stored JSON, from position `from`).
 */
interface Announcement {
  readonly version: number;
  readonly from: number;
  readonly bodies: readonly string[] | undefined;
}

/**
 * PostgreSQL refuses a NOTIFY payload of 8,000 bytes or more. An announcement carries its
 * entries only while the whole payload stays under this, leaving room for the time the
 * database writes into it.
 */
const MAX_CARRIED_PAYLOAD_BYTES = 7_999 - 48;

/** What became of one append. */
type Outcome =
  | { readonly written: true; readonly before: number; readonly held: ReadonlySet<string> }
  | { readonly written: false; readonly conflict: number }
  | { readonly written: false; readonly fenced: true }
  | { readonly written: false; readonly failure: Error };

/**
 * Groups on their way at once, and a group's size: see `GroupCommit`. PostgreSQL takes a
 * message of up to 1 GiB; a group stays far below it (a larger single append goes alone).
 */
const GROUPS_IN_FLIGHT = 2;
const MAX_GROUP_APPENDS = 500;
const MAX_GROUP_CHARACTERS = 16 * 2 ** 20;

/**
 * An `EventStore` in PostgreSQL, for several bot instances sharing one database.
 *
 * - Appends: a batch is written whole or not at all. Appends to different streams made
 *   together, or while the groups before them were on their way, share one transaction and
 *   one round trip; each succeeds or fails alone (a version conflict, a fenced lease, a row
 *   PostgreSQL refuses).
 *   Stream rows are locked, so concurrent writers of a stream queue up; positions stay dense
 *   and a writer whose expected version moved gets `ExpectedVersionConflictError`, never a
 *   raw constraint error. Entries are deduplicated by id across every instance.
 * - `subscribe`: hear about every instance's appends (LISTEN/NOTIFY on a dedicated
 *   connection that reconnects and catches up).
 * - Leases: `acquireLease` / `renewLease` / `releaseLease` / `getLease` decide which
 *   instance runs a call; `endLease` lets an ended call's lease go for good and
 *   `claimableCalls` lists the calls to take over. The store enforces one on an append only
 *   when asked (`lease` in the append's options); otherwise the runtime does.
 *
 * Times for leases come from the database. Stream and entry ids are limited to 1,024 bytes
 * of UTF-8 and cannot contain NUL (PostgreSQL text cannot), which Graph ids never approach.
 */
export class PgEventStore implements EventStore, CallLeases, ClaimableLeases, AppendNotifier {
  /** The schema the tables live in. */
  readonly schema: string;
  readonly #pool: pg.Pool;
  readonly #ownsPool: boolean;
  readonly #where: string;
  readonly #autoMigrate: boolean;
  readonly #onError: (error: SwitchboardError) => void;
  /** Appends committed and not yet announced, by stream. */
  #announcing = new Map<string, Announcement>();
  /** The announcements on their way, while any are. */
  #announcer: Promise<void> | undefined;
  readonly #notifications: AppendNotifications;
  readonly #lease: ReturnType<typeof leaseSql>;
  readonly #groups: GroupCommit<PendingAppend>;
  /** The append statements, named so that each connection parses them once. */
  readonly #statements: ReturnType<typeof appendStatements>;
  /** Appends made and not yet settled. */
  readonly #appending = new Set<Promise<AppendResult>>();
  readonly #poolErrors: (error: Error) => void;
  #migrated: Promise<void> | undefined;
  #closed = false;

  constructor(options: PgEventStoreOptions = {}) {
    this.schema = options.schema ?? DEFAULT_PG_SCHEMA;
    checkSchemaName(this.schema);
    this.#autoMigrate = options.migrate ?? true;
    this.#onError = options.onError ?? (() => undefined);
    const applicationName = options.applicationName ?? 'switchboard';
    const catchUpEveryMs = options.catchUpEveryMs ?? 10_000;
    if (typeof catchUpEveryMs !== 'number' || !(catchUpEveryMs >= 0)) {
      throw new SwitchboardError('SWB_INVALID_ARGUMENT', `catchUpEveryMs must be a number >= 0, got ${String(options.catchUpEveryMs)}`);
    }

    const driver = loadPg();
    let clientConfig: pg.ClientConfig;
    if (options.pool) {
      this.#pool = options.pool;
      this.#ownsPool = false;
      clientConfig = { ...this.#pool.options };
      this.#where = describeTarget(clientConfig);
    } else {
      const connectionString = options.connectionString ?? process.env['DATABASE_URL'];
      if (!connectionString) {
        throw new SwitchboardError(
          'SWB_INVALID_ARGUMENT',
          'the PostgreSQL event store needs a connection string: pass `connectionString` or set DATABASE_URL',
        );
      }
      clientConfig = {
        connectionString,
        application_name: applicationName,
        connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
      };
      this.#where = describeTarget(clientConfig);
      this.#pool = new driver.Pool({ ...clientConfig, max: options.maxConnections ?? 10 });
      this.#ownsPool = true;
    }
    // An idle client's error would otherwise crash the process (an unhandled 'error' event).
    this.#poolErrors = (error: Error) => this.#onError(this.#wrap('keep an idle connection to', error));
    this.#pool.on('error', this.#poolErrors);

    this.#lease = leaseSql(this.schema);
    this.#statements = appendStatements(this.schema);
    this.#groups = new GroupCommit<PendingAppend>({
      commit: (group) => this.#commitGroup(group),
      maxGroupsInFlight: GROUPS_IN_FLIGHT,
      maxAppends: MAX_GROUP_APPENDS,
      maxSize: MAX_GROUP_CHARACTERS,
    });
    this.#notifications = new AppendNotifications({
      channel: appendChannel(this.schema),
      connect: () =>
        new driver.Client({
          ...clientConfig,
          application_name: `${clientConfig.application_name ?? applicationName}:listen`,
          keepAlive: true,
        }),
      updatedSince: (sinceMs) => this.#streamsUpdatedSince(sinceMs),
      onError: (error) => this.#onError(error),
      reconnectDelayMs: options.reconnectDelayMs ?? { min: 100, max: 5_000 },
      catchUpEveryMs,
    });
  }

  /**
   * Creates the schema, or brings it up to this version, under an advisory lock: safe to run
   * from every instance at once, and a no-op when up to date. Throws `SWB_SCHEMA_NEWER` if a
   * newer Switchboard migrated the schema further than this one knows.
   */
  async migrate(): Promise<void> {
    this.#assertOpen();
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (error) {
      throw this.#wrap('connect to', error);
    }
    // A checked-out client has no 'error' listener of the pool's, and pg emits 'error' on a
    // client whose connection ends (besides failing its query): unheard, an uncaught exception.
    let lost: Error | undefined;
    const onLost = (error: Error) => {
      lost = error;
    };
    client.on('error', onLost);
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [MIGRATE_LOCK_CLASS, this.schema]);
      await client.query(bootstrapSql(this.schema));
      const { rows } = await client.query<{ version: number }>(
        `SELECT coalesce(max(version), 0)::int AS version FROM ${this.schema}.migrations`,
      );
      const current = rows[0]?.version ?? 0;
      if (current > PG_SCHEMA_VERSION) {
        throw new SwitchboardError(
          'SWB_SCHEMA_NEWER',
          `schema ${this.schema} was migrated by a newer Switchboard (version ${current}, this one knows ${PG_SCHEMA_VERSION}); upgrade Switchboard`,
        );
      }
      const steps = migrations(this.schema);
      for (let version = current + 1; version <= PG_SCHEMA_VERSION; version++) {
        await client.query(steps[version - 1]!);
        if (version === PG_LIVE_INDEX_VERSION) await backfillEndedAt(client, this.schema);
        await client.query(`INSERT INTO ${this.schema}.migrations (version) VALUES ($1)`, [version]);
      }
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw this.#wrap('migrate', error);
    } finally {
      client.off('error', onLost);
      client.release(lost); // a lost connection is dropped, not pooled
    }
  }

  /** Reads a stream in position order, optionally only after a position. An unknown stream reads as empty. */
  async readStream(streamId: string, options?: ReadOptions): Promise<readonly StoredEntry[]> {
    const after = readAfter(options);
    await this.#ready();
    if (after === null) return [];
    const { rows } = await this.#query<{ position: number; body: unknown }>(
      'read',
      `SELECT position, body FROM ${this.schema}.entries WHERE stream_id = $1 AND position > $2 ORDER BY position`,
      [streamId, after],
    );
    return rows.map((row) => decodeEntry(row.body, row.position));
  }

  /**
   * Appends a batch in one transaction: throws `ExpectedVersionConflictError` (writing
   * nothing) when `expectedVersion` is given and the stream is elsewhere, drops entries whose
   * id the stream already holds (whoever wrote them), writes the rest at the next dense
   * positions and announces the new version to every subscribed instance. Appends to other
   * streams made at the same time share the transaction (group commit); each still succeeds
   * or fails alone. With `lease`, the append is fenced: it writes only while that owner holds
   * the call's lease with that token, else it throws `SWB_LEASE_LOST` and writes nothing.
   */
  appendToStream(streamId: string, entries: readonly LogEntry[], options?: PgAppendOptions): Promise<AppendResult> {
    const append = this.#append(streamId, entries, options);
    // close() waits for it, wherever it is (migrating, waiting for its group, in flight)
    this.#appending.add(append);
    const forget = () => this.#appending.delete(append);
    append.then(forget, forget);
    return append;
  }

  async #append(streamId: string, entries: readonly LogEntry[], options?: PgAppendOptions): Promise<AppendResult> {
    const expected = options?.expectedVersion;
    checkExpectedVersion(streamId, expected);
    checkId('stream id', streamId, streamId);
    const lease = options?.lease;
    if (lease !== undefined) {
      checkOwner(lease.owner);
      if (!Number.isSafeInteger(lease.token) || lease.token < 1) {
        const got = String(lease.token);
        throw new SwitchboardError('SWB_INVALID_ARGUMENT', `stream ${streamId}: a lease token is a whole number >= 1, got ${got}`);
      }
    }
    const encoded = encodeEntries(streamId, entries);
    for (const e of encoded) checkId('entry id', streamId, e.id);
    await this.#ready();

    // Repeats within the batch never reach the database; the group reports ids the stream holds.
    const { fresh: unique } = splitDuplicates(entries, () => false);
    if (unique.length === 0) {
      const version = await this.#version(streamId);
      if (expected !== undefined && expected !== version) throw new ExpectedVersionConflictError(streamId, expected, version);
      return { appended: [], duplicates: [], version };
    }
    const byEntry = new Map(encoded.map((e) => [e.entry, e]));
    const rows = unique.map((entry) => byEntry.get(entry)!);
    return new Promise<AppendResult>((resolve, reject) => {
      this.#groups.add({
        streamId,
        expected: expected ?? null,
        lease,
        entries,
        rows,
        ended: endedAtOf(unique) ?? null,
        size: rows.reduce((n, r) => n + r.body.length, 0),
        resolve,
        reject,
      });
    });
  }

  /**
   * Commits a group: one call of `append_group` (one transaction), and where it raised, the
   * same group again with a savepoint per append. Settles every member.
   */
  async #commitGroup(group: PendingAppend[]): Promise<void> {
    const only = group.length === 1 ? group[0]! : undefined;
    if (only && only.lease === undefined) return this.#commitAlone(only);
    const fenced = group.some((m) => m.lease !== undefined);
    const apps = group.flatMap((m, i) => m.rows.map(() => i + 1));
    const ids = group.flatMap((m) => m.rows.map((r) => r.id));
    const values = [
      group.map((m) => m.streamId),
      group.map((m) => m.expected),
      fenced ? group.map((m) => m.lease?.owner ?? null) : null,
      fenced ? group.map((m) => m.lease?.token ?? null) : null,
      apps,
      ids,
      group.flatMap((m) => m.rows.map((r) => r.kind)),
      group.flatMap((m) => m.rows.map((r) => r.at)),
      group.flatMap((m) => m.rows.map((r) => r.body)),
      group.map((m) => m.ended),
    ];
    let row: GroupRow | undefined;
    try {
      row = (await this.#pool.query<GroupRow>({ name: this.#statements.group, text: this.#statements.groupText, values })).rows[0];
    } catch (error) {
      const wrapped = this.#wrap('append to', error);
      // Nothing of the group was stored. Unless the database is out of reach (the outcome of
      // the commit unknown) or the schema lacks the function, one append broke it: find which.
      if (wrapped.code === 'SWB_STORE_UNAVAILABLE' || wrapped.code === 'SWB_SCHEMA_MISSING') {
        for (const m of group) m.reject(wrapped);
        return;
      }
      try {
        row = (await this.#pool.query<GroupRow>(this.#statements.guardedText, values)).rows[0];
      } catch (again) {
        const failed = this.#wrap('append to', again);
        for (const m of group) m.reject(failed);
        return;
      }
    }
    if (!row) {
      const failed = new SwitchboardError('SWB_STORE_FAILED', 'the database returned no outcome for a group of appends');
      for (const m of group) m.reject(failed);
      return;
    }

    const held = new Map<number, Set<string>>();
    for (const k of row.o_held) {
      const app = apps[k - 1]!;
      const set = held.get(app) ?? new Set<string>();
      held.set(app, set.add(ids[k - 1]!));
    }
    const outcomes = group.map((_m, i): Outcome => {
      const failure = row.o_sqlstates?.[i];
      if (failure) {
        return { written: false, failure: Object.assign(new Error(row.o_errors?.[i] ?? 'the append failed'), { code: failure }) };
      }
      if (row.o_fenced[i]) return { written: false, fenced: true };
      if (!row.o_ok[i]) return { written: false, conflict: row.o_before[i] ?? 0 };
      return { written: true, before: row.o_before[i] ?? 0, held: held.get(i + 1) ?? new Set() };
    });
    // The database wrote what the outcomes say, or something is badly wrong.
    const expected = group.reduce((n, m, i) => {
      const o = outcomes[i]!;
      return o.written ? n + m.rows.length - o.held.size : n;
    }, 0);
    for (const [i, m] of group.entries()) {
      const outcome = outcomes[i]!;
      if (outcome.written && expected !== row.o_inserted) {
        const message = `the database wrote ${row.o_inserted} entries for a group of appends, expected ${expected}`;
        m.reject(new SwitchboardError('SWB_STORE_FAILED', message));
        continue;
      }
      this.#settle(m, outcome);
    }
  }

  /**
   * A group of one unfenced append (no load): `append_entries`, the single-stream function,
   * which does less than the group's (no arrays to line up, no savepoints to fall back to).
   */
  async #commitAlone(m: PendingAppend): Promise<void> {
    let row: AloneRow | undefined;
    try {
      const { rows } = m;
      const columns = [rows.map((r) => r.id), rows.map((r) => r.kind), rows.map((r) => r.at), rows.map((r) => r.body)];
      const values = [m.streamId, m.expected, ...columns, m.ended];
      row = (await this.#pool.query<AloneRow>({ name: this.#statements.alone, text: this.#statements.aloneText, values })).rows[0];
    } catch (error) {
      m.reject(this.#wrap('append to', error));
      return;
    }
    if (!row) {
      m.reject(new SwitchboardError('SWB_STORE_FAILED', `stream ${m.streamId}: the database returned no outcome for the append`));
      return;
    }
    if (row.o_conflict) return this.#settle(m, { written: false, conflict: row.o_version });
    const held = new Set(row.o_existing);
    if (row.o_before + m.rows.length - held.size !== row.o_version) {
      const fresh = m.rows.length - held.size;
      const message = `stream ${m.streamId}: the database wrote ${row.o_version - row.o_before} entries, expected ${fresh}`;
      m.reject(new SwitchboardError('SWB_STORE_FAILED', message));
      return;
    }
    this.#settle(m, { written: true, before: row.o_before, held });
  }

  /** Resolves or rejects one append by its outcome, and announces what it wrote. */
  #settle(m: PendingAppend, outcome: Outcome): void {
    if (!outcome.written) {
      if ('failure' in outcome) m.reject(this.#wrap(`append to stream ${m.streamId.slice(0, 80)} in`, outcome.failure));
      else if ('fenced' in outcome) {
        const { owner, token } = m.lease!;
        const message = `stream ${m.streamId}: ${owner} does not hold its lease with token ${token}; nothing was written`;
        m.reject(new SwitchboardError('SWB_LEASE_LOST', message));
      } else m.reject(new ExpectedVersionConflictError(m.streamId, m.expected ?? 0, outcome.conflict));
      return;
    }
    const { fresh, duplicates } = splitDuplicates(m.entries, (id) => outcome.held.has(id));
    const appended = fresh.map((entry, i) => ({ ...entry, position: outcome.before + i + 1 }) as StoredEntry);
    const version = outcome.before + fresh.length;
    if (appended.length > 0) {
      // the rows written are the batch's first occurrences the stream did not hold, in order
      const written = outcome.held.size === 0 ? m.rows : m.rows.filter((r) => !outcome.held.has(r.id));
      this.#announce(m.streamId, version, outcome.before + 1, written);
    }
    m.resolve({ appended, duplicates, version });
  }

  /**
   * Tells every listening instance that the stream moved, after the append committed and
   * outside its transaction: a NOTIFY inside it would serialise concurrent commits on
   * PostgreSQL's notification lock. Announcements go out in one statement per batch on a
   * pooled connection, off the appender's path (the append has resolved; `close()` waits for
   * them): those of one tick together, and while one batch is out, everything committed
   * meanwhile waits to go in the next (one round trip and one transaction per batch; a
   * NOTIFY writes no WAL, so its commit waits for no flush). If
   * this instance dies between a commit and its NOTIFY, listeners learn of the append from the
   * stream's next one, or when they reconnect or poll (they catch up from `updated_at`). A
   * failed NOTIFY goes to `onError`: the entries are stored.
   *
   * An announcement carries the entries written (their stored JSON and first position) while
   * its payload stays under PostgreSQL's 8,000 bytes, so a listener that follows the stream
   * folds them without a read; two appends of a stream announced together carry both. One
   * that does not fit names the stream and version alone, and so does a batch whose NOTIFY
   * failed with the entries in it (sent again without them).
   */
  #announce(streamId: string, version: number, from: number, rows: readonly EncodedEntry[]): void {
    const bodies = carriedBodies(rows);
    const prior = this.#announcing.get(streamId);
    if (!prior) this.#announcing.set(streamId, { version, from, bodies });
    else if (version > prior.version) {
      // two appends of the stream before the batch left: one announcement, carrying both when they follow on
      const both = prior.bodies && bodies && from === prior.version + 1 ? [...prior.bodies, ...bodies] : undefined;
      this.#announcing.set(streamId, { version, from: prior.from, bodies: both });
    }
    if (!this.#announcer) this.#startAnnouncer();
  }

  #startAnnouncer(): void {
    this.#announcer = this.#sendAnnouncements().finally(() => {
      this.#announcer = undefined;
      // made after the last batch left, before this ran
      if (this.#announcing.size > 0) this.#startAnnouncer();
    });
  }

  async #sendAnnouncements(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.#announcing.size > 0) {
      const batch = this.#announcing;
      this.#announcing = new Map();
      const heads: string[] = [];
      const tails: string[] = [];
      let carrying = false;
      for (const [streamId, a] of batch) {
        const head = `{"s":${JSON.stringify(streamId)},"v":${a.version},"t":`;
        const tail = a.bodies ? carriedTail(head, a) : '}';
        carrying ||= tail !== '}';
        heads.push(head);
        tails.push(tail);
      }
      try {
        await this.#notifyBatch(heads, tails);
      } catch (error) {
        // the entries are stored: announce the versions alone (listeners read the streams), and
        // if even that fails, the listeners' catch-up poll finds the appends
        try {
          if (!carrying) throw error;
          await this.#notifyBatch(
            heads,
            tails.map(() => '}'),
          );
        } catch (again) {
          this.#onError(this.#wrap('announce appends to', again));
        }
      }
    }
  }

  async #notifyBatch(heads: readonly string[], tails: readonly string[]): Promise<void> {
    const values = [appendChannel(this.schema), heads, tails];
    await this.#pool.query({ name: this.#statements.announce, text: this.#statements.announceText, values });
  }

  /**
   * The live streams: not ended, or ended at or after `endedSince` (ms, the `at` of the entry
   * that ended the call), by the live index kept with each append; not the log.
   */
  async listLiveStreams(endedSince: number): Promise<readonly string[]> {
    await this.#ready();
    const { rows } = await this.#query<{ stream_id: string }>(
      'list',
      `SELECT stream_id FROM ${this.schema}.streams WHERE ended_at IS NULL AND version > 0
       UNION ALL SELECT stream_id FROM ${this.schema}.streams WHERE ended_at >= $1 AND version > 0`,
      [endedSince],
    );
    return rows.map((row) => row.stream_id);
  }

  /** The streams whose call ended before `cutoff` (ms), earliest end first, at most `limit`: what the archive moves out. */
  async listEndedBefore(cutoff: number, limit: number): Promise<readonly EndedStream[]> {
    await this.#ready();
    const { rows } = await this.#query<EndedStream>(
      'list',
      `SELECT stream_id AS "streamId", version, ended_at AS "endedAt" FROM ${this.schema}.streams
        WHERE ended_at < $1 AND version > 0 ORDER BY ended_at LIMIT $2`,
      [cutoff, limit],
    );
    return rows;
  }

  /**
   * Deletes these streams (entries, snapshot, lease and stream row) in one transaction, only
   * if every one is still at the version given (their rows locked, so an append to one waits
   * and then finds it gone); otherwise deletes nothing and resolves to false. For the archive,
   * once the streams are durably written elsewhere. Appends to other streams do not wait.
   */
  async deleteStreams(streams: readonly { readonly streamId: string; readonly version: number }[]): Promise<boolean> {
    await this.#ready();
    const ids = streams.map((s) => s.streamId);
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (error) {
      throw this.#wrap('connect to', error);
    }
    let lost: Error | undefined;
    const onLost = (error: Error) => {
      lost = error;
    };
    client.on('error', onLost);
    const s = this.schema;
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<{ stream_id: string; version: number }>(
        `SELECT stream_id, version FROM ${s}.streams WHERE stream_id = ANY ($1::text[]) ORDER BY stream_id FOR UPDATE`,
        [ids],
      );
      const held = new Map(rows.map((r) => [r.stream_id, r.version]));
      if (!streams.every((x) => held.get(x.streamId) === x.version)) {
        await client.query('ROLLBACK');
        return false;
      }
      await client.query(`DELETE FROM ${s}.entries WHERE stream_id = ANY ($1::text[])`, [ids]);
      await client.query(`DELETE FROM ${s}.snapshots WHERE stream_id = ANY ($1::text[])`, [ids]);
      await client.query(`DELETE FROM ${s}.leases WHERE stream_id = ANY ($1::text[])`, [ids]);
      await client.query(`DELETE FROM ${s}.streams WHERE stream_id = ANY ($1::text[])`, [ids]);
      await client.query('COMMIT');
      return true;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw this.#wrap('delete from', error);
    } finally {
      client.off('error', onLost);
      client.release(lost);
    }
  }

  /** How many of these streams the store holds (any version). */
  async countStreams(streamIds: readonly string[]): Promise<number> {
    await this.#ready();
    const { rows } = await this.#query<{ n: number }>(
      'read',
      `SELECT count(*)::int AS n FROM ${this.schema}.streams WHERE stream_id = ANY ($1::text[])`,
      [streamIds],
    );
    return rows[0]?.n ?? 0;
  }

  /** Every stream holding at least one entry, by when each was first written (the transaction's start; ties by id). */
  async listStreams(): Promise<readonly string[]> {
    await this.#ready();
    const { rows } = await this.#query<{ stream_id: string }>(
      'list',
      `SELECT stream_id FROM ${this.schema}.streams WHERE version > 0 ORDER BY created_at, stream_id`,
    );
    return rows.map((row) => row.stream_id);
  }

  /** The last snapshot written for the stream, or `undefined`. Not validated: the engine checks `machineVersion`. */
  async readSnapshot(streamId: string): Promise<CallSnapshot | undefined> {
    await this.#ready();
    const { rows } = await this.#query<{ body: CallSnapshot }>(
      'read a snapshot of',
      `SELECT body FROM ${this.schema}.snapshots WHERE stream_id = $1`,
      [streamId],
    );
    return rows[0]?.body;
  }

  /**
   * Replaces the stream's snapshot (kept beside the log, in the same schema), unless the one
   * stored is further along for the same machine version: several instances folding the same
   * call may write in any order, and an older snapshot would only lengthen the tail to replay.
   */
  async writeSnapshot(streamId: string, snapshot: CallSnapshot): Promise<void> {
    const body = encodeSnapshot(streamId, snapshot);
    await this.#ready();
    await this.#query(
      'write a snapshot of',
      `INSERT INTO ${this.schema}.snapshots (stream_id, position, machine_version, body) VALUES ($1, $2, $3, $4::json)
       ON CONFLICT (stream_id) DO UPDATE SET position = excluded.position, machine_version = excluded.machine_version,
         body = excluded.body, written_at = now()
       WHERE ${this.schema}.snapshots.position <= excluded.position
          OR ${this.schema}.snapshots.machine_version <> excluded.machine_version`,
      [streamId, Number(snapshot.position) || 0, String(snapshot.machineVersion), body],
    );
  }

  /**
   * Calls `listener(streamId, version)` for every append any instance commits from now on,
   * this one included. Resolves once listening (so nothing committed afterwards is missed);
   * rejects with `SWB_STORE_UNAVAILABLE` if the first connection fails. The first subscription
   * opens one dedicated connection, kept until `close()`; when it drops, it reconnects with
   * backoff and reports every stream appended meanwhile (`onError` hears of the drop).
   * A listener gets hints, possibly repeated: read the stream after the position you hold.
   * Its third argument, when the announcement carried the entries (under 8,000 bytes), decodes
   * them on demand: fold them instead of reading when they follow on from what you hold.
   */
  async subscribe(listener: AppendListener): Promise<Unsubscribe> {
    this.#assertOpen();
    if (typeof listener !== 'function') throw new SwitchboardError('SWB_INVALID_ARGUMENT', 'subscribe needs a listener function');
    await this.#ready();
    return this.#notifications.subscribe(listener);
  }

  /** Whether the LISTEN connection is up (false before the first `subscribe` and while reconnecting). */
  get listening(): boolean {
    return this.#notifications.listening;
  }

  /**
   * Takes the lease on a call for `owner` for `ttlMs`, if nobody else holds it: a new lease, a
   * lapsed one taken over, or the owner's own extended. Otherwise `{ acquired: false, holder }`.
   * Expiry is decided by the database's clock.
   */
  async acquireLease(streamId: string, owner: string, ttlMs: number): Promise<LeaseResult> {
    checkOwner(owner);
    checkTtl(ttlMs);
    await this.#ready();
    // The holder can release between our two statements; then the lease is free: try again.
    for (let attempt = 0; attempt < 3; attempt++) {
      const taken = await this.#query<LeaseRow>('acquire a lease in', this.#lease.acquire, [streamId, owner, ttlMs]);
      if (taken.rows[0]) return { acquired: true, lease: toLease(taken.rows[0]) };
      const holder = await this.#query<LeaseRow>('read a lease in', this.#lease.get, [streamId]);
      if (holder.rows[0]) return { acquired: false, holder: toLease(holder.rows[0]) };
    }
    throw new SwitchboardError('SWB_STORE_FAILED', `stream ${streamId}: the lease kept changing hands; try again`);
  }

  /**
   * Extends `owner`'s live lease to `ttlMs` from now (the database's now). Resolves to
   * `undefined` when the owner no longer holds it (it lapsed, or was released or taken):
   * stop running the call's timers and commands then, and `acquireLease` again if you must.
   */
  async renewLease(streamId: string, owner: string, ttlMs: number): Promise<Lease | undefined> {
    checkOwner(owner);
    checkTtl(ttlMs);
    await this.#ready();
    const { rows } = await this.#query<LeaseRow>('renew a lease in', this.#lease.renew, [streamId, owner, ttlMs]);
    return rows[0] ? toLease(rows[0]) : undefined;
  }

  /** Gives up `owner`'s lease so another instance can take it at once. Resolves to whether the owner held it. */
  async releaseLease(streamId: string, owner: string): Promise<boolean> {
    checkOwner(owner);
    await this.#ready();
    const { rows } = await this.#query('release a lease in', this.#lease.release, [streamId, owner]);
    return rows.length > 0;
  }

  /** The call ended: `owner` lets its lease go for good (see `ClaimableLeases.endLease`). Resolves to whether the owner held it. */
  async endLease(streamId: string, owner: string): Promise<boolean> {
    checkOwner(owner);
    await this.#ready();
    const { rows } = await this.#query('end a lease in', this.#lease.end, [streamId, owner]);
    return rows.length > 0;
  }

  /**
   * The calls `owner` may have to take over (see `ClaimableLeases.claimableCalls`). Reads the
   * whole leases table and the streams never leased: a query per sweep, not per call.
   */
  async claimableCalls(owner: string, neverLeasedForMs: number): Promise<readonly string[]> {
    checkOwner(owner);
    checkTtl(neverLeasedForMs);
    await this.#ready();
    const { rows } = await this.#query<{ stream_id: string }>('list the calls to take over in', this.#lease.claimable, [
      owner,
      neverLeasedForMs,
      QUARANTINE_STREAM,
    ]);
    return rows.map((row) => row.stream_id);
  }

  /** The live lease on a call, or `undefined` when nobody holds it. */
  async getLease(streamId: string): Promise<Lease | undefined> {
    await this.#ready();
    const { rows } = await this.#query<LeaseRow>('read a lease in', this.#lease.get, [streamId]);
    return rows[0] ? toLease(rows[0]) : undefined;
  }

  /**
   * Stops listening and, when the store made the pool, ends it (waiting for queries in
   * flight). Idempotent; later calls throw `SWB_STORE_CLOSED`. Leases are not released.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    // appends already made are committed, and their announcements still go out
    await Promise.allSettled([...this.#appending]);
    while (this.#announcer) await this.#announcer;
    this.#closed = true;
    await this.#notifications.close();
    if (this.#ownsPool) await this.#pool.end();
    else this.#pool.off('error', this.#poolErrors);
  }

  async #ready(): Promise<void> {
    this.#assertOpen();
    if (!this.#autoMigrate) return;
    // Memoised, but forgotten on failure: a database that was down at boot is retried.
    this.#migrated ??= this.migrate().catch((error: unknown) => {
      this.#migrated = undefined;
      throw error;
    });
    await this.#migrated;
  }

  async #version(streamId: string): Promise<number> {
    const { rows } = await this.#query<{ version: number }>(
      'read the version of',
      `SELECT version FROM ${this.schema}.streams WHERE stream_id = $1`,
      [streamId],
    );
    return rows[0]?.version ?? 0;
  }

  async #streamsUpdatedSince(sinceMs: number): Promise<Array<{ streamId: string; version: number }>> {
    const { rows } = await this.#query<{ stream_id: string; version: number }>(
      'catch up with',
      `SELECT stream_id, version FROM ${this.schema}.streams
        WHERE version > 0 AND updated_at >= to_timestamp($1::float8 / 1000) ORDER BY updated_at`,
      [sinceMs],
    );
    return rows.map((row) => ({ streamId: row.stream_id, version: row.version }));
  }

  async #query<R extends pg.QueryResultRow>(what: string, text: string, values?: unknown[]): Promise<pg.QueryResult<R>> {
    this.#assertOpen();
    try {
      return await this.#pool.query<R>(text, values);
    } catch (error) {
      throw this.#wrap(what, error);
    }
  }

  #assertOpen(): void {
    if (this.#closed) throw storeClosedError('PostgreSQL');
  }

  /** A pg or network error as a `SwitchboardError` with a code a caller can branch on. */
  #wrap(what: string, error: unknown): SwitchboardError {
    if (error instanceof SwitchboardError) return error;
    const code = String((error as { code?: unknown } | null)?.code ?? '');
    const detail = (error as Error | null)?.message ?? String(error);
    const target = `the PostgreSQL event store (${this.#where}, schema ${this.schema})`;
    if (isUnavailable(code, detail)) {
      return new SwitchboardError('SWB_STORE_UNAVAILABLE', `could not ${what} ${target}: ${detail}`, { cause: error });
    }
    if (code === '3F000' || code === '42P01' || code === '42883') {
      return new SwitchboardError(
        'SWB_SCHEMA_MISSING',
        `could not ${what} ${target}: the schema is missing or incomplete; run migrate() (${detail})`,
        { cause: error },
      );
    }
    return new SwitchboardError('SWB_STORE_FAILED', `could not ${what} ${target}: ${detail}`, { cause: error });
  }
}

function appendStatements(schema: string) {
  const args =
    '$1::text[], $2::integer[], $3::text[], $4::bigint[], $5::integer[], $6::text[], $7::text[], $8::float8[], $9::text[], $10::float8[]';
  return {
    group: `swb_append_group_${schema}`,
    groupText: `SELECT * FROM ${schema}.append_group(${args})`,
    guardedText: `SELECT * FROM ${schema}.append_group_guarded(${args})`,
    announce: `swb_announce_${schema}`,
    // (see notifications.ts for the payload: the header, the database's time, then the entries carried)
    announceText: `SELECT pg_notify($1, a.head || (extract(epoch FROM clock_timestamp()) * 1000)::text || a.tail)
                     FROM unnest($2::text[], $3::text[]) AS a (head, tail)`,
    alone: `swb_append_entries_${schema}`,
    aloneText: `SELECT o_conflict, o_before, o_version, o_existing FROM ${schema}.append_entries($1, $2, $3, $4, $5, $6, $7::float8)`,
  };
}

/** The JSON bodies of rows to carry in an announcement, or undefined when they cannot fit one anyway. */
function carriedBodies(rows: readonly EncodedEntry[]): readonly string[] | undefined {
  let chars = 0;
  for (const r of rows) chars += r.body.length;
  return chars > MAX_CARRIED_PAYLOAD_BYTES ? undefined : rows.map((r) => r.body);
}

/** The end of an announcement's payload carrying its entries, or `}` when the payload would be too long. */
function carriedTail(head: string, a: Announcement): string {
  const tail = `${CARRIED_MARK}${a.from},"e":[${a.bodies!.join(',')}]}`;
  // a UTF-8 character is at most 3 bytes per UTF-16 unit: count bytes only when it matters
  const bound = (head.length + tail.length) * 3;
  if (bound > MAX_CARRIED_PAYLOAD_BYTES && Buffer.byteLength(head) + Buffer.byteLength(tail) > MAX_CARRIED_PAYLOAD_BYTES) return '}';
  return tail;
}

function isUnavailable(code: string, message: string): boolean {
  return (
    ['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'ETIMEDOUT', 'EHOSTUNREACH', 'EPIPE', '57P01', '57P02', '57P03', '53300'].includes(code) ||
    code.startsWith('08') ||
    /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(message)
  );
}

function checkId(what: string, streamId: string, id: string): void {
  if (typeof id !== 'string' || id.includes('\u0000') || Buffer.byteLength(id, 'utf8') > MAX_ID_BYTES) {
    throw new SwitchboardError(
      what === 'stream id' ? 'SWB_INVALID_ARGUMENT' : 'SWB_INVALID_ENTRY',
      `stream ${String(streamId).slice(0, 80)}: a ${what} for PostgreSQL must be at most ${MAX_ID_BYTES} bytes and contain no NUL`,
    );
  }
}

/** host:port/database of a connection, without credentials, for error messages. */
function describeTarget(config: pg.ClientConfig): string {
  if (config.connectionString) {
    try {
      const url = new URL(config.connectionString);
      return `${url.hostname}:${url.port || 5432}${url.pathname}`;
    } catch {
      return 'the configured database';
    }
  }
  return `${config.host ?? 'localhost'}:${config.port ?? 5432}/${config.database ?? ''}`;
}
