/**
 * Calls made up for the inspector's tests and benchmark: their log entries as the webhook and
 * the runtime would have stored them (notifications decoded by core's decoder).
 */
import { decodeNotifications, type LogEntry } from '@switchboard/core';

const T0 = Date.UTC(2026, 0, 5, 10, 0, 0);

function notify(callId: string, path: string, resourceData: unknown, at: number, changeType = 'updated'): LogEntry[] {
  const resourceUrl = `/communications/calls/${encodeURIComponent(callId)}${path}`;
  return decodeNotifications({ value: [{ changeType, resourceUrl, resourceData }] }, { receivedAt: at });
}

function callState(callId: string, state: string, at: number, extra: Record<string, unknown> = {}): LogEntry[] {
  return notify(callId, '', { '@odata.type': '#microsoft.graph.call', state, ...extra }, at);
}

function participant(id: string, name: string, inLobby: boolean, seq: number): Record<string, unknown> {
  return {
    '@odata.type': '#microsoft.graph.participant',
    id,
    info: { '@odata.type': '#microsoft.graph.participantInfo', identity: { user: { id: `u-${id}`, displayName: name } } },
    isInLobby: inLobby,
    isMuted: false,
    rosterSequenceNumber: seq,
  };
}

/**
 * A meeting call with `changes` roster notifications (full rosters, sequenced): guests wait in
 * the lobby, are admitted one at a time, and the earliest leave once more than ten are in,
 * so every notification changes the roster once. Then the meeting ends.
 */
export function rosterHeavyCall(callId: string, changes: number): LogEntry[] {
  const entries: LogEntry[] = [];
  let at = T0;
  entries.push(
    ...callState(callId, 'establishing', at, {
      direction: 'outgoing',
      meetingInfo: { organizer: { user: { id: 'org', displayName: 'Organizer' } } },
    }),
  );
  entries.push(...callState(callId, 'established', (at += 500)));
  const roster: { id: string; name: string; inLobby: boolean }[] = [];
  let seq = 0;
  let next = 0;
  const send = () => {
    seq++;
    entries.push(
      ...notify(
        callId,
        '/participants',
        roster.map((p) => participant(p.id, p.name, p.inLobby, seq)),
        (at += 250),
      ),
    );
  };
  for (let made = 0; made < changes; made++) {
    const waiting = roster.find((p) => p.inLobby);
    if (waiting) waiting.inLobby = false;
    else if (roster.length > 10) roster.shift();
    else {
      roster.push({ id: `p-${next}`, name: `Guest ${next}`, inLobby: true });
      next++;
    }
    send();
  }
  entries.push(
    ...callState(callId, 'terminated', (at += 1_000), { resultInfo: { code: 200, subcode: 5300, message: 'The meeting has ended.' } }),
  );
  return entries;
}

/** Markup and script in every place a log's text reaches a page: ids, names, states, operations, command bodies. */
export const HOSTILE = {
  callId: '"><img src=x onerror=alert(1)><script>alert(1)</script>',
  name: '</td></tr></table><script>alert(2)</script><img src=x onerror=alert(2)>',
  participantId: 'p"><svg onload=alert(3)>',
  state: '<img src=x onerror=alert(4)>',
  operationId: 'op<b>1</b><script>alert(5)</script>',
  message: '</pre></details><script>alert(6)</script>&amp;',
} as const;

/** A call whose every piece of text is hostile markup. */
export function hostileCall(): LogEntry[] {
  const id = HOSTILE.callId;
  let at = T0;
  const entries: LogEntry[] = [];
  entries.push({
    kind: 'command',
    id: 'cmd:1',
    callId: id,
    at,
    command: 'answer',
    args: { callbackUri: HOSTILE.message, clientContext: HOSTILE.name },
  });
  entries.push({
    kind: 'commandResult',
    id: 'res:1',
    callId: id,
    at: (at += 80),
    commandId: 'cmd:1',
    command: 'answer',
    outcome: 'failed',
    status: 400,
    body: { error: { code: HOSTILE.name, message: HOSTILE.message } },
    error: { code: 'SWB_GRAPH_HTTP', message: HOSTILE.message },
  });
  entries.push(
    ...callState(id, 'established', (at += 100), {
      direction: 'incoming',
      source: { identity: { user: { id: 'u', displayName: HOSTILE.name } } },
      subject: HOSTILE.message,
    }),
  );
  entries.push(...callState(id, HOSTILE.state, (at += 100)));
  entries.push(...notify(id, '/participants', [participant(HOSTILE.participantId, HOSTILE.name, true, 1)], (at += 100)));
  entries.push(...notify(id, '/participants', [participant(HOSTILE.participantId, HOSTILE.name, false, 2)], (at += 100)));
  entries.push(
    ...notify(
      id,
      `/operations/${encodeURIComponent(HOSTILE.operationId)}`,
      {
        '@odata.type': '#microsoft.graph.playPromptOperation',
        id: HOSTILE.operationId,
        status: 'completed',
        resultInfo: { code: 200, subcode: 0, message: HOSTILE.message },
      },
      (at += 100),
      'deleted',
    ),
  );
  entries.push(...callState(id, 'terminated', (at += 100), { resultInfo: { code: 200, subcode: 5002, message: HOSTILE.message } }));
  return entries;
}

/** Appends entries to their streams, one append per entry (as the runtime does). */
export async function appendAll(
  store: { appendToStream(id: string, entries: readonly LogEntry[]): Promise<unknown> },
  entries: readonly LogEntry[],
): Promise<void> {
  for (const entry of entries) await store.appendToStream(entry.callId, [entry]);
}
