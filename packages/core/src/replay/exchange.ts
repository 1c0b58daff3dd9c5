import { decodeDelivery, type DeliveryEntry } from '../decode/decode.js';
import { matchCommand } from '../commands/table.js';
import { DecodeError, SwitchboardError } from '../errors/errors.js';
import type { CommandEntry, CommandName, CommandResultEntry, LogEntry, QuarantinedEntry } from '../log/entries.js';
import { hash53 } from '../util/hash.js';
import { isObject } from '../util/graph.js';
import { canonicalId } from '../util/ids.js';

/** One line of an exchange log (see the fixtures' README): a request, a response or a notification. */
export interface ExchangeRecord {
  readonly kind: 'request' | 'response' | 'notification';
  readonly method: string | null;
  readonly path: string | null;
  readonly status: number | null;
  readonly body: unknown;
  readonly alt?: string;
  readonly receivedAt?: number;
  readonly heading?: string;
  readonly [field: string]: unknown;
}

/**
 * Parses an exchange log (JSON lines). Blank lines are skipped; fields a reader does not
 * know are kept. A bad line is a `DecodeError` naming its line number.
 */
export function parseExchangeLog(text: string): ExchangeRecord[] {
  const records: ExchangeRecord[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const record = parseExchangeLine(lines[i]!, i + 1);
    if (record) records.push(record);
  }
  return records;
}

/**
 * One line of an exchange log, as `parseExchangeLog` reads it: undefined for a blank line, a
 * `DecodeError` naming `lineNumber` for a bad one. For reading a log a line at a time.
 */
export function parseExchangeLine(text: string, lineNumber: number): ExchangeRecord | undefined {
  const line = text.trim();
  if (line === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    throw new DecodeError('invalid-json', `line ${lineNumber}`, 'not a JSON object', { cause: error });
  }
  if (!isObject(value)) throw new DecodeError('not-an-object', `line ${lineNumber}`, 'an exchange record must be an object');
  const kind = value['kind'];
  if (kind !== 'request' && kind !== 'response' && kind !== 'notification') {
    throw new DecodeError('invalid-value', `line ${lineNumber}.kind`, `'${String(kind)}' is not request, response or notification`);
  }
  return {
    ...value,
    kind,
    method: typeof value['method'] === 'string' ? value['method'] : null,
    path: typeof value['path'] === 'string' ? value['path'] : null,
    status: typeof value['status'] === 'number' ? value['status'] : value['status'] != null ? Number(value['status']) : null,
    body: value['body'] ?? null,
  } as ExchangeRecord;
}

/** The `alt` labels of a log, in the order they first appear. */
export function alternativesOf(records: readonly ExchangeRecord[]): string[] {
  const labels: string[] = [];
  for (const r of records) if (typeof r.alt === 'string' && !labels.includes(r.alt)) labels.push(r.alt);
  return labels;
}

export interface ToEntriesOptions {
  /** Which alternative to take where the log has `alt` lines; defaults to the first. */
  readonly alt?: string;
  /**
   * Stop at the first notification that does not decode (a `DecodeError` naming its record),
   * instead of passing it on as a `quarantined` entry, as the webhook stores it.
   */
  readonly strict?: boolean;
  /** Told of each quarantined notification as it is read, with its record's 1-based number. */
  readonly onQuarantined?: (entry: QuarantinedEntry, record: number) => void;
}

/**
 * Turns exchange records into log entries: notifications decoded as the webhook would (one
 * that does not decode becomes a `quarantined` entry, unless `strict`; a body the webhook
 * would refuse is a `DecodeError` naming its record), request/response pairs into `command`
 * and `commandResult` entries (a create's call id comes from its 201 body). A line that carries
 * its log entry (`entry`, as the store's archive writes them) gives that entry as it is.
 * Records without a time get their line index as a logical time, so the result is
 * deterministic. Pure.
 */
export function exchangeToEntries(records: readonly ExchangeRecord[], options: ToEntriesOptions = {}): LogEntry[] {
  const alts = alternativesOf(records);
  if (options.alt !== undefined && !alts.includes(options.alt)) throw noSuchAlternative(options.alt, alts);
  return [...exchangeEntries(records, options)];
}

/**
 * `exchangeToEntries` one record at a time, for a log too long to hold: yields the same
 * entries in the same order. Without `alt`, the first alternative the log names is replayed
 * (as `exchangeToEntries` does); an `alt` the log never names is an error once the records
 * run out. `labels`, when given, collects the log's alternatives as they appear.
 */
export function* exchangeEntries(
  records: Iterable<ExchangeRecord>,
  options: ToEntriesOptions & { readonly labels?: string[] } = {},
): Generator<LogEntry> {
  const labels = options.labels ?? [];
  let alt = options.alt;
  // A request waits for its response; notifications may arrive in between (they often do).
  // A command enters the log when it is sent, except a create: its call id comes with the 201.
  let pending: { request: ExchangeRecord; index: number; sent: CommandEntry | undefined } | undefined;
  let index = -1;
  for (const record of records) {
    index++;
    if (typeof record.alt === 'string') {
      if (!labels.includes(record.alt)) labels.push(record.alt);
      alt ??= record.alt;
      if (record.alt !== alt) continue;
    }
    // an archive's line carries the stored entry itself: replayed as it was stored
    const carried = carriedEntry(record);
    if (carried !== undefined) {
      yield carried;
      continue;
    }
    const at = typeof record.receivedAt === 'number' ? record.receivedAt : index;
    switch (record.kind) {
      case 'request': {
        const sent = commandEntry(record, index, undefined);
        if (sent) yield sent;
        pending = { request: record, index, sent };
        continue;
      }
      case 'response': {
        if (!pending) continue;
        const command = pending.sent ?? commandEntry(pending.request, pending.index, record.body);
        if (command && !pending.sent) yield command;
        if (command) yield resultEntry(command, record, index);
        pending = undefined;
        continue;
      }
      case 'notification': {
        let decoded: DeliveryEntry[];
        try {
          decoded = decodeDelivery(record.body, { receivedAt: at });
        } catch (error) {
          if (error instanceof DecodeError) {
            throw new DecodeError(error.reason, `record ${index + 1} ${error.path}`, withoutPath(error.message, error.path), {
              cause: error,
            });
          }
          throw error;
        }
        for (const entry of decoded) {
          if (entry.kind === 'quarantined') {
            if (options.strict) {
              const { reason, path, message } = entry.error;
              throw new DecodeError(reason as DecodeError['reason'], `record ${index + 1} ${path}`, withoutPath(message, path));
            }
            options.onQuarantined?.(entry, index + 1);
          }
          yield entry;
        }
        continue;
      }
    }
  }
  if (options.alt !== undefined && !labels.includes(options.alt)) throw noSuchAlternative(options.alt, labels);
}

/** A `DecodeError`'s message without the `path: ` it starts with (the record's error names the path itself). */
function withoutPath(message: string, path: string): string {
  return message.startsWith(`${path}: `) ? message.slice(path.length + 2) : message;
}

function noSuchAlternative(alt: string, alts: readonly string[]): SwitchboardError {
  return new SwitchboardError('SWB_INVALID_ARGUMENT', `no alternative '${alt}' in this log (has: ${alts.join(', ') || 'none'})`);
}

const CALLS = /^(?:https?:\/\/[^/]+)?(?:\/(?:v1\.0|beta))?\/(?:communications|app)\/calls(?:\/([^/?#]+)(?:\/([^?#]*))?)?\/?(?:[?#].*)?$/i;

/**
 * `POST /communications/calls/{id}/participants/invite` → `invite`, etc.: the inverse of the
 * command table's routes (`matchCommand`), for any Graph host and version prefix.
 */
export function commandOf(method: string, path: string): { callId: string | undefined; command: CommandName } | undefined {
  const match = CALLS.exec(path);
  if (!match) return undefined;
  const segments = [match[1], ...(match[2] ?? '').split('/')].filter((s): s is string => s !== undefined && s.length > 0);
  const found = matchCommand(method, segments);
  return found ? { callId: found.callId, command: found.command } : undefined;
}

function commandEntry(request: ExchangeRecord, index: number, responseBody: unknown): CommandEntry | undefined {
  if (request.method === null || request.path === null) return undefined;
  const parsed = commandOf(request.method, request.path);
  if (!parsed) return undefined;
  const graphId = parsed.callId ?? (isObject(responseBody) && typeof responseBody['id'] === 'string' ? responseBody['id'] : undefined);
  if (graphId === undefined) return undefined;
  const callId = canonicalId(graphId); // the stream the call's notifications land on, however Graph spelled it
  const at = typeof request.receivedAt === 'number' ? request.receivedAt : index;
  return {
    kind: 'command',
    id: `c:${hash53(`${index}|${request.method}|${request.path}|${JSON.stringify(request.body) ?? ''}`)}`,
    callId,
    at,
    command: parsed.command,
    ...(request.body !== null && request.body !== undefined ? { args: request.body } : {}),
  };
}

function resultEntry(command: CommandEntry, response: ExchangeRecord, index: number): CommandResultEntry {
  const status = response.status ?? 0;
  const body = response.body;
  return {
    kind: 'commandResult',
    id: `r:${command.id.slice(2)}`,
    callId: command.callId,
    at: typeof response.receivedAt === 'number' ? response.receivedAt : index,
    commandId: command.id,
    command: command.command,
    outcome: status >= 200 && status < 300 ? 'succeeded' : 'failed',
    status,
    ...(body !== null && body !== undefined ? { body } : {}),
  };
}

const KINDS = new Set(['notification', 'command', 'commandResult', 'resync', 'timer', 'quarantined']);

/** The log entry an exchange-log line carries (an archive's line), or undefined for an ordinary line. */
export function carriedEntry(record: ExchangeRecord): LogEntry | undefined {
  const entry = record['entry'];
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return undefined;
  const e = entry as Partial<LogEntry>;
  if (typeof e.kind !== 'string' || !KINDS.has(e.kind)) return undefined;
  if (typeof e.id !== 'string' || typeof e.callId !== 'string' || typeof e.at !== 'number') return undefined;
  return entry as LogEntry;
}
