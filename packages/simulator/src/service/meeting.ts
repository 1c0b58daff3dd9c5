import { identityKindOf, identitySet, isJson, mediaStreamsFor, type SimCall } from '../call.js';
import type { AttendeeSpec, Json } from '../types.js';
import type { ServiceContext } from './context.js';
import { addParticipant, rosterChanged, setState } from './plumbing.js';

/** Meetings: the attendees already there, and the bot's wait in the lobby. */

/** The key of the meeting's organizer among the attendees. */
const ORGANIZER = 'organizer';

/** The lobby admits the bot: the attendees appear and the call is established. Returns why not, if it cannot. */
export function admitBot(ctx: ServiceContext, call: SimCall, attendees: readonly AttendeeSpec[]): string | undefined {
  const bot = call.bot();
  if (!bot?.isInLobby || call.terminated) return 'the bot is not waiting in the lobby';
  bot.isInLobby = false;
  for (const a of attendees) addAttendee(call, a, call.resource['meetingInfo'] as Json | null);
  setState(ctx, call, 'established', {}, rosterChanged(call));
  return undefined;
}

/** Adds an attendee (once): the organizer with the identity the join request gave, others made up. */
export function addAttendee(call: SimCall, a: AttendeeSpec, meetingInfo: Json | null): void {
  if (call.findParticipant(a.participant)) return;
  const organizer = meetingInfo && isJson(meetingInfo['organizer']) ? meetingInfo['organizer'] : undefined;
  const identity =
    a.participant === ORGANIZER && organizer
      ? organizer
      : identitySet(
          a.identity ?? 'user',
          a.identity === 'phone' ? `+1425555${String(call.rng.int(1000, 9999))}` : call.rng.uuid(),
          a.displayName ?? a.participant,
        );
  addParticipant(call, {
    id: call.rng.uuid(),
    key: a.participant,
    identity,
    isBot: false,
    mediaStreams: mediaStreamsFor(identityKindOf(identity), call.rng),
    isMuted: a.muted ?? false,
    isInLobby: a.lobby ?? false,
  });
}

/** The meeting's organizer, when the join request names one: who is there when the bot arrives. */
export function defaultAttendees(meetingInfo: Json): AttendeeSpec[] {
  const organizer = meetingInfo['organizer'];
  if (!isJson(organizer)) return [];
  const user = organizer['user'];
  const displayName = isJson(user) && typeof user['displayName'] === 'string' ? user['displayName'] : 'Organizer';
  return [{ participant: ORGANIZER, displayName }];
}
