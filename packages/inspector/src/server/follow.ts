import type { EventStore } from '../deps.js';

/** Told that a stream reached a version (or a later one): a hint to read it after what is held. */
export type AppendListener = (streamId: string, version: number) => void;

/**
 * How the console hears of appends, for a store it cannot recognise: called once with the
 * listener, returns what stops it. (An in-memory store in tests, a bus of your own.)
 */
export type ChangeSource = (listener: AppendListener) => (() => void) | Promise<() => void>;

/** What the console knows how to follow a store by. */
export interface Follower {
  /** How, in words, for the page's header. */
  readonly how: string;
  /** Starts hearing of appends; resolves once every append after it will be heard. */
  start(listener: AppendListener): Promise<void>;
  /** Looks for appends now (a cheap check), where the store must be asked. */
  check(): Promise<void>;
  /** Whether `check` should also run on a timer while someone watches. */
  readonly polls: boolean;
  stop(): void;
}

interface PgLike {
  subscribe(listener: AppendListener): Promise<() => void>;
}

interface SqliteLike {
  appendedSince(
    cursor?: number,
  ): Promise<{ readonly cursor: number; readonly streams: ReadonlyArray<{ readonly streamId: string; readonly version: number }> }>;
}

/**
 * Picks how to follow a store: a change source given, the store's own append notifications
 * (`PgEventStore.subscribe`: LISTEN/NOTIFY), or the SQLite store's `appendedSince` (the
 * entries' row ids past a cursor: a cheap check that reads no entry). Otherwise nothing: pages
 * show the log as it was when they were loaded.
 */
export function followerFor(store: EventStore, source: ChangeSource | undefined): Follower {
  if (source) return sourceFollower(source, 'the change source given');
  const pg = store as Partial<PgLike>;
  if (typeof pg.subscribe === 'function') return sourceFollower((l) => pg.subscribe!.call(store, l), "the store's append notifications");
  const sqlite = store as Partial<SqliteLike>;
  if (typeof sqlite.appendedSince === 'function') return sqliteFollower(store as unknown as SqliteLike);
  return {
    how: 'not live: this store announces no appends (reload to see new entries)',
    polls: false,
    start: async () => undefined,
    check: async () => undefined,
    stop: () => undefined,
  };
}

function sourceFollower(source: ChangeSource, how: string): Follower {
  let stop: (() => void) | undefined;
  let stopped = false;
  return {
    how: `live, through ${how}`,
    polls: false,
    async start(listener) {
      const unsubscribe = await source(listener);
      if (stopped) unsubscribe();
      else stop = unsubscribe;
    },
    check: async () => undefined,
    stop() {
      stopped = true;
      stop?.();
      stop = undefined;
    },
  };
}

function sqliteFollower(store: SqliteLike): Follower {
  let cursor: number | undefined;
  let listener: AppendListener | undefined;
  let checking: Promise<void> | undefined;
  const check = async () => {
    if (cursor === undefined || listener === undefined) return;
    const found = await store.appendedSince(cursor);
    cursor = found.cursor;
    for (const s of found.streams) listener(s.streamId, s.version);
  };
  return {
    how: 'live, by a change check on the entries table',
    polls: true,
    async start(l) {
      listener = l;
      cursor = (await store.appendedSince()).cursor;
    },
    check() {
      // one check at a time; callers during one share it
      checking ??= check().finally(() => (checking = undefined));
      return checking;
    },
    stop() {
      listener = undefined;
    },
  };
}
