import type { NotificationTarget } from '../log/entries.js';

/**
 * Parses a notification's resource path: `/communications/calls/{id}` (v1.0, `resourceUrl`)
 * and `/app/calls/{id}` (the older `resource`), with or without a host and API version
 * prefix or the leading slash, and the sub-resources Graph notifies about. Segment names match in any casing
 * (`contentsharingsessions` and `contentSharingSessions` both occur).
 *
 * Returns undefined when the path names no call at all.
 */
export function parseResourcePath(path: string): { callId: string; target: NotificationTarget } | undefined {
  let segment: string;
  let rest: string | undefined;
  const plain = splitPlain(path);
  if (plain !== undefined) {
    segment = plain.segment;
    rest = plain.rest;
  } else {
    const match = CALL_PATH.exec(path);
    if (!match) return undefined;
    segment = match[1]!;
    rest = match[2];
  }
  const callId = decodeSegment(segment);
  if (callId === undefined || callId.length === 0) return undefined;
  if (rest === undefined || rest === '') return { callId, target: CALL };
  const [head = '', id, ...more] = rest.split('/');
  const sub = id === undefined || id === '' ? undefined : decodeSegment(id);
  if (more.length > 0) return { callId, target: unknownTarget(`unrecognised sub-resource path '${rest}'`) };
  switch (head.toLowerCase()) {
    case 'participants':
      return { callId, target: sub === undefined ? PARTICIPANTS : { type: 'participant', participantId: sub } };
    case 'operations':
      return { callId, target: sub === undefined ? { type: 'operation' } : { type: 'operation', operationId: sub } };
    case 'contentsharingsessions':
      return {
        callId,
        target: sub === undefined ? { type: 'contentSharingSessions' } : { type: 'contentSharingSessions', sessionId: sub },
      };
    case 'audioroutinggroups':
      return {
        callId,
        target: sub === undefined ? { type: 'audioRoutingGroups' } : { type: 'audioRoutingGroups', groupId: sub },
      };
    default:
      return { callId, target: unknownTarget(`unrecognised sub-resource '${head}'`) };
  }
}

/** `parseResourcePath(path) !== undefined`, without building the route. */
export function namesCall(path: string): boolean {
  const plain = splitPlain(path);
  let segment: string;
  if (plain !== undefined) segment = plain.segment;
  else {
    const match = CALL_PATH.exec(path);
    if (!match) return false;
    segment = match[1]!;
  }
  const callId = decodeSegment(segment);
  return callId !== undefined && callId.length > 0;
}

/**
 * `CALL_PATH`'s captures for the paths Graph sends (`/communications/calls/{id}...` or
 * `/app/calls/{id}...`, in that casing, with no host, version, query, fragment or trailing
 * slash), found without the regular expression; undefined for any other path (the caller
 * then runs the expression). For these paths the expression's call id is everything up to the
 * next `/`, and its lazy remainder can only be all the rest.
 */
function splitPlain(path: string): { segment: string; rest: string | undefined } | undefined {
  let start: number;
  if (path.startsWith('/communications/calls/')) start = 22;
  else if (path.startsWith('/app/calls/')) start = 11;
  else if (path.startsWith('communications/calls/')) start = 21;
  else if (path.startsWith('app/calls/')) start = 10;
  else return undefined;
  if (path.endsWith('/') || path.includes('?') || path.includes('#')) return undefined;
  const slash = path.indexOf('/', start);
  if (slash === start) return undefined; // an empty call id: no match
  if (slash < 0) return { segment: path.slice(start), rest: undefined };
  return { segment: path.slice(start, slash), rest: path.slice(slash + 1) };
}

const CALL: NotificationTarget = { type: 'call' };
const PARTICIPANTS: NotificationTarget = { type: 'participants' };

// host and version are optional: Graph sends bare paths, recorders sometimes keep full URLs.
// Without a host the leading slash is optional too: the participant: startHoldMusic and
// stopHoldMusic pages notify about `communications/calls/{id}/operations/{id}`.
const CALL_PATH =
  /^(?:https?:\/\/[^/]+\/|\/)?(?:(?:v1\.0|beta)\/)?(?:communications|app)\/calls\/([^/?#]+)(?:\/([^?#]*?))?\/?(?:[?#].*)?$/i;

function unknownTarget(reason: string): NotificationTarget {
  return { type: 'unknown', reason };
}

function decodeSegment(segment: string): string | undefined {
  if (!segment.includes('%')) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}
