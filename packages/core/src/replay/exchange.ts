import { decodeNotifications } from '../decode/decode.js';
import { DecodeError, SwitchboardError } from '../errors/errors.js';
import type { CommandEntry, CommandName, CommandResultEntry, LogEntry } from '../log/entries.js';
import { hash53 } from '../util/hash.js';
import { isObject } from '../util/graph.js';

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
    const line = lines[i]!.trim();
    if (line === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw new DecodeError('invalid-json', `line ${i + 1}`, 'not a JSON object', { cause: error });
    }
    if (!isObject(value)) throw new DecodeError('not-an-object', `line ${i + 1}`, 'an exchange record must be an object');
    const kind = value['kind'];
    if (kind !== 'request' && kind !== 'response' && kind !== 'notification') {
      throw new DecodeError('invalid-value', `line ${i + 1}.kind`, `'${String(kind)}' is not request, response or notification`);
    }
    records.push({
      ...value,
      kind,
      method: typeof value['method'] === 'string' ? value['method'] : null,
      path: typeof value['path'] === 'string' ? value['path'] : null,
      status: typeof value['status'] === 'number' ? value['status'] : value['status'] != null ? Number(value['status']) : null,
      body: value['body'] ?? null,
    } as ExchangeRecord);
  }
  return records;
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
}

/**
 * Turns exchange records into log entries: notifications decoded as the webhook would,
 * request/response pairs into `command` and `commandResult` entries (a create's call id comes
 * from its 201 body). Records without a time get their line index as a logical time, so the
 * result is deterministic. Pure.
 */
export function exchangeToEntries(records: readonly ExchangeRecord[], options: ToEntriesOptions = {}): LogEntry[] {
  const alts = alternativesOf(records);
  const alt = options.alt ?? alts[0];
  if (options.alt !== undefined && !alts.includes(options.alt)) {
    throw new SwitchboardError('SWB_INVALID_ARGUMENT', `no alternative '${options.alt}' in this log (has: ${alts.join(', ') || 'none'})`);
  }
  const entries: LogEntry[] = [];
  // A request waits for its response; notifications may arrive in between (they often do).
  // A command enters the log when it is sent, except a create: its call id comes with the 201.
  let pending: { request: ExchangeRecord; index: number; sent: CommandEntry | undefined } | undefined;
  records.forEach((record, index) => {
    if (typeof record.alt === 'string' && record.alt !== alt) return;
    const at = typeof record.receivedAt === 'number' ? record.receivedAt : index;
    switch (record.kind) {
      case 'request': {
        const sent = commandEntry(record, index, undefined);
        if (sent) entries.push(sent);
        pending = { request: record, index, sent };
        return;
      }
      case 'response': {
        if (!pending) return;
        const command = pending.sent ?? commandEntry(pending.request, pending.index, record.body);
        if (command && !pending.sent) entries.push(command);
        if (command) entries.push(resultEntry(command, record, index));
        pending = undefined;
        return;
      }
      case 'notification':
        try {
          entries.push(...decodeNotifications(record.body, { receivedAt: at }));
        } catch (error) {
          if (error instanceof DecodeError) {
            throw new DecodeError(error.reason, `record ${index + 1} ${error.path}`, error.message, { cause: error });
          }
          throw error;
        }
        return;
    }
  });
  return entries;
}

const CALLS = /^(?:https?:\/\/[^/]+)?(?:\/(?:v1\.0|beta))?\/(?:communications|app)\/calls(?:\/([^/?#]+)(?:\/([^?#]*))?)?\/?(?:[?#].*)?$/i;

/** `POST /communications/calls/{id}/participants/invite` → `invite`, etc. */
export function commandOf(method: string, path: string): { callId: string | undefined; command: CommandName } | undefined {
  const match = CALLS.exec(path);
  if (!match) return undefined;
  const callId = match[1];
  const rest = (match[2] ?? '').split('/').filter((s) => s.length > 0);
  const verb = method.toUpperCase();
  if (callId === undefined) return verb === 'POST' ? { callId: undefined, command: 'create' } : undefined;
  // a collection action, not a call: POST /communications/calls/logTeleconferenceDeviceQuality
  if (rest.length === 0 && verb === 'POST' && callId.toLowerCase() === 'logteleconferencedevicequality') {
    return { callId: undefined, command: 'logTeleconferenceDeviceQuality' };
  }
  if (rest.length === 0) return { callId, command: verb === 'DELETE' ? 'delete' : 'get' };
  const [head = '', second, third] = rest;
  const h = head.toLowerCase();
  if (h === 'participants') {
    if (second === undefined) return { callId, command: 'listParticipants' };
    if (second.toLowerCase() === 'invite') return { callId, command: 'invite' };
    if (second.toLowerCase() === 'muteall') return { callId, command: 'muteAll' };
    if (third?.toLowerCase() === 'mute') return { callId, command: 'muteParticipant' };
    if (third?.toLowerCase() === 'startholdmusic') return { callId, command: 'startHoldMusic' };
    if (third?.toLowerCase() === 'stopholdmusic') return { callId, command: 'stopHoldMusic' };
    if (verb === 'DELETE') return { callId, command: 'deleteParticipant' };
    return undefined;
  }
  if (h === 'audioroutinggroups') return { callId, command: verb === 'POST' ? 'createAudioRoutingGroup' : 'listAudioRoutingGroups' };
  const known = ACTIONS.get(h);
  return known ? { callId, command: known } : undefined;
}

const ACTIONS = new Map<string, CommandName>(
  (
    [
      'keepAlive', 'answer', 'reject', 'redirect', 'transfer', 'addLargeGalleryView', 'playPrompt', 'record',
      'cancelMediaProcessing', 'subscribeToTone', 'sendDtmfTones', 'mute', 'unmute', 'changeScreenSharingRole',
      'updateRecordingStatus', 'startRecording', 'stopRecording', 'startTranscription', 'stopTranscription',
      'logTeleconferenceDeviceQuality', 'startHoldMusic', 'stopHoldMusic',
    ] as const
  ).map((name) => [name.toLowerCase(), name]),
);
ACTIONS.set('recordresponse', 'record');

function commandEntry(request: ExchangeRecord, index: number, responseBody: unknown): CommandEntry | undefined {
  if (request.method === null || request.path === null) return undefined;
  const parsed = commandOf(request.method, request.path);
  if (!parsed) return undefined;
  const callId =
    parsed.callId ?? (isObject(responseBody) && typeof responseBody['id'] === 'string' ? responseBody['id'] : undefined);
  if (callId === undefined) return undefined;
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
