import type { NotificationTarget } from '../log/entries.js';

/**
 * Parses a notification's resource path: `/communications/calls/{id}` (v1.0, `resourceUrl`)
 * and `/app/calls/{id}` (the older `resource`), with or without a host and API version
 * prefix, and the sub-resources Graph notifies about. Segment names match in any casing
 * (`contentsharingsessions` and `contentSharingSessions` both occur).
 *
 * Returns undefined when the path names no call at all.
 */
export function parseResourcePath(path: string): { callId: string; target: NotificationTarget } | undefined {
  const match = CALL_PATH.exec(path);
  if (!match) return undefined;
  const callId = decodeSegment(match[1]!);
  if (callId === undefined || callId.length === 0) return undefined;
  const rest = match[2];
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
  const match = CALL_PATH.exec(path);
  if (!match) return false;
  const callId = decodeSegment(match[1]!);
  return callId !== undefined && callId.length > 0;
}

const CALL: NotificationTarget = { type: 'call' };
const PARTICIPANTS: NotificationTarget = { type: 'participants' };

// host and version are optional: Graph sends bare paths, recorders sometimes keep full URLs.
const CALL_PATH = /^(?:https?:\/\/[^/]+)?(?:\/(?:v1\.0|beta))?\/(?:communications|app)\/calls\/([^/?#]+)(?:\/([^?#]*?))?\/?(?:[?#].*)?$/i;

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
