import { RequestValidationError, type Violation } from './errors.js';
import type {
  CallRequestBody,
  ChatInfo,
  GraphObject,
  IdentitySet,
  InvitationParticipantInfo,
  MediaConfig,
  MediaInfo,
  MeetingInfo,
  Modality,
  ParticipantInfo,
} from './types.js';

/** Options shared by the builders and validators. */
export interface ValidationOptions {
  /**
   * Accept `http://127.0.0.1`, `http://localhost` and `http://[::1]` callback URIs (a bot under
   * test against the simulator). Graph itself requires https. Default false.
   */
  readonly allowInsecureCallback?: boolean;
}

/** A user (VoIP) party. */
export interface UserRef {
  readonly id: string;
  readonly displayName?: string;
  readonly tenantId?: string;
}

/** The bot's own application identity (or application instance for PSTN). */
export interface AppRef {
  readonly id: string;
  readonly displayName?: string;
}

/** Where the media runs: Graph (service-hosted, IVR prompts) or the bot (app-hosted, needs Calls.AccessMedia.All). */
export type MediaSpec =
  | { readonly kind: 'serviceHosted'; readonly preFetchMedia?: readonly MediaInfo[]; readonly removeFromDefaultAudioGroup?: boolean }
  | { readonly kind: 'appHosted'; readonly blob: string; readonly removeFromDefaultAudioGroup?: boolean };

interface CommonSpec {
  readonly callbackUri: string;
  /** Default service-hosted. */
  readonly media?: MediaSpec;
  /** Default `['audio']`. */
  readonly requestedModalities?: readonly Modality[];
  readonly subject?: string;
  readonly tenantId?: string;
  readonly callOptions?: GraphObject;
  /** Peer-to-peer ringing timeout, 1..115 s. */
  readonly ringingTimeoutInSeconds?: number;
}

/** A peer-to-peer VoIP call to one user. Needs Calls.Initiate.All. */
export interface PeerToPeerCallSpec extends CommonSpec {
  readonly kind: 'peerToPeer';
  readonly target: UserRef;
  readonly source?: AppRef;
}

/** A group call with 2..5 VoIP users. Needs Calls.InitiateGroupCall.All. */
export interface GroupCallSpec extends CommonSpec {
  readonly kind: 'group';
  readonly targets: readonly UserRef[];
  readonly source?: AppRef;
}

/** A peer-to-peer PSTN call from an application instance with a phone number. Needs Calls.Initiate.All. */
export interface PstnCallSpec extends CommonSpec {
  readonly kind: 'pstn';
  /** The application instance's object id. */
  readonly source: AppRef;
  /** E.164, `+12345678901`. */
  readonly phone: string;
  readonly tenantId: string;
}

/** Which meeting to join. */
export type MeetingRef =
  | {
      readonly organizer: UserRef;
      readonly chatInfo: { readonly threadId: string; readonly messageId: string; readonly replyChainMessageId?: string };
      readonly allowConversationWithoutHost?: boolean;
    }
  | { readonly joinMeetingId: string; readonly passcode?: string }
  /** A Teams join URL (`https://teams.microsoft.com/l/meetup-join/...`), decoded as the call resource page shows. */
  | { readonly joinUrl: string; readonly allowConversationWithoutHost?: boolean };

/**
 * Join a scheduled or channel meeting, as the bot (Calls.JoinGroupCall.All, or the
 * Calls.JoinGroupCalls.Chat RSC permission) or as a guest (Calls.JoinGroupCallAsGuest.All).
 */
export interface JoinMeetingSpec extends CommonSpec {
  readonly kind: 'joinMeeting';
  readonly meeting: MeetingRef;
  /** Join as this guest identity (`source.identity.guest`). */
  readonly guest?: { readonly id: string; readonly displayName: string };
  readonly source?: AppRef;
}

/** The create-call scenarios {@link buildCreateCall} knows. */
export type CreateCallSpec = PeerToPeerCallSpec | GroupCallSpec | PstnCallSpec | JoinMeetingSpec;

/** What a Teams join URL says about its meeting. */
export interface TeamsJoinInfo {
  /** `19:meeting_...@thread.v2` (or a channel's `...@thread.skype`). */
  readonly threadId: string;
  /** `0` for a scheduled meeting; the channel post's id for a channel meeting. */
  readonly messageId: string;
  /** The organizer's tenant (`Tid`). */
  readonly tenantId: string;
  /** The organizer's object id (`Oid`). */
  readonly organizerId: string;
  /** A channel meeting's reply-chain message (`MessageId` in the context), if any. */
  readonly replyChainMessageId?: string;
}

const TEAMS_HOSTS = new Set([
  'teams.microsoft.com',
  'teams.microsoft.us',
  'gov.teams.microsoft.us',
  'dod.teams.microsoft.us',
  'teams.live.com',
  'teams.cloud.microsoft',
]);
const E164 = /^\+[1-9]\d{1,14}$/;
const MODALITIES: ReadonlySet<string> = new Set(['audio', 'video', 'videoBasedScreenSharing', 'data']);
const IDENTITY_KINDS = ['user', 'application', 'applicationInstance', 'phone', 'guest'] as const;

function joinUrlViolations(raw: unknown, path: string, out: Violation[]): TeamsJoinInfo | undefined {
  if (typeof raw !== 'string' || raw.trim() === '') {
    out.push({ path, message: 'must be a Teams meeting join URL' });
    return undefined;
  }
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    out.push({ path, message: 'is not a URL' });
    return undefined;
  }
  const before = out.length;
  if (url.protocol !== 'https:') out.push({ path, message: 'must be https' });
  if (!TEAMS_HOSTS.has(url.hostname.toLowerCase())) out.push({ path, message: `host '${url.hostname}' is not a Teams host` });
  const segments = url.pathname.split('/').filter((s) => s !== '');
  const at = segments.findIndex((s) => s.toLowerCase() === 'meetup-join');
  let threadId: string | undefined;
  let messageId: string | undefined;
  if (at < 0 || segments.length < at + 3) {
    out.push({ path, message: 'path must be /l/meetup-join/{threadId}/{messageId}' });
  } else {
    try {
      threadId = decodeURIComponent(segments[at + 1]!);
      messageId = decodeURIComponent(segments[at + 2]!);
    } catch {
      out.push({ path, message: 'path is not valid percent-encoding' });
    }
    if (threadId !== undefined && !/^19:.+@thread\.(v2|skype|tacv2)$/i.test(threadId)) {
      out.push({ path, message: `thread id '${threadId}' is not a Teams thread (19:...@thread.v2)` });
    }
  }
  const contextRaw = url.searchParams.get('context');
  let context: Record<string, unknown> | undefined;
  if (contextRaw === null) out.push({ path: `${path}?context`, message: 'is missing (it carries Tid and Oid)' });
  else {
    try {
      const parsed: unknown = JSON.parse(contextRaw);
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) context = parsed as Record<string, unknown>;
      else out.push({ path: `${path}?context`, message: 'is not a JSON object' });
    } catch {
      out.push({ path: `${path}?context`, message: 'is not JSON' });
    }
  }
  const tid = context?.['Tid'];
  const oid = context?.['Oid'];
  if (context && (typeof tid !== 'string' || tid === ''))
    out.push({ path: `${path}?context.Tid`, message: 'is required (the organizer tenant)' });
  if (context && (typeof oid !== 'string' || oid === ''))
    out.push({ path: `${path}?context.Oid`, message: 'is required (the organizer id)' });
  if (out.length > before || threadId === undefined || messageId === undefined) return undefined;
  const reply = context?.['MessageId'];
  return {
    threadId,
    messageId,
    tenantId: tid as string,
    organizerId: oid as string,
    ...(typeof reply === 'string' && reply !== '' ? { replyChainMessageId: reply } : {}),
  };
}

/**
 * Decodes a Teams meeting join URL (`https://teams.microsoft.com/l/meetup-join/19%3ameeting_...%40thread.v2/0?context=%7b%22Tid%22...`)
 * into the thread id, message id, organizer tenant and organizer id that `chatInfo` and
 * `meetingInfo` need. Throws {@link RequestValidationError} listing every problem.
 */
export function parseTeamsJoinUrl(url: string): TeamsJoinInfo {
  const violations: Violation[] = [];
  const info = joinUrlViolations(url, '$.joinUrl', violations);
  if (!info) throw new RequestValidationError(violations, 'Teams join URL');
  return info;
}

function identity(id: string, displayName: string | undefined, tenantId?: string): GraphObject {
  return {
    '@odata.type': '#microsoft.graph.identity',
    ...(displayName !== undefined ? { displayName } : {}),
    id,
    ...(tenantId !== undefined ? { tenantId } : {}),
  };
}

function identitySet(kind: (typeof IDENTITY_KINDS)[number], value: GraphObject): IdentitySet {
  return { '@odata.type': '#microsoft.graph.identitySet', [kind]: value };
}

function participant(kind: (typeof IDENTITY_KINDS)[number], value: GraphObject): ParticipantInfo {
  return { '@odata.type': '#microsoft.graph.participantInfo', identity: identitySet(kind, value) };
}

function invitation(kind: (typeof IDENTITY_KINDS)[number], value: GraphObject): InvitationParticipantInfo {
  return { '@odata.type': '#microsoft.graph.invitationParticipantInfo', identity: identitySet(kind, value) };
}

function mediaConfigOf(media: MediaSpec | undefined): MediaConfig {
  if (media?.kind === 'appHosted') {
    return {
      '@odata.type': '#microsoft.graph.appHostedMediaConfig',
      blob: media.blob,
      ...(media.removeFromDefaultAudioGroup !== undefined ? { removeFromDefaultAudioGroup: media.removeFromDefaultAudioGroup } : {}),
    };
  }
  return {
    '@odata.type': '#microsoft.graph.serviceHostedMediaConfig',
    ...(media?.preFetchMedia !== undefined ? { preFetchMedia: media.preFetchMedia.map((m) => ({ ...m })) } : {}),
    ...(media?.removeFromDefaultAudioGroup !== undefined ? { removeFromDefaultAudioGroup: media.removeFromDefaultAudioGroup } : {}),
  };
}

/**
 * Builds the body of `POST /communications/calls` for one scenario (peer-to-peer, group, PSTN,
 * meeting join, guest join) and validates it. Throws {@link RequestValidationError} with every
 * violation (JSON paths of the built body, `$.meeting.joinUrl` for a bad join URL).
 */
export function buildCreateCall(spec: CreateCallSpec, options: ValidationOptions = {}): CallRequestBody {
  const violations: Violation[] = [];
  const s = spec as CreateCallSpec & { readonly kind: unknown };
  const body: Record<string, unknown> = {
    '@odata.type': '#microsoft.graph.call',
    callbackUri: s.callbackUri,
    ...(s.subject !== undefined ? { subject: s.subject } : {}),
    requestedModalities: s.requestedModalities ?? ['audio'],
    mediaConfig: mediaConfigOf(s.media),
    ...(s.callOptions !== undefined ? { callOptions: s.callOptions } : {}),
    ...(s.ringingTimeoutInSeconds !== undefined ? { ringingTimeoutInSeconds: s.ringingTimeoutInSeconds } : {}),
  };
  const appSource = (source: AppRef | undefined, kind: 'application' | 'applicationInstance' = 'application'): void => {
    if (source) body['source'] = participant(kind, identity(source.id, source.displayName));
  };
  const user = (u: UserRef): InvitationParticipantInfo => invitation('user', identity(u.id, u.displayName, u.tenantId));
  switch (s.kind) {
    case 'peerToPeer':
      body['direction'] = 'outgoing';
      appSource(s.source);
      body['targets'] = [user(s.target)];
      break;
    case 'group':
      body['direction'] = 'outgoing';
      appSource(s.source);
      body['targets'] = (s.targets ?? []).map(user);
      if (!Array.isArray(s.targets) || s.targets.length < 2)
        violations.push({ path: '$.targets', message: 'a group call needs 2 to 5 VoIP targets (use peerToPeer for one)' });
      break;
    case 'pstn':
      appSource(s.source, 'applicationInstance');
      body['targets'] = [invitation('phone', identity(s.phone, undefined))];
      break;
    case 'joinMeeting': {
      const m = s.meeting as Partial<Record<string, unknown>> | undefined;
      if (s.guest) body['source'] = participant('guest', identity(s.guest.id, s.guest.displayName));
      else appSource(s.source);
      if (!m || typeof m !== 'object') {
        violations.push({ path: '$.meeting', message: 'is required: organizer + chatInfo, joinMeetingId, or joinUrl' });
      } else if ('joinUrl' in m) {
        const info = joinUrlViolations(m['joinUrl'], '$.meeting.joinUrl', violations);
        if (info) {
          body['chatInfo'] = {
            '@odata.type': '#microsoft.graph.chatInfo',
            threadId: info.threadId,
            messageId: info.messageId,
            ...(info.replyChainMessageId !== undefined ? { replyChainMessageId: info.replyChainMessageId } : {}),
          } satisfies ChatInfo;
          body['meetingInfo'] = {
            '@odata.type': '#microsoft.graph.organizerMeetingInfo',
            organizer: identitySet('user', identity(info.organizerId, undefined, info.tenantId)),
            ...(typeof m['allowConversationWithoutHost'] === 'boolean'
              ? { allowConversationWithoutHost: m['allowConversationWithoutHost'] }
              : {}),
          } satisfies MeetingInfo;
          body['tenantId'] = s.tenantId ?? info.tenantId;
        }
      } else if ('joinMeetingId' in m) {
        body['meetingInfo'] = {
          '@odata.type': '#microsoft.graph.joinMeetingIdMeetingInfo',
          joinMeetingId: m['joinMeetingId'],
          ...(m['passcode'] !== undefined ? { passcode: m['passcode'] } : {}),
        };
      } else {
        const organizer = m['organizer'] as UserRef | undefined;
        const chat = m['chatInfo'] as { threadId?: string; messageId?: string; replyChainMessageId?: string } | undefined;
        body['chatInfo'] = {
          '@odata.type': '#microsoft.graph.chatInfo',
          threadId: chat?.threadId,
          messageId: chat?.messageId,
          ...(chat?.replyChainMessageId !== undefined ? { replyChainMessageId: chat.replyChainMessageId } : {}),
        };
        body['meetingInfo'] = {
          '@odata.type': '#microsoft.graph.organizerMeetingInfo',
          organizer: identitySet(
            'user',
            organizer ? identity(organizer.id, organizer.displayName, organizer.tenantId) : ({} as GraphObject),
          ),
          ...(typeof m['allowConversationWithoutHost'] === 'boolean'
            ? { allowConversationWithoutHost: m['allowConversationWithoutHost'] }
            : {}),
        };
      }
      break;
    }
    default:
      violations.push({
        path: '$.kind',
        message: `'${String((spec as { kind?: unknown }).kind)}' is not peerToPeer, group, pstn or joinMeeting`,
      });
  }
  const tenant = (spec as { tenantId?: string }).tenantId;
  if (tenant !== undefined && body['tenantId'] === undefined) body['tenantId'] = tenant;
  const joinUrlFailed = violations.some((v) => v.path.startsWith('$.meeting.joinUrl'));
  // with an undecodable join URL there is no meetingInfo to check: keep the other findings only
  violations.push(
    ...validateCallRequest(body, options).filter(
      (v) => !(joinUrlFailed && /^\$\.(targets|meetingInfo|chatInfo|source\.identity\.guest)/.test(v.path)),
    ),
  );
  if (violations.length > 0)
    throw new RequestValidationError(violations, `${String((spec as { kind?: unknown }).kind)} create-call request`);
  return body as CallRequestBody;
}

/** @internal A plain JSON object (not null, not an array). */
export function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** @internal The `@odata.type` without `#` and `microsoft.graph.`. */
function typeName(v: Record<string, unknown>): string | undefined {
  const t = v['@odata.type'];
  if (typeof t !== 'string') return undefined;
  const bare = t.startsWith('#') ? t.slice(1) : t;
  return bare.startsWith('microsoft.graph.') ? bare.slice('microsoft.graph.'.length) : bare;
}

/** @internal A string with something besides white space. */
export function nonEmpty(v: unknown): v is string {
  return typeof v === 'string' && v.trim() !== '';
}

/** Which identity an identitySet holds; pushes violations when it holds none, several, or one without an id. */
function checkIdentitySet(v: unknown, path: string, out: Violation[]): { kind: string; id: string } | undefined {
  if (!isObj(v)) {
    out.push({ path, message: 'must be an identitySet object' });
    return undefined;
  }
  const kinds = IDENTITY_KINDS.filter((k) => v[k] !== undefined && v[k] !== null);
  if (kinds.length === 0) {
    out.push({ path, message: `must hold one of ${IDENTITY_KINDS.join(', ')}` });
    return undefined;
  }
  if (kinds.length > 1) out.push({ path, message: `holds ${kinds.join(' and ')}; give exactly one identity` });
  const kind = kinds[0]!;
  const ident = v[kind];
  if (!isObj(ident) || !nonEmpty(ident['id'])) {
    out.push({ path: `${path}.${kind}.id`, message: 'is required' });
    return undefined;
  }
  return { kind, id: ident['id'] };
}

/** @internal https, or http to loopback with `allowInsecureCallback`. */
export function checkCallbackUri(v: unknown, path: string, options: ValidationOptions, out: Violation[]): void {
  if (!nonEmpty(v)) {
    out.push({ path, message: 'is required (the bot webhook URL, https)' });
    return;
  }
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    out.push({ path, message: 'is not a URL' });
    return;
  }
  if (url.protocol === 'https:') return;
  const loopback = url.hostname === '127.0.0.1' || url.hostname === 'localhost' || url.hostname === '[::1]';
  if (url.protocol === 'http:' && loopback) {
    if (!options.allowInsecureCallback)
      out.push({ path, message: 'must be https (http to loopback needs allowInsecureCallback, for the simulator only)' });
    return;
  }
  out.push({ path, message: 'must be https' });
}

/** @internal `$.mediaConfig`: service-hosted (prefetched prompts) or app-hosted (blob). */
export function checkMediaConfig(v: unknown, out: Violation[]): string | undefined {
  const path = '$.mediaConfig';
  if (!isObj(v)) {
    out.push({ path, message: 'is required: serviceHostedMediaConfig or appHostedMediaConfig' });
    return undefined;
  }
  const t = typeName(v);
  if (v['removeFromDefaultAudioGroup'] !== undefined && typeof v['removeFromDefaultAudioGroup'] !== 'boolean') {
    out.push({ path: `${path}.removeFromDefaultAudioGroup`, message: 'must be a boolean' });
  }
  if (t === 'serviceHostedMediaConfig') {
    const pre = v['preFetchMedia'];
    if (pre !== undefined && pre !== null) {
      if (!Array.isArray(pre)) out.push({ path: `${path}.preFetchMedia`, message: 'must be a list of mediaInfo' });
      else
        pre.forEach((m: unknown, i) => {
          const p = `${path}.preFetchMedia[${i}]`;
          if (!isObj(m)) {
            out.push({ path: p, message: 'must be a mediaInfo object' });
            return;
          }
          let ok = nonEmpty(m['uri']);
          if (ok) {
            try {
              const u = new URL(m['uri'] as string);
              ok = u.protocol === 'https:';
            } catch {
              ok = false;
            }
          }
          if (!ok) out.push({ path: `${p}.uri`, message: 'must be an https URL' });
          if (!nonEmpty(m['resourceId']))
            out.push({ path: `${p}.resourceId`, message: 'is required (the cache key of the prefetched media)' });
        });
    }
    if (v['blob'] !== undefined)
      out.push({ path: `${path}.blob`, message: 'belongs to appHostedMediaConfig, not serviceHostedMediaConfig' });
  } else if (t === 'appHostedMediaConfig') {
    if (!nonEmpty(v['blob'])) out.push({ path: `${path}.blob`, message: 'is required (the media session blob from the media platform)' });
    if (v['preFetchMedia'] !== undefined)
      out.push({ path: `${path}.preFetchMedia`, message: 'only service-hosted media prefetches prompts' });
  } else {
    out.push({
      path: `${path}['@odata.type']`,
      message: "must be '#microsoft.graph.serviceHostedMediaConfig' or '#microsoft.graph.appHostedMediaConfig'",
    });
  }
  return t;
}

/**
 * Validates a raw create-call body; returns every violation (empty when valid). Checks: https
 * `callbackUri` (loopback http only with `allowInsecureCallback`), `requestedModalities`,
 * media config (service-hosted `preFetchMedia`/`removeFromDefaultAudioGroup`, app-hosted `blob`),
 * `ringingTimeoutInSeconds` 1..115, source identity, and the scenario: a meeting join needs
 * organizer + chatInfo (threadId, messageId) or a joinMeetingId (passcode optional) or a token;
 * otherwise 1..5 targets, several targets only VoIP users, a phone target E.164, alone, from an
 * applicationInstance source with a tenantId; a guest source only to join a meeting.
 */
export function validateCallRequest(body: unknown, options: ValidationOptions = {}): Violation[] {
  const out: Violation[] = [];
  if (!isObj(body)) return [{ path: '$', message: 'must be a call object' }];
  if (body['@odata.type'] !== undefined && typeName(body) !== 'call')
    out.push({ path: "$['@odata.type']", message: "must be '#microsoft.graph.call'" });
  checkCallbackUri(body['callbackUri'], '$.callbackUri', options, out);
  const mods = body['requestedModalities'];
  if (!Array.isArray(mods) || mods.length === 0)
    out.push({ path: '$.requestedModalities', message: `is required: a non-empty list of ${[...MODALITIES].join(', ')}` });
  else {
    mods.forEach((m: unknown, i) => {
      if (typeof m !== 'string' || !MODALITIES.has(m))
        out.push({ path: `$.requestedModalities[${i}]`, message: `'${String(m)}' is not one of ${[...MODALITIES].join(', ')}` });
    });
    if (new Set(mods).size !== mods.length) out.push({ path: '$.requestedModalities', message: 'has duplicates' });
  }
  checkMediaConfig(body['mediaConfig'], out);
  const ringing = body['ringingTimeoutInSeconds'];
  if (
    ringing !== undefined &&
    ringing !== null &&
    (typeof ringing !== 'number' || !Number.isInteger(ringing) || ringing < 1 || ringing > 115)
  ) {
    out.push({ path: '$.ringingTimeoutInSeconds', message: 'must be an integer from 1 to 115' });
  }
  if (body['subject'] !== undefined && typeof body['subject'] !== 'string') out.push({ path: '$.subject', message: 'must be a string' });
  const tenantId = body['tenantId'];
  if (tenantId !== undefined && !nonEmpty(tenantId)) out.push({ path: '$.tenantId', message: 'must be a non-empty string' });

  let sourceKind: string | undefined;
  const source = body['source'];
  if (source !== undefined && source !== null) {
    if (!isObj(source)) out.push({ path: '$.source', message: 'must be a participantInfo object' });
    else sourceKind = checkIdentitySet(source['identity'], '$.source.identity', out)?.kind;
    if (sourceKind === 'user' || sourceKind === 'phone')
      out.push({ path: `$.source.identity.${sourceKind}`, message: 'a bot calls as its application, applicationInstance or a guest' });
  }

  const meeting = body['meetingInfo'];
  const chat = body['chatInfo'];
  const targets = body['targets'];
  if (meeting !== undefined && meeting !== null) {
    if (!isObj(meeting)) out.push({ path: '$.meetingInfo', message: 'must be a meetingInfo object' });
    else {
      const t =
        typeName(meeting) ??
        ('joinMeetingId' in meeting
          ? 'joinMeetingIdMeetingInfo'
          : 'organizer' in meeting
            ? 'organizerMeetingInfo'
            : 'token' in meeting
              ? 'tokenMeetingInfo'
              : undefined);
      if (t === 'organizerMeetingInfo') {
        const org = checkIdentitySet(meeting['organizer'], '$.meetingInfo.organizer', out);
        if (org && org.kind !== 'user') out.push({ path: '$.meetingInfo.organizer', message: 'the organizer must be a user' });
        if (!isObj(chat)) out.push({ path: '$.chatInfo', message: 'is required with organizerMeetingInfo (threadId and messageId)' });
        else {
          if (!nonEmpty(chat['threadId'])) out.push({ path: '$.chatInfo.threadId', message: 'is required (19:meeting_...@thread.v2)' });
          if (!nonEmpty(chat['messageId']))
            out.push({ path: '$.chatInfo.messageId', message: "is required ('0' for a scheduled meeting)" });
        }
      } else if (t === 'joinMeetingIdMeetingInfo') {
        if (!nonEmpty(meeting['joinMeetingId'])) out.push({ path: '$.meetingInfo.joinMeetingId', message: 'is required' });
        const pass = meeting['passcode'];
        if (pass !== undefined && pass !== null && typeof pass !== 'string')
          out.push({ path: '$.meetingInfo.passcode', message: 'must be a string or null' });
      } else if (t === 'tokenMeetingInfo') {
        if (!nonEmpty(meeting['token'])) out.push({ path: '$.meetingInfo.token', message: 'is required' });
      } else {
        out.push({
          path: "$.meetingInfo['@odata.type']",
          message: 'must be organizerMeetingInfo, joinMeetingIdMeetingInfo or tokenMeetingInfo',
        });
      }
    }
    if (Array.isArray(targets) && targets.length > 0)
      out.push({ path: '$.targets', message: 'a meeting join takes no targets (invite participants after joining)' });
  } else {
    if (chat !== undefined && chat !== null)
      out.push({ path: '$.chatInfo', message: 'only a meeting join (with meetingInfo) takes chatInfo' });
    if (sourceKind === 'guest')
      out.push({ path: '$.source.identity.guest', message: 'a guest identity can only join a meeting (meetingInfo is missing)' });
    if (!Array.isArray(targets) || targets.length === 0) {
      out.push({ path: '$.targets', message: 'is required: 1 target (peer-to-peer) to 5 (group), or meetingInfo to join a meeting' });
    } else {
      if (targets.length > 5) out.push({ path: '$.targets', message: `a group call takes at most 5 VoIP targets, got ${targets.length}` });
      const seen = new Map<string, number>();
      targets.forEach((t: unknown, i) => {
        const p = `$.targets[${i}]`;
        if (!isObj(t)) {
          out.push({ path: p, message: 'must be an invitationParticipantInfo object' });
          return;
        }
        const who = checkIdentitySet(t['identity'], `${p}.identity`, out);
        if (!who) return;
        const key = `${who.kind}:${who.id.toLowerCase()}`;
        if (seen.has(key)) out.push({ path: `${p}.identity.${who.kind}.id`, message: `duplicates $.targets[${seen.get(key)!}]` });
        else seen.set(key, i);
        if (who.kind === 'phone') {
          if (!E164.test(who.id))
            out.push({ path: `${p}.identity.phone.id`, message: `'${who.id}' is not an E.164 phone number (+12345678901)` });
          if (targets.length > 1) out.push({ path: `${p}.identity.phone`, message: 'a PSTN call is peer-to-peer: one phone target only' });
          if (sourceKind !== 'applicationInstance')
            out.push({
              path: '$.source.identity.applicationInstance',
              message: 'a PSTN call needs an application instance (with a phone number) as its source',
            });
          if (!nonEmpty(tenantId)) out.push({ path: '$.tenantId', message: 'is required for a PSTN call' });
        } else if (who.kind !== 'user' && targets.length > 1) {
          out.push({ path: `${p}.identity`, message: 'a group call invites VoIP users only' });
        } else if (who.kind === 'guest' || who.kind === 'applicationInstance') {
          out.push({ path: `${p}.identity.${who.kind}`, message: 'a call targets a user, an application or a phone number' });
        }
      });
    }
  }
  // one message per path+message
  const unique = new Map(out.map((v) => [`${v.path}\u0000${v.message}`, v]));
  return [...unique.values()];
}

/** The scenario a create-call body describes. */
export type CallScenario = 'peerToPeer' | 'group' | 'pstn' | 'joinMeeting' | 'joinMeetingAsGuest';

/** Application permissions a create-call request needs (the "Calls.*" entries of
 * https://learn.microsoft.com/en-us/graph/permissions-reference and the create-call pages). */
export interface RequiredPermissions {
  readonly scenario: CallScenario;
  /** Every application permission the app must hold (all of them). */
  readonly application: readonly string[];
  /**
   * For bot meeting joins: the same set with the `Calls.JoinGroupCalls.Chat` resource-specific
   * consent (granted per chat/meeting) in place of `Calls.JoinGroupCall.All`.
   */
  readonly rscAlternative?: readonly string[];
  /** True when app-hosted media adds `Calls.AccessMedia.All`. */
  readonly appHostedMedia: boolean;
}

/** The scenario of a create-call body (meeting join, guest join, PSTN, group, peer-to-peer). */
export function scenarioOf(request: CallRequestBody | Record<string, unknown>): CallScenario {
  const r = request as Record<string, unknown>;
  const source = isObj(r['source']) && isObj(r['source']['identity']) ? r['source']['identity'] : undefined;
  if (r['meetingInfo'] !== undefined && r['meetingInfo'] !== null)
    return source && isObj(source['guest']) ? 'joinMeetingAsGuest' : 'joinMeeting';
  const targets = Array.isArray(r['targets']) ? (r['targets'] as unknown[]) : [];
  if (targets.some((t) => isObj(t) && isObj(t['identity']) && isObj(t['identity']['phone']))) return 'pstn';
  return targets.length > 1 ? 'group' : 'peerToPeer';
}

/**
 * The application permissions `request` needs: Calls.Initiate.All (peer-to-peer, PSTN),
 * Calls.InitiateGroupCall.All (group), Calls.JoinGroupCall.All (meeting join; or the
 * Calls.JoinGroupCalls.Chat RSC permission), Calls.JoinGroupCallAsGuest.All (guest join), plus
 * Calls.AccessMedia.All for app-hosted media.
 */
export function requiredPermissions(request: CallRequestBody | Record<string, unknown>): RequiredPermissions {
  const scenario = scenarioOf(request);
  const media = (request as Record<string, unknown>)['mediaConfig'];
  const appHostedMedia = isObj(media) && typeName(media) === 'appHostedMediaConfig';
  const extra = appHostedMedia ? ['Calls.AccessMedia.All'] : [];
  const base: Record<CallScenario, string> = {
    peerToPeer: 'Calls.Initiate.All',
    pstn: 'Calls.Initiate.All',
    group: 'Calls.InitiateGroupCall.All',
    joinMeeting: 'Calls.JoinGroupCall.All',
    joinMeetingAsGuest: 'Calls.JoinGroupCallAsGuest.All',
  };
  return {
    scenario,
    application: [base[scenario], ...extra],
    ...(scenario === 'joinMeeting' ? { rscAlternative: ['Calls.JoinGroupCalls.Chat', ...extra] } : {}),
    appHostedMedia,
  };
}
