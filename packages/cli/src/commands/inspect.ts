import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { PgEventStore, SqliteEventStore } from '@switchboard/adapters';
import type { EventStore } from '@switchboard/core';
import { createInspector } from '@switchboard/inspector';
import { UsageError, type Output } from '../output.js';
import { isPostgresUrl } from './log-store.js';

export const INSPECT_HELP = `Usage: switchboard inspect --store <log> [options]

Serves a live web console of every call in an event log: the calls (live first, filters, ended
calls paged), each call's path through the call machine, its timeline with stale and duplicate
entries, the roster over time, operations, commands and Graph's answers, and a download of the
call as an exchange log for 'switchboard replay'. Pages update as the bot appends (PostgreSQL:
its append notifications; SQLite: a cheap check of the entries' row ids). Read-only: the SQLite
file is opened read-only, PostgreSQL sessions are read-only and nothing is migrated.

Options:
  --store <log>        sqlite:<path> (the bot's SQLite file, e.g. sqlite:.switchboard/demo.db)
                       or postgres://user@host:5432/db (the bot's PostgreSQL log)
  --schema <name>      the PostgreSQL schema holding the log (default switchboard)
  --host <address>     where to listen (default 127.0.0.1). Any other address needs a token
  --port <n>           port (default 4747; 0 picks a free one)
  --token <token>      require this bearer token (also SWITCHBOARD_INSPECT_TOKEN). Without one,
                       only loopback clients are served; on another --host a token is made up
                       and printed in the address to open
  -h, --help           show this help

Exit codes: 0 stopped (SIGINT, SIGTERM); 2 bad usage; 3 the log could not be opened.`;

export interface InspectHooks {
  /** Told the console's address (with the token when there is one) once it listens. */
  readonly ready?: (url: string) => void;
  /** Resolves to stop (tests); default SIGINT or SIGTERM. */
  readonly until?: Promise<void>;
}

export async function inspectCommand(argv: readonly string[], out: Output, hooks: InspectHooks = {}): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      store: { type: 'string' },
      schema: { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '4747' },
      token: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    out.stdout(INSPECT_HELP);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`, INSPECT_HELP);
  if (values.store === undefined || values.store.trim() === '')
    throw new UsageError('--store names the log: sqlite:<path> or postgres://...', INSPECT_HELP);
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`--port takes a port number, not '${values.port}'`, INSPECT_HELP);
  const host = values.host;
  const loopback = isLoopbackHost(host);
  let token = values.token ?? process.env['SWITCHBOARD_INSPECT_TOKEN'];
  if (token !== undefined && token.length < 8) throw new UsageError('--token must be at least 8 characters', INSPECT_HELP);
  let madeUp = false;
  if (token === undefined && !loopback) {
    token = randomBytes(24).toString('base64url');
    madeUp = true;
  }

  const { store, title } = openStore(values.store, values.schema);
  const inspector = createInspector({
    store,
    title,
    ...(token !== undefined ? { token } : {}),
    onError: (error) => out.stderr(`switchboard inspect: ${(error as Error)?.message ?? String(error)}`),
  });
  const server: Server = createServer((req, res) => void inspector.node(req, res));
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address() as AddressInfo;
    const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    const url = `http://${loopback && host === 'localhost' ? 'localhost' : shown}:${address.port}/${token !== undefined ? `?token=${encodeURIComponent(token)}` : ''}`;
    out.stdout(
      [
        `switchboard inspect: ${url}`,
        `  log       ${title} (read-only)`,
        `  access    ${token === undefined ? 'loopback clients only, no token' : madeUp ? 'bearer token, made up for this run (pass --token to choose one)' : 'bearer token'}`,
        '  stop      Ctrl-C',
      ].join('\n'),
    );
    hooks.ready?.(url);
    await (hooks.until ?? waitForSignal());
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
      out.stderr(`switchboard inspect: cannot listen on ${host}:${port} (${code})`);
      return 3;
    }
    throw error;
  } finally {
    await inspector.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await store.close?.();
  }
  return 0;
}

/** Opens the log read-only: `sqlite:<path>` or a PostgreSQL URL. */
function openStore(spec: string, schema: string | undefined): { store: EventStore; title: string } {
  if (isPostgresUrl(spec)) {
    const store = new PgEventStore({
      connectionString: readOnlySessions(spec),
      migrate: false,
      applicationName: 'switchboard-inspect',
      ...(schema !== undefined ? { schema } : {}),
    });
    const shown = new URL(spec);
    shown.password = '';
    return { store, title: `PostgreSQL ${shown.host}${shown.pathname}, schema ${store.schema}` };
  }
  if (schema !== undefined) throw new UsageError('--schema is for a PostgreSQL log', INSPECT_HELP);
  const match = /^sqlite:(.+)$/i.exec(spec);
  if (!match) throw new UsageError(`--store is sqlite:<path> or postgres://..., not '${spec}'`, INSPECT_HELP);
  const store = new SqliteEventStore({ path: match[1]!, readOnly: true });
  return { store, title: `SQLite ${match[1]!}` };
}

/** The connection string with every session read-only (`default_transaction_read_only`). */
export function readOnlySessions(spec: string): string {
  let url: URL;
  try {
    url = new URL(spec);
  } catch {
    throw new UsageError('--store: the PostgreSQL URL cannot be parsed', INSPECT_HELP);
  }
  const options = url.searchParams.get('options');
  url.searchParams.set('options', `${options ? `${options} ` : ''}-c default_transaction_read_only=on`);
  return url.href;
}

function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

function waitForSignal(): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
