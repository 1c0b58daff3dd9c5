/**
 * What a store may offer beyond the `EventStore` port, declared as ports of their own so a
 * store says which it implements (`class PgEventStore implements EventStore, CallLeases,
 * AppendNotifier`) and the runtime asks with a type guard instead of probing for methods.
 * Every capability is optional: a store shared by one process needs none of them.
 */
import type { StoredEntry } from './entries.js';
import type { EventStore } from './store.js';

/** A lease as the store (its database's clock) saw it when it answered. */
export interface Lease {
  readonly streamId: string;
  readonly owner: string;
  /**
   * Grows each time the lease is granted anew (another owner, or the same one after it
   * lapsed): a fencing token. Renewing keeps it. Work stamped with an older token is stale:
   * a store that fences appends (`PgEventStore.appendToStream(id, entries, { lease })`)
   * writes only while the owner holds the lease with this token.
   */
  readonly token: number;
  /** When this owner's tenure began, by the store's clock. */
  readonly acquiredAt: Date;
  /** When the lease lapses unless renewed, by the store's clock. */
  readonly expiresAt: Date;
  /**
   * Milliseconds left when the store answered. Schedule renewal from this and your own
   * clock at the time you sent the request, not from `expiresAt` against your clock's now: local clocks
   * may be skewed against the store's.
   */
  readonly remainingMs: number;
}

/** `acquired: false` says who holds the lease instead. */
export type LeaseResult = { readonly acquired: true; readonly lease: Lease } | { readonly acquired: false; readonly holder: Lease };

/** What fences an append: written only while `owner` holds the stream's live lease with `token`. */
export interface LeaseFence {
  readonly owner: string;
  readonly token: number;
}

/**
 * Per-call ownership leases, so that of several instances sharing a store exactly one runs
 * a call's timers and sends its automatic commands. A lease has an owner and an expiry; the
 * owner renews it before it lapses; once it lapses anyone may take it over, with a higher
 * fencing token.
 */
export interface CallLeases {
  /** Takes the lease if nobody else holds it (new, lapsed, or the owner's own, extended). */
  acquireLease(streamId: string, owner: string, ttlMs: number): Promise<LeaseResult>;
  /** Extends the owner's live lease (same token); `undefined` when the owner no longer holds it. */
  renewLease(streamId: string, owner: string, ttlMs: number): Promise<Lease | undefined>;
  /** Gives the lease up so another instance can take it at once; resolves to whether the owner held it. */
  releaseLease(streamId: string, owner: string): Promise<boolean>;
  /** The live lease on a stream, or `undefined` when nobody holds it. */
  getLease(streamId: string): Promise<Lease | undefined>;
}

/**
 * Leases that also know which calls are to be taken over, so an instance need not hold every
 * call to find them: with it (`PgEventStore`, `ShardedPgEventStore`), the runtime holds only
 * the calls its instance owns (and those loaded on demand), and finds the calls to take over
 * with one query per sweep instead of among the calls it holds.
 */
export interface ClaimableLeases {
  /**
   * The call ended: `owner` lets its lease go for good, and `claimableCalls` lists it no
   * more. Resolves to whether the owner held it.
   */
  endLease(streamId: string, owner: string): Promise<boolean>;
  /**
   * The calls `owner` may have to take over: those whose lease lapsed or was released (not
   * ended), those `owner` itself holds (an instance restarted under the same name), and those
   * nobody ever leased whose stream is older than `neverLeasedForMs` and whose call has not
   * ended (the instance that wrote their first entry died before taking the lease).
   */
  claimableCalls(owner: string, neverLeasedForMs: number): Promise<readonly string[]>;
}

/**
 * Told that `streamId` reached `version` (or a later one). A hint, not the data: read the
 * stream after the last position you hold. The same version may be reported more than once.
 *
 * `carried`, when the announcement carried what was appended (PostgreSQL, when it fits a
 * NOTIFY): decodes those entries, in position order and ending at `version`, or undefined when
 * they cannot be read. Decoding happens only when called, so a listener that does not follow
 * the stream pays nothing for it. Entries starting past the position you hold leave a gap:
 * read the stream then, as without them.
 */
export type AppendListener = (streamId: string, version: number, carried?: CarriedEntries) => void;

/** The entries an append announcement carried (see `AppendListener`). */
export type CarriedEntries = () => readonly StoredEntry[] | undefined;

/** Stops a subscription. Idempotent. */
export type Unsubscribe = () => void;

/** Announces appends, this instance's and every other's sharing the store. */
export interface AppendNotifier {
  /**
   * Calls `listener` for every append committed from now on. Resolves once listening, so
   * nothing committed afterwards is missed.
   */
  subscribe(listener: AppendListener): Promise<Unsubscribe>;
}

/** A store that starts up in the background (a writer thread) and can say when it takes writes without waiting. */
export interface StoreReadiness {
  /** Resolves once appends no longer wait for the store's start-up; rejects if the start-up failed. */
  ready(): Promise<void>;
}

/** Whether the store implements `CallLeases`. */
export function hasCallLeases<S extends EventStore>(store: S): store is S & CallLeases {
  const s = store as Partial<CallLeases>;
  return (
    typeof s.acquireLease === 'function' &&
    typeof s.renewLease === 'function' &&
    typeof s.releaseLease === 'function' &&
    typeof s.getLease === 'function'
  );
}

/** Whether the leases (a store's, or given apart) implement `ClaimableLeases`. */
export function hasClaimableLeases<L extends CallLeases>(leases: L): leases is L & ClaimableLeases {
  const l = leases as Partial<ClaimableLeases>;
  return typeof l.endLease === 'function' && typeof l.claimableCalls === 'function';
}

/** Whether the store implements `AppendNotifier`. */
export function hasAppendNotifier<S extends EventStore>(store: S): store is S & AppendNotifier {
  return typeof (store as Partial<AppendNotifier>).subscribe === 'function';
}

/** Whether the store implements `StoreReadiness`. */
export function hasReadiness<S extends EventStore>(store: S): store is S & StoreReadiness {
  return typeof (store as Partial<StoreReadiness>).ready === 'function';
}

/** A stream whose call ended (the live index): its version and when it ended (ms, the `at` of the entry that ended it). */
export interface EndedStream {
  readonly streamId: string;
  readonly version: number;
  readonly endedAt: number;
}

/**
 * What the archive needs of a store beyond the port: the calls that ended before a time, by
 * the live index, and their deletion once archived (`SqliteEventStore`, `PgEventStore`).
 */
export interface ArchivableStore {
  /** The streams whose call ended before `cutoff` (ms), earliest end first, at most `limit`. */
  listEndedBefore(cutoff: number, limit: number): Promise<readonly EndedStream[]>;
  /**
   * Deletes these streams (entries, snapshot, lease) in one transaction, only if every one is
   * still at the version given; otherwise deletes nothing and resolves to false.
   */
  deleteStreams(streams: readonly { readonly streamId: string; readonly version: number }[]): Promise<boolean>;
  /** How many of these streams the store holds (any version). */
  countStreams(streamIds: readonly string[]): Promise<number>;
}

/** Does the store support the archive (`ArchivableStore`)? */
export function hasArchiving(store: EventStore): store is EventStore & ArchivableStore {
  const s = store as Partial<ArchivableStore>;
  return typeof s.listEndedBefore === 'function' && typeof s.deleteStreams === 'function' && typeof s.countStreams === 'function';
}
