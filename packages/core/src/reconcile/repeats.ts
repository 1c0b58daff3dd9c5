import type { LogEntry, NotificationEntry } from '../log/entries.js';
import { withProperty } from '../util/object.js';
import type { CallContext } from './context.js';
import type { ContextEdit } from './draft.js';

/**
 * Redeliveries and repeats. Graph's notifications carry no id, so a notification's entry id is
 * its content (decode's content hash, `n:` and 14 hex digits) and the store drops a body it
 * already holds. But an identical body is not always a redelivery: a participant who mutes,
 * unmutes and mutes again sends the first roster body again, as a call that goes on hold,
 * back and on hold again sends its first `hold` body again.
 *
 * The rule: a body the log already holds is a redelivery (dropped) while it is still the last
 * body of its resource (the call, the roster, an operation, ...). Once a different body for
 * that resource came in between (A, B, A), it may be a late redelivery or a new change: it is
 * appended as a *repeat*, under its content id and the position it is appended at
 * (`n:<hash>@<position>`), applied in arrival order, and a resync is asked for, whose answer
 * from Graph settles it. A redelivery of the repeat finds it the last body again: dropped.
 *
 * The first occurrence keeps its content id, so a redelivery across an upgrade still dedups.
 * The decision reads only the fold's state at append time (under the call's lock), so replaying
 * the same arrival order decides the same: the engine and `replay` both call `repeatOf`.
 */

/** The length of decode's content ids: `n:` and 14 hex digits. */
const CONTENT_ID_LENGTH = 16;

/** Whether an entry id is decode's content id (not a delivery's message id, not a repeat's). */
export function isContentId(id: string): boolean {
  return id.length === CONTENT_ID_LENGTH && id.charCodeAt(0) === 110 /* n */ && id.charCodeAt(1) === 58 /* : */;
}

/** Whether an entry id names a repeat: `n:<hash>@<position>`. */
export function isRepeatId(id: string): boolean {
  return (
    id.length > CONTENT_ID_LENGTH && id.charCodeAt(CONTENT_ID_LENGTH) === 64 /* @ */ && id.charCodeAt(0) === 110 && id.charCodeAt(1) === 58
  );
}

/** The body an entry id stands for: a repeat's content id without its position. */
function bodyOf(id: string): string {
  return isRepeatId(id) ? id.slice(0, CONTENT_ID_LENGTH) : id;
}

/** The key of a resource in `lastBodies` (the call and the roster have fields of their own). */
function resourceKey(entry: NotificationEntry): string {
  const target = entry.target;
  switch (target.type) {
    case 'participant':
      return `participant/${target.participantId}`;
    case 'operation':
      return `operation/${target.operationId ?? ''}`;
    case 'contentSharingSessions':
      return `contentSharingSessions/${target.sessionId ?? ''}`;
    case 'audioRoutingGroups':
      return `audioRoutingGroups/${target.groupId ?? ''}`;
    default:
      return `${target.type}/${entry.resourceUrl}`;
  }
}

/** The content id of the last body the fold applied for this notification's resource. */
function lastBodyOf(ctx: CallContext, entry: NotificationEntry): string | null | undefined {
  const type = entry.target.type;
  if (type === 'call') return ctx.lastCallBody;
  if (type === 'participants') return ctx.lastRosterBody;
  return ctx.lastBodies[resourceKey(entry)];
}

/** Records a notification's body as the last of its resource. */
export function noteBody(d: ContextEdit<CallContext>, entry: NotificationEntry): void {
  const body = bodyOf(entry.id);
  const type = entry.target.type;
  if (type === 'call') d.setRoot('lastCallBody', body);
  else if (type === 'participants') d.setRoot('lastRosterBody', body);
  else d.set('lastBodies', resourceKey(entry), body);
}

/**
 * An entry arriving again (the log holds its id already), as the fold stands now: undefined
 * for a redelivery (drop it), or, for a notification whose body is not the last of its
 * resource, the entry to append as a repeat at `position` (the position it will have). Pure.
 */
export function repeatOf<E extends LogEntry>(ctx: CallContext, entry: E, position: number): E | undefined {
  if (entry.kind !== 'notification' || !isContentId(entry.id)) return undefined;
  if (lastBodyOf(ctx, entry) === entry.id) return undefined;
  return withProperty(entry, 'id', `${entry.id}@${position}`) as E;
}
