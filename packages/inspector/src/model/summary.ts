import type { CallView, MachineState } from '../deps.js';
import { identityName, isRecord, participantName, resultInfoText } from '../render/format.js';

/** One line of the list of calls. */
export interface CallSummary {
  readonly id: string;
  readonly state: MachineState;
  /** Not terminated. */
  readonly live: boolean;
  readonly direction: 'incoming' | 'outgoing' | undefined;
  /** Who the call is with: the caller, the callee(s), or the meeting. */
  readonly otherParty: string | undefined;
  /** Participants in the roster (lobby included), and how many of them wait in the lobby. */
  readonly present: number;
  readonly lobby: number;
  readonly stale: number;
  readonly resyncNeeded: string | undefined;
  /** The stream's version: entries in the log. */
  readonly entries: number;
  readonly firstAt: number | undefined;
  readonly lastAt: number | undefined;
  /** Graph's `resultInfo` of the call, once it ended. */
  readonly endReason: string | undefined;
  /** Display names in the call (the other party, participants), for the text filter. */
  readonly names: readonly string[];
}

export function directionOf(view: CallView): 'incoming' | 'outgoing' | undefined {
  const direction = view['direction'];
  if (direction === 'incoming' || direction === 'outgoing') return direction;
  if (Object.values(view.commands).some((c) => c.command === 'create')) return 'outgoing';
  if (Object.values(view.commands).some((c) => c.command === 'answer' || c.command === 'reject' || c.command === 'redirect'))
    return 'incoming';
  return undefined;
}

/** The caller of an incoming call; the target(s) of an outgoing one; a meeting's organizer or thread. */
export function otherPartyOf(view: CallView): string | undefined {
  const direction = directionOf(view);
  if (direction === 'incoming') {
    const source = view['source'];
    const name = isRecord(source) ? identityName(source['identity']) : undefined;
    if (name !== undefined) return name;
  }
  const meeting = view['meetingInfo'];
  const chat = view['chatInfo'];
  if (isRecord(meeting) || isRecord(chat)) {
    const organizer = isRecord(meeting) ? identityName(meeting['organizer']) : undefined;
    const subject = typeof view['subject'] === 'string' && view['subject'] !== '' ? view['subject'] : undefined;
    const thread = isRecord(chat) && typeof chat['threadId'] === 'string' ? chat['threadId'] : undefined;
    return `meeting ${subject ?? thread ?? ''}${organizer !== undefined ? ` (organizer ${organizer})` : ''}`.replace(/\s+/g, ' ').trim();
  }
  const targets = view['targets'];
  if (Array.isArray(targets)) {
    const names = targets.map((t) => (isRecord(t) ? identityName(t['identity']) : undefined)).filter((n): n is string => n !== undefined);
    if (names.length > 0) return names.join(', ');
  }
  const source = view['source'];
  return isRecord(source) && direction !== 'outgoing' ? identityName(source['identity']) : undefined;
}

/** A call's summary from its projection and the times of its first and last entries. */
export function summarizeView(
  view: CallView,
  times: { readonly firstAt: number | undefined; readonly lastAt: number | undefined },
): CallSummary {
  const participants = Object.values(view.participants);
  const otherParty = otherPartyOf(view);
  const names = new Set<string>();
  if (otherParty !== undefined) names.add(otherParty);
  for (const p of participants) {
    const name = participantName(p);
    if (name !== undefined) names.add(name);
  }
  const ended = view.state === 'terminated';
  return {
    id: view.id,
    state: view.state,
    live: !ended,
    direction: directionOf(view),
    otherParty,
    present: participants.length,
    lobby: participants.filter((p) => p.isInLobby === true).length,
    stale: view.stale.length,
    resyncNeeded: view.resyncNeeded?.reason,
    entries: view.version,
    firstAt: times.firstAt,
    lastAt: times.lastAt,
    endReason: ended ? resultInfoText(view['resultInfo']) || undefined : undefined,
    names: [...names],
  };
}

/** The facts at the head of a call's page: direction, other party, subject, why it ended. */
export function callSummaryFacts(view: CallView): [string, string][] {
  const facts: [string, string][] = [];
  const direction = directionOf(view);
  if (direction !== undefined) facts.push(['direction', direction]);
  const other = otherPartyOf(view);
  if (other !== undefined) facts.push([direction === 'incoming' ? 'from' : 'with', other]);
  if (typeof view['subject'] === 'string' && view['subject'] !== '') facts.push(['subject', view['subject']]);
  const result = resultInfoText(view['resultInfo']);
  if (result !== '') facts.push([view.state === 'terminated' ? 'ended' : 'result', result]);
  if (typeof view['terminationReason'] === 'string' && view['terminationReason'] !== '')
    facts.push(['termination reason', view['terminationReason']]);
  return facts;
}
