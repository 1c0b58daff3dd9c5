/**
 * What the durable stores share: how an entry becomes a row and back, and the argument
 * checks the in-memory reference store does not need (it never serialises anything).
 */
import { SwitchboardError, assertAppendable, endsCall, type LogEntry, type ReadOptions, type StoredEntry } from '@switchboard/core';

/** A stream whose call ended (the live index), as the archive lists it. */
export type { EndedStream } from '@switchboard/core';

/** An entry ready to insert: its JSON text and the columns kept beside it for queries. */
export interface EncodedEntry {
  readonly entry: LogEntry;
  readonly id: string;
  readonly kind: string;
  readonly at: number;
  readonly body: string;
}

/**
 * Checks and serialises a batch. Every entry is checked before any is encoded, so a bad
 * entry anywhere rejects the whole batch and nothing is written. A `position` the entry
 * may carry (copied from another store) is not stored: the store assigns its own.
 */
export function encodeEntries(streamId: string, entries: readonly LogEntry[]): EncodedEntry[] {
  if (!Array.isArray(entries)) {
    throw new SwitchboardError('SWB_INVALID_ARGUMENT', `stream ${streamId}: entries must be an array`);
  }
  for (const entry of entries) assertAppendable(streamId, entry);
  return entries.map((entry) => {
    let body: string;
    try {
      // Only the entry's own `position` is the store's; a nested one is data and stays. (A
      // replacer runs for every key of the body, so it is used only when there is one to drop.)
      body = 'position' in entry ? JSON.stringify(entry, dropOwnPosition(entry)) : JSON.stringify(entry);
    } catch (error) {
      throw new SwitchboardError(
        'SWB_INVALID_ENTRY',
        `stream ${streamId}: entry ${entry.id} cannot be serialised to JSON (${(error as Error).message})`,
        { cause: error },
      );
    }
    return { entry, id: entry.id, kind: String(entry.kind), at: entry.at, body };
  });
}

function dropOwnPosition(entry: LogEntry) {
  return function (this: unknown, key: string, value: unknown): unknown {
    return this === entry && key === 'position' ? undefined : value;
  };
}

/** Turns a stored row back into a `StoredEntry`. */
export function decodeEntry(body: unknown, position: number): StoredEntry {
  const entry = (typeof body === 'string' ? JSON.parse(body) : body) as LogEntry;
  return { ...entry, position } as StoredEntry;
}

/**
 * `expectedVersion` must be a whole number >= 0 when given. (The in-memory store treats a
 * nonsense version as a conflict; a durable store refuses it, because a database would.)
 */
export function checkExpectedVersion(streamId: string, expectedVersion: number | undefined): void {
  if (expectedVersion === undefined) return;
  if (!Number.isSafeInteger(expectedVersion) || expectedVersion < 0) {
    throw new SwitchboardError(
      'SWB_INVALID_ARGUMENT',
      `stream ${streamId}: expectedVersion must be a whole number >= 0, got ${String(expectedVersion)}`,
    );
  }
}

/**
 * The position to read after, as the in-memory store reads it: absent, negative or NaN
 * read everything; a fraction rounds down; `Infinity` reads nothing (returned as `null`).
 */
export function readAfter(options: ReadOptions | undefined): number | null {
  const after = options?.after ?? 0;
  if (Number.isNaN(after) || after <= 0) return 0;
  if (!Number.isFinite(after) || after > 2 ** 31 - 1) return null;
  return Math.floor(after);
}

/** The error every store method throws after `close()`. */
export function storeClosedError(store: string): SwitchboardError {
  return new SwitchboardError('SWB_STORE_CLOSED', `the ${store} event store is closed`);
}

/** Validates the snapshot argument: stores persist it as JSON, so it must be an object. */
export function encodeSnapshot(streamId: string, snapshot: unknown): string {
  if (typeof snapshot !== 'object' || snapshot === null) {
    throw new SwitchboardError('SWB_INVALID_ARGUMENT', `stream ${streamId}: a snapshot must be an object`);
  }
  try {
    return JSON.stringify(snapshot);
  } catch (error) {
    throw new SwitchboardError('SWB_INVALID_ARGUMENT', `stream ${streamId}: the snapshot cannot be serialised to JSON`, {
      cause: error,
    });
  }
}

/**
 * For the live index's backfill: records in `ended` when the stored entry in `body` ends its
 * call (the fold's rule, `endsCall`) earlier than what `ended` holds for `key`. A body that
 * is not JSON is skipped.
 */
export function noteEnding<K>(ended: Map<K, number>, key: K, at: number, body: string): void {
  const held = ended.get(key);
  if (held !== undefined && held <= at) return;
  let entry: LogEntry;
  try {
    entry = JSON.parse(body) as LogEntry;
  } catch {
    return;
  }
  if (endsCall(entry)) ended.set(key, at);
}
