/**
 * Tailing appends across instances: one dedicated connection LISTENs on the schema's
 * channel and fans each NOTIFY out to the subscribers. When the connection drops it
 * reconnects with backoff and then reports every stream appended since shortly before it
 * last heard anything, so a subscriber misses nothing (it may hear a version twice).
 *
 * A writer announces its appends after they commit, so one that dies between its commit and
 * its NOTIFY leaves an append nobody heard of. While connected, a poll every `catchUpEveryMs`
 * reports the streams updated since shortly before the previous poll: such an append is
 * heard at most one interval (plus the margin) late.
 */
import type pg from 'pg';
import { SwitchboardError, type AppendListener, type CarriedEntries, type StoredEntry, type Unsubscribe } from '@switchboard/core';
import { decodeEntry } from '../shared.js';

export interface AppendNotificationsOptions {
  readonly channel: string;
  /** Makes the dedicated (non-pooled) connection. */
  readonly connect: () => pg.Client;
  /** Streams updated at or after a database time (ms since the epoch), for catching up. */
  readonly updatedSince: (sinceMs: number) => Promise<ReadonlyArray<{ streamId: string; version: number }>>;
  readonly onError: (error: SwitchboardError) => void;
  readonly reconnectDelayMs: { readonly min: number; readonly max: number };
  /** How often a connected listener polls for appends whose NOTIFY never came (0: never). */
  readonly catchUpEveryMs: number;
}

// A NOTIFY carries the time its writer updated the stream, which may be this much before
// the commit (the notification is sent at commit). Catching up from that far back is cheap.
const CATCH_UP_MARGIN_MS = 5_000;

/**
 * An announcement: `{"s":stream,"v":version,"t":ms}`, then, when the appended entries fit the
 * NOTIFY, `,"p":first position,"e":[entry, ...]}` (the entries as stored, JSON). The header
 * comes first so that a listener reads it alone (a JSON string cannot hold `,"p":` unescaped):
 * an instance that does not follow the stream never parses the entries. An instance of an
 * older version parses the whole object and reads `s`, `v` and `t`, as before.
 */
interface Payload {
  readonly s: string;
  readonly v: number;
  readonly t: number;
}

/** Where the carried entries start in a payload that has them. */
export const CARRIED_MARK = ',"p":';

/** The header of an announcement with the entries it carried, if any, left to decode on demand. */
export function readAnnouncement(payload: string): { readonly header: Payload; readonly carried: CarriedEntries | undefined } {
  const cut = payload.indexOf(CARRIED_MARK);
  if (cut < 0) return { header: JSON.parse(payload) as Payload, carried: undefined };
  const header = JSON.parse(`${payload.slice(0, cut)}}`) as Payload;
  let decoded: readonly StoredEntry[] | undefined | null = null;
  const carried = () => {
    if (decoded === null) decoded = decodeCarried(payload.slice(cut + 1), header.v);
    return decoded;
  };
  return { header, carried };
}

function decodeCarried(rest: string, version: number): readonly StoredEntry[] | undefined {
  try {
    const { p, e } = JSON.parse(`{${rest}`) as { p: unknown; e: unknown };
    if (!Number.isSafeInteger(p) || !Array.isArray(e) || e.length === 0 || (p as number) + e.length - 1 !== version) return undefined;
    return e.map((body, i) => decodeEntry(body, (p as number) + i));
  } catch {
    return undefined;
  }
}

/** The LISTEN side of the PostgreSQL store. Internal: `PgEventStore.subscribe` is the API. */
export class AppendNotifications {
  readonly #options: AppendNotificationsOptions;
  readonly #listeners = new Set<AppendListener>();
  #client: pg.Client | undefined;
  #connecting: Promise<void> | undefined;
  #retry: NodeJS.Timeout | undefined;
  #attempt = 0;
  /**
   * The database time from which a reconnect must catch up: everything committed before it
   * was reported. Undefined before the first session; only moves while `#live`.
   */
  #since: number | undefined;
  /** Connected, and caught up with what the previous session missed. */
  #live = false;
  #closed = false;
  /** The periodic catch-up, while connected. */
  #poll: NodeJS.Timeout | undefined;
  /** The database time the previous poll started at. */
  #polledAt: number | undefined;

  constructor(options: AppendNotificationsOptions) {
    this.#options = options;
  }

  /** Whether the LISTEN connection is up right now. */
  get listening(): boolean {
    return this.#live;
  }

  /**
   * Adds a listener and resolves once the channel is listened to: every append committed
   * after that is reported. Rejects (and adds nothing) when the first connection fails.
   */
  async subscribe(listener: AppendListener): Promise<Unsubscribe> {
    if (this.#closed) throw new SwitchboardError('SWB_STORE_CLOSED', 'the PostgreSQL event store is closed');
    this.#listeners.add(listener);
    try {
      await this.#ensureConnected();
    } catch (error) {
      this.#listeners.delete(listener);
      if (this.#listeners.size > 0) this.#scheduleReconnect();
      throw error;
    }
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** Closes the connection and stops reconnecting. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#listeners.clear();
    if (this.#retry) clearTimeout(this.#retry);
    this.#retry = undefined;
    this.#stopPolling();
    await this.#connecting?.catch(() => undefined);
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => undefined);
  }

  #ensureConnected(): Promise<void> {
    if (this.#live) return Promise.resolve();
    if (this.#retry) {
      clearTimeout(this.#retry);
      this.#retry = undefined;
    }
    this.#connecting ??= this.#connect().finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  async #connect(): Promise<void> {
    const client = this.#options.connect();
    client.on('notification', (message) => {
      if (client === this.#client && message.channel === this.#options.channel) this.#deliver(message.payload);
    });
    client.on('error', (error) => this.#lost(client, error));
    client.on('end', () => this.#lost(client, new Error('the LISTEN connection ended')));
    try {
      await client.connect();
      await client.query(`LISTEN ${this.#options.channel}`);
      const { rows } = await client.query<{ now: number }>('SELECT (extract(epoch FROM clock_timestamp()) * 1000)::float8 AS now');
      if (this.#closed) throw new SwitchboardError('SWB_STORE_CLOSED', 'the PostgreSQL event store is closed');
      this.#client = client;
      // Only after a lost connection: what was committed while nobody listened. Until that
      // succeeds the catch-up point stays where it was, so a failed attempt loses nothing.
      if (this.#since !== undefined) await this.#catchUp(this.#since - CATCH_UP_MARGIN_MS);
      if (this.#client !== client) throw new Error('the LISTEN connection was lost while catching up');
      this.#since = Math.max(this.#since ?? 0, rows[0]!.now);
      this.#live = true;
      this.#attempt = 0;
      this.#polledAt = rows[0]!.now;
      this.#startPolling(client);
    } catch (error) {
      if (this.#client === client) this.#client = undefined;
      client.removeAllListeners('notification');
      await client.end().catch(() => undefined);
      if (error instanceof SwitchboardError) throw error;
      throw new SwitchboardError('SWB_STORE_UNAVAILABLE', `cannot LISTEN for appends: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  #startPolling(client: pg.Client): void {
    this.#stopPolling();
    const every = this.#options.catchUpEveryMs;
    if (!(every > 0)) return;
    let running = false;
    this.#poll = setInterval(() => {
      if (running || !this.#live || this.#client !== client) return;
      running = true;
      void (async () => {
        const { rows } = await client.query<{ now: number }>('SELECT (extract(epoch FROM clock_timestamp()) * 1000)::float8 AS now');
        const from = (this.#polledAt ?? rows[0]!.now) - CATCH_UP_MARGIN_MS;
        await this.#catchUp(from);
        this.#polledAt = rows[0]!.now;
      })()
        .catch((error: unknown) => {
          // the connection's own error handler reconnects (and catches up) when it is lost
          if (!this.#closed) {
            this.#options.onError(
              new SwitchboardError('SWB_STORE_UNAVAILABLE', `the catch-up poll failed: ${(error as Error).message}`, { cause: error }),
            );
          }
        })
        .finally(() => {
          running = false;
        });
    }, every);
    this.#poll.unref();
  }

  #stopPolling(): void {
    if (this.#poll) clearInterval(this.#poll);
    this.#poll = undefined;
  }

  async #catchUp(sinceMs: number): Promise<void> {
    const streams = await this.#options.updatedSince(sinceMs);
    for (const { streamId, version } of streams) this.#notify(streamId, version);
  }

  #deliver(payload: string | undefined): void {
    let parsed: ReturnType<typeof readAnnouncement>;
    try {
      parsed = readAnnouncement(payload ?? '');
    } catch (error) {
      this.#options.onError(new SwitchboardError('SWB_STORE_FAILED', 'an append notification could not be read', { cause: error }));
      return;
    }
    const { header, carried } = parsed;
    if (this.#live && this.#since !== undefined && header.t > this.#since) this.#since = header.t;
    this.#notify(header.s, header.v, carried);
  }

  #notify(streamId: string, version: number, carried?: CarriedEntries): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(streamId, version, carried);
      } catch (error) {
        this.#options.onError(
          new SwitchboardError('SWB_LISTENER_FAILED', `an append listener threw for stream ${streamId}`, { cause: error }),
        );
      }
    }
  }

  #lost(client: pg.Client, error: Error): void {
    if (client !== this.#client) return;
    this.#client = undefined;
    this.#live = false;
    this.#stopPolling();
    client.end().catch(() => undefined);
    if (this.#closed) return;
    this.#options.onError(
      new SwitchboardError('SWB_STORE_UNAVAILABLE', `the LISTEN connection was lost (${error.message}); reconnecting`, {
        cause: error,
      }),
    );
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    if (this.#closed || this.#retry || this.#connecting || this.#client) return;
    const { min, max } = this.#options.reconnectDelayMs;
    const delay = Math.min(max, min * 2 ** this.#attempt);
    this.#attempt += 1;
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      this.#ensureConnected().catch((error: unknown) => {
        if (this.#closed) return;
        this.#options.onError(error as SwitchboardError);
        this.#scheduleReconnect();
      });
    }, delay);
    this.#retry.unref();
  }
}
