import { COMMANDS, commandPathOf, redact, type CommandName, type LogEntry } from '../deps.js';

/** One exchange-log line, in the format `switchboard replay` reads (see the fixtures' README). */
export interface ExchangeLine {
  readonly kind: 'request' | 'response' | 'notification';
  readonly method: string | null;
  readonly path: string | null;
  readonly status: number | null;
  readonly body: unknown;
  readonly receivedAt: number;
}

/**
 * The v1.0 request a command is sent as, as the runtime records it (replay maps the path back
 * to the command): the command table's method and path. The log keeps no participant id for
 * participant commands: `-` stands in.
 */
export function requestOf(command: CommandName, callId: string): { method: string; path: string } {
  return {
    method: COMMANDS[command].method,
    path: `/v1.0/communications/calls${commandPathOf(command, { callId: encodeURIComponent(callId), participantId: '-' })}`,
  };
}

/**
 * A call's log entries as the exchange log `switchboard replay` reads: each notification as
 * the webhook received it, each command as its request and Graph's answer as the response,
 * each resync as the GETs it made. Bodies are redacted as recordings are (tokens, secrets,
 * passcodes, anything shaped like a JWT).
 *
 * What the format cannot say: timers (an answer deadline, a keep-alive due) are left out; a
 * resync replays as the GETs' answers, not as an authoritative resync; replay derives
 * notification ids from their content, not from the webhook's message ids. A command's answer
 * follows its request, before the next request: where the bot had several commands in flight,
 * an answer may move up past notifications that arrived while it was awaited. Pure.
 */
export function toExchangeLines(entries: readonly LogEntry[]): ExchangeLine[] {
  const lines: ExchangeLine[] = [];
  const results = new Map<string, Extract<LogEntry, { kind: 'commandResult' }>>();
  for (const entry of entries) if (entry.kind === 'commandResult') results.set(entry.commandId, entry);
  /** The command whose request was written last and whose answer is still to come. */
  let pending: string | undefined;
  const answered = new Set<string>();
  const answer = (commandId: string) => {
    const result = results.get(commandId);
    if (!result || answered.has(commandId)) return;
    answered.add(commandId);
    lines.push(response(result));
  };
  for (const entry of entries) {
    switch (entry.kind) {
      case 'notification':
        lines.push({
          kind: 'notification',
          method: 'POST',
          path: null,
          status: null,
          body: redact({ value: [{ changeType: entry.changeType, resourceUrl: entry.resourceUrl, resourceData: entry.resourceData }] }),
          receivedAt: entry.at,
        });
        break;
      case 'command': {
        // replay pairs a response with the request before it: answer the one in flight first
        if (pending !== undefined) answer(pending);
        const { method, path } = requestOf(entry.command, entry.callId);
        lines.push({
          kind: 'request',
          method,
          path,
          status: null,
          body: entry.args === undefined ? null : redact(entry.args),
          receivedAt: entry.at,
        });
        pending = entry.id;
        break;
      }
      case 'commandResult':
        if (answered.has(entry.commandId)) break;
        if (pending === entry.commandId) pending = undefined;
        answer(entry.commandId);
        break;
      case 'resync': {
        if (pending !== undefined) answer(pending);
        pending = undefined;
        const call = requestOf('get', entry.callId);
        lines.push({ kind: 'request', method: call.method, path: call.path, status: null, body: null, receivedAt: entry.at });
        lines.push({
          kind: 'response',
          method: null,
          path: null,
          status: entry.call === null ? 404 : 200,
          body: entry.call === null ? null : redact(entry.call),
          receivedAt: entry.at,
        });
        if (entry.participants !== undefined) {
          const list = requestOf('listParticipants', entry.callId);
          lines.push({ kind: 'request', method: list.method, path: list.path, status: null, body: null, receivedAt: entry.at });
          lines.push({
            kind: 'response',
            method: null,
            path: null,
            status: 200,
            body: redact({ value: entry.participants }),
            receivedAt: entry.at,
          });
        }
        break;
      }
      default:
        break; // timers, and kinds the format has no line for
    }
  }
  if (pending !== undefined) answer(pending);
  return lines;
}

function response(result: Extract<LogEntry, { kind: 'commandResult' }>): ExchangeLine {
  const body = result.body !== undefined ? result.body : result.error !== undefined ? { error: result.error } : null;
  return { kind: 'response', method: null, path: null, status: result.status ?? 0, body: redact(body), receivedAt: result.at };
}

/** The exchange log as JSON lines (one line each, a newline after each). */
export function toExchangeLog(entries: readonly LogEntry[]): string {
  return toExchangeLines(entries)
    .map((line) => `${JSON.stringify(line)}\n`)
    .join('');
}
