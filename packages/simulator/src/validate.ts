import { identityIds, identityKindOf, isJson, type CallKind } from './call.js';
import { badRequest } from './http.js';
import type { Json } from './types.js';

/**
 * Request-body checks for the call resource's methods, from the create-call pages' rules:
 * a callback URL, a media config, targets or meeting info, up to 5 VoIP targets for a group
 * call, a PSTN target only from an application instance, ringing timeout at most 115 s.
 * A failed check is a 400 with a message naming the field.
 */

export interface CreatePlan {
  readonly kind: CallKind;
  readonly callbackUri: string;
  readonly targets: readonly Json[];
  readonly source?: Json;
  readonly mediaConfig: Json;
  readonly requestedModalities: readonly string[];
  readonly chatInfo?: Json;
  readonly meetingInfo?: Json;
  /** Keys a meeting script may be registered under: thread id, join meeting id, organizer id. */
  readonly meetingKeys: readonly string[];
  readonly ringingMs?: number;
  readonly contentSharing: boolean;
  readonly guest: boolean;
}

const MODALITIES = new Set(['unknown', 'audio', 'video', 'videoBasedScreenSharing', 'data']);
const E164 = /^\+[1-9]\d{1,14}$/;

export function asObject(body: unknown, what = 'request body'): Json {
  if (!isJson(body)) throw badRequest(`The ${what} must be a JSON object.`);
  return body;
}

/** https anywhere; plain http only to loopback (a local bot under test). */
function checkCallbackUri(value: unknown, field = 'callbackUri'): string {
  if (typeof value !== 'string' || value.length === 0) throw badRequest(`${field} is required.`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw badRequest(`${field} '${value}' is not a valid absolute URL.`);
  }
  const loopback = ['127.0.0.1', 'localhost', '[::1]', '::1'].includes(url.hostname);
  if (url.protocol === 'https:' || (url.protocol === 'http:' && loopback)) return value;
  throw badRequest(`${field} must be an https URL.`);
}

function checkMediaConfig(value: unknown): Json {
  if (!isJson(value)) throw badRequest('mediaConfig is required.');
  const type = typeName(value);
  if (type !== 'serviceHostedMediaConfig' && type !== 'appHostedMediaConfig') {
    throw badRequest("mediaConfig must be a '#microsoft.graph.serviceHostedMediaConfig' or '#microsoft.graph.appHostedMediaConfig'.");
  }
  return value;
}

function checkModalities(value: unknown, field: string): string[] {
  if (value === undefined || value === null) return ['audio'];
  if (!Array.isArray(value) || value.length === 0 || !value.every((m) => typeof m === 'string' && MODALITIES.has(m))) {
    throw badRequest(`${field} must be a non-empty list of: ${[...MODALITIES].join(', ')}.`);
  }
  return value as string[];
}

/** An identity set with at least one identity that has an id. */
function checkIdentitySet(value: unknown, field: string): Json {
  if (!isJson(value) || identityKindOf(value) === undefined || identityIds(value).length === 0) {
    throw badRequest(
      `${field} must be an identitySet with a user, phone, guest, application or applicationInstance identity that has an id.`,
    );
  }
  return value;
}

function checkParticipantInfo(value: unknown, field: string): Json {
  if (!isJson(value)) throw badRequest(`${field} must be an object.`);
  checkIdentitySet(value['identity'], `${field}.identity`);
  return value;
}

export function checkCreate(body: unknown): CreatePlan {
  const b = asObject(body);
  const callbackUri = checkCallbackUri(b['callbackUri']);
  const mediaConfig = checkMediaConfig(b['mediaConfig']);
  const requestedModalities = checkModalities(b['requestedModalities'], 'requestedModalities');
  const source = b['source'] === undefined || b['source'] === null ? undefined : checkParticipantInfo(b['source'], 'source');
  const sourceKind = source ? identityKindOf(source['identity'] as Json) : undefined;

  let ringingMs: number | undefined;
  const ringing = b['ringingTimeoutInSeconds'];
  if (ringing !== undefined && ringing !== null) {
    if (typeof ringing !== 'number' || !Number.isInteger(ringing) || ringing < 1 || ringing > 115) {
      throw badRequest('ringingTimeoutInSeconds must be an integer between 1 and 115.');
    }
    ringingMs = ringing * 1000;
  }

  const callOptions = b['callOptions'];
  const contentSharing = isJson(callOptions) && callOptions['isContentSharingNotificationEnabled'] === true;
  const meetingInfoRaw = b['meetingInfo'];
  const chatInfo = isJson(b['chatInfo']) ? b['chatInfo'] : undefined;
  const rawTargets = b['targets'];

  if (meetingInfoRaw !== undefined && meetingInfoRaw !== null) {
    const meetingInfo = asObject(meetingInfoRaw, 'meetingInfo');
    const keys = checkMeetingInfo(meetingInfo, chatInfo);
    if (chatInfo && typeof chatInfo['threadId'] === 'string') keys.unshift(chatInfo['threadId']);
    return {
      kind: 'meeting',
      callbackUri,
      targets: Array.isArray(rawTargets) ? rawTargets.filter(isJson) : [],
      ...(source ? { source } : {}),
      mediaConfig,
      requestedModalities,
      ...(chatInfo ? { chatInfo } : {}),
      meetingInfo,
      meetingKeys: keys,
      ...(ringingMs !== undefined ? { ringingMs } : {}),
      contentSharing,
      guest: sourceKind === 'guest',
    };
  }

  if (!Array.isArray(rawTargets) || rawTargets.length === 0) {
    throw badRequest('targets is required: a peer-to-peer or group call needs at least one target (or meetingInfo to join a meeting).');
  }
  const targets = rawTargets.map((t, i) => checkParticipantInfo(t, `targets[${i}]`));
  if (targets.length > 5) throw badRequest('A group call supports up to 5 targets.');
  for (const [i, t] of targets.entries()) {
    const identity = t['identity'] as Json;
    if (identityKindOf(identity) !== 'phone') continue;
    const phone = identity['phone'] as Json;
    if (typeof phone['id'] !== 'string' || !E164.test(phone['id'])) {
      throw badRequest(`targets[${i}].identity.phone.id must be a phone number in E.164 format (+12345678901).`);
    }
    if (sourceKind !== 'applicationInstance') {
      throw badRequest(
        'A call to a phone number (PSTN) needs source.identity.applicationInstance: an application instance with a phone number assigned.',
      );
    }
  }
  return {
    kind: targets.length === 1 ? 'peerToPeer' : 'group',
    callbackUri,
    targets,
    ...(source ? { source } : {}),
    mediaConfig,
    requestedModalities,
    meetingKeys: [],
    ...(ringingMs !== undefined ? { ringingMs } : {}),
    contentSharing,
    guest: false,
  };
}

/** Checks the three documented meetingInfo kinds; returns the keys a meeting script may use. */
function checkMeetingInfo(meetingInfo: Json, chatInfo: Json | undefined): string[] {
  const type = typeName(meetingInfo) ?? inferMeetingType(meetingInfo);
  switch (type) {
    case 'organizerMeetingInfo': {
      const organizer = checkIdentitySet(meetingInfo['organizer'], 'meetingInfo.organizer');
      if (!chatInfo || typeof chatInfo['threadId'] !== 'string' || chatInfo['threadId'] === '') {
        throw badRequest('chatInfo.threadId is required to join a meeting with organizerMeetingInfo.');
      }
      return identityIds(organizer);
    }
    case 'joinMeetingIdMeetingInfo': {
      const id = meetingInfo['joinMeetingId'];
      if (typeof id !== 'string' || id === '') throw badRequest('meetingInfo.joinMeetingId is required.');
      const passcode = meetingInfo['passcode'];
      if (passcode !== undefined && passcode !== null && typeof passcode !== 'string')
        throw badRequest('meetingInfo.passcode must be a string or null.');
      return [id];
    }
    case 'tokenMeetingInfo': {
      const token = meetingInfo['token'];
      if (typeof token !== 'string' || token === '') throw badRequest('meetingInfo.token is required.');
      return [];
    }
    default:
      throw badRequest('meetingInfo must be an organizerMeetingInfo, joinMeetingIdMeetingInfo or tokenMeetingInfo.');
  }
}

function inferMeetingType(meetingInfo: Json): string | undefined {
  if ('joinMeetingId' in meetingInfo) return 'joinMeetingIdMeetingInfo';
  if ('organizer' in meetingInfo) return 'organizerMeetingInfo';
  if ('token' in meetingInfo) return 'tokenMeetingInfo';
  return undefined;
}

/** `#microsoft.graph.x` / `microsoft.graph.x` / `x` -> `x`. */
function typeName(value: Json): string | undefined {
  const t = value['@odata.type'];
  if (typeof t !== 'string') return undefined;
  const bare = t.startsWith('#') ? t.slice(1) : t;
  return bare.startsWith('microsoft.graph.') ? bare.slice('microsoft.graph.'.length) : bare;
}

export function checkAnswer(body: unknown): {
  callbackUri?: string;
  mediaConfig: Json;
  acceptedModalities: string[];
  contentSharing: boolean;
} {
  const b = asObject(body);
  const callbackUri = b['callbackUri'] === undefined || b['callbackUri'] === null ? undefined : checkCallbackUri(b['callbackUri']);
  const mediaConfig = checkMediaConfig(b['mediaConfig']);
  const acceptedModalities = checkModalities(b['acceptedModalities'], 'acceptedModalities');
  const callOptions = b['callOptions'];
  const contentSharing = isJson(callOptions) && callOptions['isContentSharingNotificationEnabled'] === true;
  return { ...(callbackUri !== undefined ? { callbackUri } : {}), mediaConfig, acceptedModalities, contentSharing };
}

export function checkReject(body: unknown): { reason: string } {
  const b = asObject(body);
  const reason = b['reason'] ?? 'none';
  if (reason !== 'none' && reason !== 'busy' && reason !== 'forbidden') throw badRequest("reason must be 'none', 'busy' or 'forbidden'.");
  if (b['callbackUri'] !== undefined && b['callbackUri'] !== null) checkCallbackUri(b['callbackUri']);
  return { reason };
}

export function checkRedirect(body: unknown): { targets: Json[] } {
  const b = asObject(body);
  const targets = b['targets'];
  if (!Array.isArray(targets) || targets.length === 0) throw badRequest('targets is required.');
  return { targets: targets.map((t, i) => checkParticipantInfo(t, `targets[${i}]`)) };
}

export function checkTransfer(body: unknown): { target: Json; replacesCallId?: string; transferee?: Json } {
  const b = asObject(body);
  const target = checkParticipantInfo(b['transferTarget'], 'transferTarget');
  const replaces = target['replacesCallId'];
  const transferee =
    b['transferee'] === undefined || b['transferee'] === null ? undefined : checkParticipantInfo(b['transferee'], 'transferee');
  return {
    target,
    ...(typeof replaces === 'string' && replaces !== '' ? { replacesCallId: replaces } : {}),
    ...(transferee ? { transferee } : {}),
  };
}

export function checkInvite(body: unknown): { participants: Json[]; clientContext?: string } {
  const b = asObject(body);
  const participants = b['participants'];
  if (!Array.isArray(participants) || participants.length === 0) throw badRequest('participants is required.');
  return {
    participants: participants.map((p, i) => checkParticipantInfo(p, `participants[${i}]`)),
    ...clientContextOf(b),
  };
}

export function clientContextOf(b: Json): { clientContext?: string } {
  const c = b['clientContext'];
  if (c === undefined || c === null) return {};
  if (typeof c !== 'string') throw badRequest('clientContext must be a string.');
  if (c.length > 256) throw badRequest('clientContext must be at most 256 characters.');
  return { clientContext: c };
}

export function checkPrompts(value: unknown, required: boolean): Json[] {
  if (value === undefined || value === null) {
    if (required) throw badRequest('prompts is required.');
    return [];
  }
  if (!Array.isArray(value) || (required && value.length === 0) || !value.every(isJson)) {
    throw badRequest('prompts must be a non-empty list of mediaPrompt objects.');
  }
  return value;
}

export function checkTones(value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0 || !value.every((t) => typeof t === 'string')) {
    throw badRequest('tones is required: a list of tone values (tone0..tone9, star, pound, a..d, flash).');
  }
  return value as string[];
}

export function checkOneOf<T extends string>(value: unknown, allowed: readonly T[], field: string): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw badRequest(`${field} must be one of: ${allowed.join(', ')}.`);
  }
  return value as T;
}
