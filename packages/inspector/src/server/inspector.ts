import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  redact,
  replay,
  restoreCallSnapshot,
  foldEntries,
  viewOf,
  MACHINE_VERSION,
  type EventStore,
  type ReplayResult,
  type RosterMode,
  type StoredEntry,
  type TimelineRow,
} from '../deps.js';
import { CallIndex } from '../model/call-index.js';
import { toExchangeLog } from '../model/exchange.js';
import { parseFilter, selectCalls } from '../model/filter.js';
import { renderCallSection } from '../render/call-page.js';
import { escapeHtml as esc } from '../render/escape.js';
import { renderCallList } from '../render/list-page.js';
import { CSS } from '../render/styles.js';
import { CLIENT_JS } from './client.js';
import { followerFor, type ChangeSource } from './follow.js';

export interface InspectorOptions {
  /** The event log to show. Only read: `readStream`, `listStreams`, `readSnapshot`. */
  readonly store: EventStore;
  /**
   * A bearer token every request must carry: `Authorization: Bearer <token>`, or once as
   * `?token=<token>` (the console then sets a same-site, HTTP-only cookie and drops it from
   * the address). Without one, only loopback clients are served (addressed by a loopback name,
   * against DNS rebinding); the Fetch handler then needs the client's address to be passed in.
   */
  readonly token?: string;
  /** Where the handler is mounted in your server, e.g. `/inspect`. Default `/`. */
  readonly basePath?: string;
  /**
   * How to hear of appends, for a store this package does not recognise. The PostgreSQL store's
   * notifications and the SQLite store's change check are used without it.
   */
  readonly changes?: ChangeSource;
  /** How often the SQLite change check runs while a page is open. Default 250 ms. */
  readonly pollMs?: number;
  /** Ended calls per page of the list. Default 50. */
  readonly pageSize?: number;
  /** Timeline rows per page of a call. Default 250. */
  readonly timelineRows?: number;
  /** The roster mode the bot folds with (its `rosterMode`), when not Graph's default. */
  readonly rosterMode?: RosterMode;
  /** Shown in the header: what log this is (a file, a database). Escaped. */
  readonly title?: string;
  /** Errors nobody awaits (a failed background read). Ignored by default. */
  readonly onError?: (error: unknown) => void;
  readonly clock?: () => number;
}

/** The console's handlers; mount either in your server, like the webhook receiver's. */
export interface Inspector {
  /** The Fetch-standard handler. Pass the client's address when you have it (needed without a token). Never throws. */
  fetch(request: Request, info?: { readonly remoteAddress?: string }): Promise<Response>;
  /** The node:http handler. Never throws. */
  node(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** Ends the live streams and stops following the store. The store stays open: it is yours. */
  close(): Promise<void>;
}

interface Req {
  readonly method: string;
  readonly url: URL;
  header(name: string): string | null;
  readonly remoteAddress: string | undefined;
}

type Reply = { readonly status: number; readonly headers: Record<string, string>; readonly body: string } | { readonly sse: true };

interface LiveClient {
  send(text: string): void;
  close(): void;
}

const COOKIE = 'swb_inspect';
const CSP =
  "default-src 'none'; style-src 'self'; script-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
const COMMON = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cache-control': 'no-store',
};
const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/**
 * `switchboard inspect`: a live, read-only web console of every call in an event log. A list of
 * calls (live first, filters, ended calls paged), each call's page (its path through the call
 * machine as a picture, the timeline, the roster over time, operations, commands and Graph's
 * answers, a download as an exchange log), updated live by server-sent events as entries are
 * appended: through the PostgreSQL store's append notifications, or the SQLite store's cheap
 * change check; the log is never polled whole.
 *
 * It reads through the `EventStore` port and never writes. Safe by default: with no `token`
 * it serves loopback clients only. Pages carry a Content-Security-Policy that allows only the
 * console's own stylesheet and script; text from the log is escaped, and tokens and secrets in
 * bodies are redacted as in recordings.
 */
export function createInspector(options: InspectorOptions): Inspector {
  const store = options.store;
  const clock = options.clock ?? Date.now;
  const onError = options.onError ?? (() => undefined);
  const base = normalizeBase(options.basePath ?? '/');
  const pageSize = positive(options.pageSize, 50);
  const timelineRows = positive(options.timelineRows, 250);
  const pollMs = positive(options.pollMs, 250);
  const index = new CallIndex(store, options.rosterMode ? { rosterMode: options.rosterMode } : {});
  const follower = followerFor(store, options.changes);
  const tokenDigest = options.token !== undefined ? digest(options.token) : undefined;
  if (options.token !== undefined && options.token.length < 8) throw new TypeError('the inspector token must be at least 8 characters');

  const clients = new Set<LiveClient>();
  const refreshing = new Set<Promise<unknown>>();
  const changed = new Set<string>();
  let announceTimer: NodeJS.Timeout | undefined;
  let pollTimer: NodeJS.Timeout | undefined;
  let heartbeat: NodeJS.Timeout | undefined;
  let ready: Promise<void> | undefined;
  let closed = false;
  const pages = new Map<string, { version: number; entries: readonly StoredEntry[]; result: ReplayResult }>();

  const onAppend = (streamId: string, version: number) => {
    if (closed) return;
    const work = index
      .refresh(streamId, version)
      .then((didChange) => {
        if (didChange) announce(streamId);
      })
      .catch(onError)
      .finally(() => refreshing.delete(work));
    refreshing.add(work);
  };

  function announce(callId: string): void {
    changed.add(callId);
    announceTimer ??= setTimeout(() => {
      announceTimer = undefined;
      const calls = [...changed];
      changed.clear();
      const text = `event: change\ndata: ${JSON.stringify({ calls })}\n\n`;
      for (const client of clients) client.send(text);
    }, 50);
  }

  function ensureReady(): Promise<void> {
    ready ??= (async () => {
      await follower.start(onAppend); // first, so that nothing appended while loading is missed
      await index.load();
    })().catch((error: unknown) => {
      ready = undefined;
      throw error;
    });
    return ready;
  }

  /** Brings the index up to date with the log before a page is rendered. */
  async function sync(): Promise<void> {
    await ensureReady();
    await follower.check();
    while (refreshing.size > 0) await Promise.all([...refreshing]);
  }

  function watch(client: LiveClient): () => void {
    clients.add(client);
    if (follower.polls && pollTimer === undefined) {
      pollTimer = setInterval(() => void follower.check().catch(onError), pollMs);
      pollTimer.unref();
    }
    if (heartbeat === undefined) {
      heartbeat = setInterval(() => {
        for (const c of clients) c.send(': ping\n\n');
      }, 15_000);
      heartbeat.unref();
    }
    return () => {
      if (!clients.delete(client)) return;
      if (clients.size === 0) {
        if (pollTimer) clearInterval(pollTimer);
        if (heartbeat) clearInterval(heartbeat);
        pollTimer = undefined;
        heartbeat = undefined;
      }
    };
  }

  async function callData(callId: string): Promise<{ entries: readonly StoredEntry[]; result: ReplayResult } | undefined> {
    let summary = index.get(callId);
    if (!summary) {
      await index.refresh(callId);
      summary = index.get(callId);
      if (!summary) return undefined;
    }
    const cached = pages.get(callId);
    if (cached && cached.version === summary.entries) return cached;
    const entries = await store.readStream(callId);
    const result = replay(entries, options.rosterMode ? { rosterMode: options.rosterMode } : {});
    pages.delete(callId);
    pages.set(callId, { version: entries.length, entries, result });
    while (pages.size > 8) pages.delete(pages.keys().next().value!);
    return { entries, result };
  }

  /** What the stored snapshot says, checked against the replay of the whole log. */
  async function snapshotNote(callId: string, entries: readonly StoredEntry[], result: ReplayResult): Promise<string> {
    if (typeof store.readSnapshot !== 'function') return 'snapshot: this store keeps none';
    const saved = await store.readSnapshot(callId);
    if (!saved) return 'snapshot: none stored (a restart replays the whole log)';
    const at = `snapshot at entry ${saved.position} of ${entries.length}`;
    if (saved.machineVersion !== MACHINE_VERSION)
      return `${at}, from machine version ${saved.machineVersion} (this one is ${MACHINE_VERSION}): not used, a restart replays the log`;
    const restored = restoreCallSnapshot(callId, saved);
    if (!restored) return `${at}: cannot be restored, a restart replays the log`;
    const view = viewOf(foldEntries(restored, entries.slice(saved.position)));
    const same = stableJson(view) === stableJson(result.calls[callId]);
    return `${at}: snapshot + the entries after it ${same ? 'agree with' : 'DIFFER from'} a replay of the whole log`;
  }

  async function handle(req: Req): Promise<Reply> {
    if (req.method !== 'GET' && req.method !== 'HEAD') return text(405, 'this console only reads', { allow: 'GET, HEAD' });
    const pathname = req.url.pathname;
    if (base !== '' && pathname === base) return redirect(`${base}/${req.url.search}`);
    if (base !== '' && !pathname.startsWith(`${base}/`)) return text(404, 'not found');
    const rest = pathname.slice(base.length);

    const denied = authorize(req);
    if (denied) return denied;

    if (rest === '/favicon.ico') return { status: 204, headers: COMMON, body: '' };
    if (rest === '/assets/inspector.css')
      return { status: 200, headers: { ...COMMON, 'content-type': 'text/css; charset=utf-8', 'cache-control': 'no-cache' }, body: CSS };
    if (rest === '/assets/inspector.js')
      return {
        status: 200,
        headers: { ...COMMON, 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-cache' },
        body: CLIENT_JS,
      };
    try {
      if (rest === '/events') {
        await ensureReady();
        return { sse: true };
      }
      const fragment = req.url.searchParams.get('fragment') === '1';
      if (rest === '/') {
        await sync();
        const filter = parseFilter(req.url.searchParams);
        const now = clock();
        const selection = selectCalls(index.summaries(), filter, now, pageSize);
        const body = renderCallList(selection, filter, now, (id) => `calls/${encodeURIComponent(id)}`);
        return page(fragment, 'calls', '', body, undefined);
      }
      const call = /^\/calls\/([^/]+)(\/exchange\.jsonl|\/entries\/(\d{1,9})\.json)?$/.exec(rest);
      if (call) {
        let callId: string;
        try {
          callId = decodeURIComponent(call[1]!);
        } catch {
          return text(400, 'a call id in the address is not valid percent-encoding');
        }
        await sync();
        const data = await callData(callId);
        if (!data) return text(404, `no call ${callId} in this log`);
        if (call[3] !== undefined) {
          const entry = data.entries[Number(call[3]) - 1];
          if (!entry) return text(404, `no entry ${call[3]} in call ${callId}`);
          return {
            status: 200,
            headers: { ...COMMON, 'content-type': 'application/json; charset=utf-8' },
            body: `${JSON.stringify(redact(entry), null, 2)}\n`,
          };
        }
        if (call[2]) {
          const name = callId.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 100) || 'call';
          return {
            status: 200,
            headers: {
              ...COMMON,
              'content-type': 'application/x-ndjson; charset=utf-8',
              'content-disposition': `attachment; filename="${name}.jsonl"`,
            },
            body: toExchangeLog(data.entries),
          };
        }
        const rows = data.result.timeline;
        const requested = Number(req.url.searchParams.get('from') ?? NaN);
        const offset = Number.isSafeInteger(requested) && requested >= 0 ? requested : Math.max(0, rows.length - timelineRows);
        const entryOf = (row: TimelineRow) => data.entries[row.index];
        const notes = [await snapshotNote(callId, data.entries, data.result)];
        const body = renderCallSection(
          { callId, view: data.result.calls[callId], rows, entryOf },
          {
            heading: 'h1',
            anchor: 'call',
            window: { offset, limit: timelineRows, href: (from) => `?from=${from}` },
            downloadHref: `${encodeURIComponent(callId)}/exchange.jsonl`,
            entryHref: (row) => `${encodeURIComponent(callId)}/entries/${row.index + 1}.json`,
            notes,
          },
        );
        return page(fragment, `call ${callId}`, '../', `<p class="back"><a href="../">all calls</a></p>\n${body}`, callId);
      }
      return text(404, 'not found');
    } catch (error) {
      onError(error);
      const code = (error as { code?: unknown } | null)?.code;
      return text(
        503,
        `the event log could not be read${typeof code === 'string' ? ` (${code})` : ''}: ${(error as Error)?.message ?? String(error)}`,
      );
    }
  }

  /** A page, or only its content for the live update. `root` leads back to the console's root. */
  function page(fragment: boolean, title: string, root: string, body: string, callId: string | undefined): Reply {
    const headers = { ...COMMON, 'content-type': 'text/html; charset=utf-8', 'content-security-policy': CSP };
    if (fragment) return { status: 200, headers, body };
    const html = [
      '<!DOCTYPE html>',
      '<html lang="en">',
      '<head>',
      '<meta charset="utf-8">',
      '<meta name="viewport" content="width=device-width, initial-scale=1">',
      `<title>${esc(title)} - switchboard inspect</title>`,
      `<link rel="stylesheet" href="${root}assets/inspector.css">`,
      `<script src="${root}assets/inspector.js" defer></script>`,
      '</head>',
      '<body>',
      `<header class="console"><h1><a href="${root === '' ? './' : root}">switchboard inspect</a></h1>` +
        `${options.title !== undefined ? `<span class="log">${esc(options.title)}</span>` : ''}` +
        `<span class="live" id="live" title="${esc(follower.how)}">${follower.polls || follower.how.startsWith('live') ? 'connecting ...' : 'not live'}</span></header>`,
      `<main id="main" data-events="${root}events"${callId !== undefined ? ` data-call="${esc(callId)}"` : ''}>`,
      body,
      '</main>',
      '</body>',
      '</html>',
      '',
    ].join('\n');
    return { status: 200, headers, body: html };
  }

  function authorize(req: Req): Reply | undefined {
    if (tokenDigest === undefined) {
      const remote = req.remoteAddress;
      if (remote === undefined)
        return text(403, 'this console has no token: it serves loopback clients only, and was not told the client address');
      if (!isLoopbackAddress(remote)) return text(403, 'this console has no token: it serves loopback clients only');
      const host = hostName(req.header('host') ?? req.url.host);
      if (host === undefined || !LOOPBACK_NAMES.has(host))
        return text(403, 'this console has no token: address it by a loopback name (127.0.0.1, localhost)');
      return undefined;
    }
    const given = bearer(req.header('authorization')) ?? cookie(req.header('cookie'), COOKIE);
    if (given !== undefined && sameToken(given, tokenDigest)) return undefined;
    const query = req.url.searchParams.get('token');
    if (query !== null && sameToken(query, tokenDigest)) {
      const url = new URL(req.url);
      url.searchParams.delete('token');
      return {
        status: 303,
        headers: {
          ...COMMON,
          location: `${url.pathname}${url.search}`,
          'set-cookie': `${COOKIE}=${encodeURIComponent(query)}; Path=${base === '' ? '/' : base}; HttpOnly; SameSite=Strict`,
          'content-type': 'text/plain; charset=utf-8',
        },
        body: 'authenticated\n',
      };
    }
    return {
      ...text(401, 'this console needs its token: open the address it printed (with ?token=...), or send Authorization: Bearer <token>'),
      headers: { ...COMMON, 'content-type': 'text/plain; charset=utf-8', 'www-authenticate': 'Bearer' },
    } as Reply;
  }

  function liveHeaders(): Record<string, string> {
    return { ...COMMON, 'content-type': 'text/event-stream; charset=utf-8', connection: 'keep-alive', 'x-accel-buffering': 'no' };
  }

  const HELLO = 'retry: 2000\n\nevent: hello\ndata: {}\n\n';

  return {
    async fetch(request, info) {
      let reply: Reply;
      let url: URL;
      try {
        url = new URL(request.url);
      } catch {
        return new Response('bad request\n', { status: 400 });
      }
      try {
        reply = await handle({ method: request.method, url, header: (n) => request.headers.get(n), remoteAddress: info?.remoteAddress });
      } catch (error) {
        onError(error);
        return new Response('internal error\n', { status: 500 });
      }
      if (!('sse' in reply))
        return new Response(request.method === 'HEAD' ? null : reply.body, { status: reply.status, headers: reply.headers });
      if (closed) return new Response('closed\n', { status: 503 });
      const encoder = new TextEncoder();
      let unwatch: (() => void) | undefined;
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          const client: LiveClient = {
            send: (t) => {
              try {
                controller.enqueue(encoder.encode(t));
              } catch {
                unwatch?.();
              }
            },
            close: () => {
              unwatch?.();
              try {
                controller.close();
              } catch {
                // already closed
              }
            },
          };
          unwatch = watch(client);
          client.send(HELLO);
          request.signal?.addEventListener('abort', () => client.close());
        },
        cancel() {
          unwatch?.();
        },
      });
      return new Response(body, { status: 200, headers: liveHeaders() });
    },

    async node(req, res) {
      try {
        const host = req.headers.host ?? 'localhost';
        let url: URL;
        try {
          url = new URL(req.url ?? '/', `http://${host}`);
        } catch {
          url = new URL(req.url ?? '/', 'http://localhost');
        }
        const reply = await handle({
          method: req.method ?? 'GET',
          url,
          header: (n) => {
            const v = req.headers[n.toLowerCase()];
            return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
          },
          remoteAddress: req.socket.remoteAddress,
        });
        if (!('sse' in reply)) {
          res.writeHead(reply.status, reply.headers);
          res.end(req.method === 'HEAD' ? undefined : reply.body);
          return;
        }
        if (closed) {
          res.writeHead(503, COMMON).end('closed\n');
          return;
        }
        res.writeHead(200, liveHeaders());
        res.flushHeaders();
        const client: LiveClient = {
          send: (t) => void res.write(t),
          close: () => {
            unwatch();
            res.end();
          },
        };
        const unwatch = watch(client);
        res.on('close', unwatch);
        client.send(HELLO);
      } catch (error) {
        onError(error);
        if (!res.headersSent) res.writeHead(500, COMMON);
        res.end();
      }
    },

    async close() {
      closed = true;
      follower.stop();
      if (announceTimer) clearTimeout(announceTimer);
      announceTimer = undefined;
      for (const client of [...clients]) client.close();
      clients.clear();
      if (pollTimer) clearInterval(pollTimer);
      if (heartbeat) clearInterval(heartbeat);
      pollTimer = undefined;
      heartbeat = undefined;
      await Promise.allSettled([...refreshing]);
    },
  };
}

function text(status: number, body: string, extra: Record<string, string> = {}): Reply {
  return { status, headers: { ...COMMON, 'content-type': 'text/plain; charset=utf-8', ...extra }, body: `${body}\n` };
}

function redirect(location: string): Reply {
  return { status: 308, headers: { ...COMMON, location, 'content-type': 'text/plain; charset=utf-8' }, body: `${location}\n` };
}

function normalizeBase(path: string): string {
  const trimmed = path.trim().replace(/\/+$/, '');
  if (trimmed === '') return '';
  if (!trimmed.startsWith('/')) throw new TypeError(`basePath must start with '/', got ${JSON.stringify(path)}`);
  return trimmed;
}

function positive(value: number | undefined, fallback: number): number {
  return value !== undefined && Number.isSafeInteger(value) && value > 0 ? value : fallback;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

function sameToken(given: string, expected: Buffer): boolean {
  return timingSafeEqual(digest(given), expected);
}

function bearer(header: string | null): string | undefined {
  const match = header === null ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match ? match[1] : undefined;
}

function cookie(header: string | null, name: string): string | undefined {
  if (header === null) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
    try {
      return decodeURIComponent(part.slice(eq + 1).trim());
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** 127.0.0.0/8, ::1, and IPv4-mapped loopback. */
export function isLoopbackAddress(address: string): boolean {
  const a = address.startsWith('::ffff:') ? address.slice(7) : address;
  return a === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(a);
}

/** The host name of a Host header, lowercased, without the port. */
function hostName(host: string | null): string | undefined {
  if (host === null || host === '') return undefined;
  const h = host.trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    return end < 0 ? undefined : h.slice(0, end + 1);
  }
  return h.replace(/:\d+$/, '');
}

/** JSON with object keys sorted, to compare two views built in different orders. */
function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}
