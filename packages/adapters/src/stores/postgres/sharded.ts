/**
 * Calls partitioned across several PostgreSQL databases: each stream lives in one shard,
 * chosen by a stable hash of its call id. Every operation on a stream (read, append,
 * snapshot, lease) goes to its shard alone; appends made together are grouped per shard
 * (each shard's `PgEventStore` commits its own groups), so no transaction ever spans two
 * shards. Only the fleet-wide listings (`listStreams`, `listLiveStreams`, `claimableCalls`,
 * the archive's `listEndedBefore`) ask every shard.
 */
import {
  SwitchboardError,
  canonicalId,
  type AppendListener,
  type AppendNotifier,
  type AppendResult,
  type CallLeases,
  type ArchivableStore,
  type CallSnapshot,
  type ClaimableLeases,
  type EndedStream,
  type EventStore,
  type Lease,
  type LeaseResult,
  type LogEntry,
  type ReadOptions,
  type StoredEntry,
  type Unsubscribe,
} from '@switchboard/core';
import type { PgAppendOptions, PgEventStore } from './pg-store.js';

export interface ShardedPgEventStoreOptions {
  /**
   * One store per database, in a fixed order: a stream's shard is its index here. Changing
   * the list (or its order) moves streams between shards, which needs their rows moved too.
   * The sharded store closes them on `close()`.
   */
  readonly shards: readonly PgEventStore[];
}

/**
 * Which of `shards` holds a call: jump consistent hash (Lamping and Veach, 2014) of the
 * 64-bit FNV-1a hash of the call's identity key (`canonicalId`, so every spelling of Graph's
 * id lands in one shard). Stable across processes and versions; growing from n to n + 1
 * shards moves only the streams that go to the new one (about 1 in n + 1).
 */
export function shardOf(streamId: string, shards: number): number {
  if (!Number.isSafeInteger(shards) || shards < 1) {
    throw new SwitchboardError('SWB_INVALID_ARGUMENT', `shards must be a whole number >= 1, got ${String(shards)}`);
  }
  if (shards === 1) return 0;
  let key = fnv1a64(canonicalId(streamId));
  let b = -1;
  let j = 0;
  while (j < shards) {
    b = j;
    key = (key * 2862933555777941757n + 1n) & MASK_64;
    j = Math.floor((b + 1) * (2 ** 31 / Number((key >> 33n) + 1n)));
  }
  return b;
}

const MASK_64 = (1n << 64n) - 1n;
const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const utf8 = new TextEncoder();

function fnv1a64(text: string): bigint {
  let hash = FNV_OFFSET;
  for (const byte of utf8.encode(text)) hash = ((hash ^ BigInt(byte)) * FNV_PRIME) & MASK_64;
  return hash;
}

/**
 * An `EventStore` (with leases and append notifications) over several `PgEventStore`s, one
 * per database: each call's stream, snapshot and lease live in the shard `shardOf` names.
 * Instances of the runtime use it as they use one `PgEventStore`; every instance must list
 * the same shards in the same order.
 *
 * `listStreams` lists shard by shard (each in its own first-written order, not interleaved).
 */
export class ShardedPgEventStore implements EventStore, CallLeases, ClaimableLeases, AppendNotifier, ArchivableStore {
  readonly shards: readonly PgEventStore[];

  constructor(options: ShardedPgEventStoreOptions) {
    if (!Array.isArray(options?.shards) || options.shards.length === 0) {
      throw new SwitchboardError('SWB_INVALID_ARGUMENT', 'ShardedPgEventStore needs `shards`: at least one PgEventStore');
    }
    this.shards = [...options.shards];
  }

  /** The store holding a stream. */
  shard(streamId: string): PgEventStore {
    return this.shards[shardOf(streamId, this.shards.length)]!;
  }

  readStream(streamId: string, options?: ReadOptions): Promise<readonly StoredEntry[]> {
    return this.shard(streamId).readStream(streamId, options);
  }

  appendToStream(streamId: string, entries: readonly LogEntry[], options?: PgAppendOptions): Promise<AppendResult> {
    return this.shard(streamId).appendToStream(streamId, entries, options);
  }

  async listStreams(): Promise<readonly string[]> {
    return (await Promise.all(this.shards.map((s) => s.listStreams()))).flat();
  }

  /** The live streams of every shard (each shard's live index; see `EventStore.listLiveStreams`). */
  async listLiveStreams(endedSince: number): Promise<readonly string[]> {
    return (await Promise.all(this.shards.map((s) => s.listLiveStreams(endedSince)))).flat();
  }

  /**
   * The archive's next batch: calls that ended before `cutoff`, at most `limit`, all from one
   * shard (the one holding the earliest end), so that `deleteStreams` stays one transaction.
   * Successive batches drain every shard.
   */
  async listEndedBefore(cutoff: number, limit: number): Promise<readonly EndedStream[]> {
    const perShard = await Promise.all(this.shards.map((s) => s.listEndedBefore(cutoff, limit)));
    let batch: readonly EndedStream[] = [];
    for (const ended of perShard) {
      const first = ended[0];
      if (first !== undefined && (batch[0] === undefined || first.endedAt < batch[0].endedAt)) batch = ended;
    }
    return batch;
  }

  /**
   * Deletes streams that all live in one shard, in that shard's one transaction (see
   * `PgEventStore.deleteStreams`). A list spanning shards is refused: no transaction spans two
   * databases, and the archive's batches (from `listEndedBefore`) never do.
   */
  async deleteStreams(streams: readonly { readonly streamId: string; readonly version: number }[]): Promise<boolean> {
    const groups = this.#byShard(streams, (s) => s.streamId);
    if (groups.size > 1) {
      throw new SwitchboardError(
        'SWB_INVALID_ARGUMENT',
        `deleteStreams: these ${streams.length} streams live in ${groups.size} shards; a deletion is one transaction in one shard`,
      );
    }
    for (const [shard, group] of groups) return shard.deleteStreams(group);
    return true;
  }

  /** How many of these streams the shards hold (any version). */
  async countStreams(streamIds: readonly string[]): Promise<number> {
    const groups = [...this.#byShard(streamIds, (id) => id)];
    const counts = await Promise.all(groups.map(([shard, ids]) => shard.countStreams(ids)));
    return counts.reduce((a, b) => a + b, 0);
  }

  /** `items` by the shard holding each one's stream, in their order. */
  #byShard<T>(items: readonly T[], streamOf: (item: T) => string): Map<PgEventStore, T[]> {
    const groups = new Map<PgEventStore, T[]>();
    for (const item of items) {
      const shard = this.shard(streamOf(item));
      const group = groups.get(shard);
      if (group) group.push(item);
      else groups.set(shard, [item]);
    }
    return groups;
  }

  readSnapshot(streamId: string): Promise<CallSnapshot | undefined> {
    return this.shard(streamId).readSnapshot(streamId);
  }

  writeSnapshot(streamId: string, snapshot: CallSnapshot): Promise<void> {
    return this.shard(streamId).writeSnapshot(streamId, snapshot);
  }

  /** Creates or upgrades the schema in every shard. */
  async migrate(): Promise<void> {
    await Promise.all(this.shards.map((s) => s.migrate()));
  }

  /** Hears every shard's appends (one LISTEN connection per shard). */
  async subscribe(listener: AppendListener): Promise<Unsubscribe> {
    const settled = await Promise.allSettled(this.shards.map((s) => s.subscribe(listener)));
    const unsubscribes = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      for (const u of unsubscribes) u();
      throw failed.reason;
    }
    return () => {
      for (const u of unsubscribes) u();
    };
  }

  /** Whether every shard's LISTEN connection is up. */
  get listening(): boolean {
    return this.shards.every((s) => s.listening);
  }

  acquireLease(streamId: string, owner: string, ttlMs: number): Promise<LeaseResult> {
    return this.shard(streamId).acquireLease(streamId, owner, ttlMs);
  }

  renewLease(streamId: string, owner: string, ttlMs: number): Promise<Lease | undefined> {
    return this.shard(streamId).renewLease(streamId, owner, ttlMs);
  }

  releaseLease(streamId: string, owner: string): Promise<boolean> {
    return this.shard(streamId).releaseLease(streamId, owner);
  }

  endLease(streamId: string, owner: string): Promise<boolean> {
    return this.shard(streamId).endLease(streamId, owner);
  }

  getLease(streamId: string): Promise<Lease | undefined> {
    return this.shard(streamId).getLease(streamId);
  }

  async claimableCalls(owner: string, neverLeasedForMs: number): Promise<readonly string[]> {
    return (await Promise.all(this.shards.map((s) => s.claimableCalls(owner, neverLeasedForMs)))).flat();
  }

  /** Closes every shard. */
  async close(): Promise<void> {
    await Promise.all(this.shards.map((s) => s.close()));
  }
}
