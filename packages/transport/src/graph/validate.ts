import { SwitchboardError, type CommandName } from '@switchboard/core';
import { checkCallbackUri, checkMediaConfig, isObj, nonEmpty, validateCallRequest, type ValidationOptions } from './builders.js';
import { COMMAND_ROUTES, isCommandName } from './commands.js';
import type { Violation } from './errors.js';

/*
 * Request-body checks for every command of the call resource (the "Methods" list of
 * https://learn.microsoft.com/en-us/graph/api/resources/call),
 * from each method's request-body table in the Graph reference (v1.0, or beta where the method
 * is beta only). The rules:
 *
 * - what the tables make required, and what a method cannot do without (reject's `reason` is
 *   optional, changeScreenSharingRole's `role` is not);
 * - the types the tables give (String, Int32, Boolean, collections, the documented objects);
 * - the enums they list, compared without regard to case (the reject page lists `None`, `Busy`,
 *   `Forbidden` and sends `busy`: Graph reads enum members case-insensitively);
 * - the limits they state: redirect 1..25 targets and a 15..90 s timeout, playPrompt 1..20
 *   prompts, recordResponse at most 1 prompt and 1..120 s timeouts, clientContext at most 256
 *   characters, an audio routing group's one source (and one receiver for oneToOne);
 * - callbackUri https (loopback http with `allowInsecureCallback`), as for create.
 *
 * Lenient elsewhere: properties a table does not list pass untouched and unchecked, an
 * `@odata.type` is never required or rejected (except mediaConfig's, which picks between the
 * two documented media configurations, as create does), `null` counts as absent for an
 * optional property, an identity set may hold several identities, and where a table is silent
 * (a prompt's URI scheme, how many participants an invite takes) nothing is enforced.
 */

const ACCEPTED_MODALITIES = ['audio', 'video', 'videoBasedScreenSharing'] as const;
const REJECT_REASONS = ['none', 'busy', 'forbidden'] as const;
const ENDPOINT_TYPES = ['default', 'voicemail', 'skypeForBusiness', 'skypeForBusinessVoipPhone', 'unknownFutureValue'] as const;
/** toneInfo's `tone` (v1.0 resource page). */
const TONES = [
  'tone0',
  'tone1',
  'tone2',
  'tone3',
  'tone4',
  'tone5',
  'tone6',
  'tone7',
  'tone8',
  'tone9',
  'star',
  'pound',
  'a',
  'b',
  'c',
  'd',
  'flash',
] as const;
const SCREEN_SHARING_ROLES = ['viewer', 'sharer'] as const;
const RECORDING_STATUSES = ['notRecording', 'recording', 'failed'] as const;
const ROUTING_MODES = ['oneToOne', 'multicast'] as const;
/** The identities an invitation names; each one given must have an id. */
const IDENTITY_KINDS = ['user', 'application', 'applicationInstance', 'phone', 'guest'] as const;
const E164 = /^\+[1-9]\d{1,14}$/;
const CLIENT_CONTEXT_MAX = 256;

type Out = Violation[];
type Body = Record<string, unknown>;

const absent = (v: unknown): v is undefined | null => v === undefined || v === null;

function oneOf(values: readonly string[]): string {
  return values.join(', ');
}

/** An enum member, case-insensitively. */
function checkEnum(v: unknown, path: string, values: readonly string[], required: boolean, out: Out): void {
  if (absent(v)) {
    if (required) out.push({ path, message: `is required: one of ${oneOf(values)}` });
    return;
  }
  if (typeof v !== 'string' || !values.some((x) => x.toLowerCase() === v.toLowerCase())) {
    out.push({ path, message: `${JSON.stringify(v)} is not one of ${oneOf(values)}` });
  }
}

function checkString(v: unknown, path: string, out: Out, max?: number): void {
  if (absent(v)) return;
  if (typeof v !== 'string') out.push({ path, message: 'must be a string' });
  else if (max !== undefined && v.length > max) out.push({ path, message: `must be at most ${max} characters, got ${v.length}` });
}

function checkBoolean(v: unknown, path: string, out: Out): void {
  if (!absent(v) && typeof v !== 'boolean') out.push({ path, message: 'must be a boolean' });
}

function checkInteger(v: unknown, path: string, min: number, max: number | undefined, out: Out): void {
  if (absent(v)) return;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || (max !== undefined && v > max)) {
    out.push({ path, message: max === undefined ? `must be an integer of at least ${min}` : `must be an integer from ${min} to ${max}` });
  }
}

/** A list: required and non-empty when `min` ≥ 1, at most `max` items; each item checked. */
function checkList(
  v: unknown,
  path: string,
  what: string,
  limits: { readonly min: number; readonly max?: number },
  out: Out,
  item: (x: unknown, path: string) => void,
): void {
  if (absent(v)) {
    if (limits.min > 0) out.push({ path, message: `is required: a non-empty list of ${what}` });
    return;
  }
  if (!Array.isArray(v)) {
    out.push({ path, message: `must be a list of ${what}` });
    return;
  }
  if (v.length < limits.min) out.push({ path, message: `must hold at least ${limits.min} ${what}` });
  if (limits.max !== undefined && v.length > limits.max)
    out.push({ path, message: `takes at most ${limits.max} ${what}, got ${v.length}` });
  v.forEach((x: unknown, i) => item(x, `${path}[${i}]`));
}

function checkClientContext(b: Body, out: Out): void {
  checkString(b['clientContext'], '$.clientContext', out, CLIENT_CONTEXT_MAX);
}

function checkOptionalCallbackUri(b: Body, options: ValidationOptions, out: Out): void {
  if (!absent(b['callbackUri'])) checkCallbackUri(b['callbackUri'], '$.callbackUri', options, out);
}

/** An identitySet naming at least one identity; every user/application/applicationInstance/phone/guest given has an id, a phone's in E.164. */
function checkIdentitySet(v: unknown, path: string, out: Out): void {
  if (absent(v)) {
    out.push({ path, message: `is required: an identitySet with a ${IDENTITY_KINDS.join(', ')} identity` });
    return;
  }
  if (!isObj(v)) {
    out.push({ path, message: 'must be an identitySet object' });
    return;
  }
  const given = Object.entries(v).filter(([k, x]) => k !== '@odata.type' && !absent(x));
  if (!given.some(([, x]) => isObj(x))) {
    out.push({ path, message: `must hold an identity (${IDENTITY_KINDS.join(', ')}) with an id` });
    return;
  }
  for (const kind of IDENTITY_KINDS) {
    const ident = v[kind];
    if (absent(ident)) continue;
    if (!isObj(ident)) {
      out.push({ path: `${path}.${kind}`, message: 'must be an identity object' });
      continue;
    }
    if (!nonEmpty(ident['id'])) out.push({ path: `${path}.${kind}.id`, message: 'is required' });
    else if (kind === 'phone' && !E164.test(ident['id']))
      out.push({ path: `${path}.phone.id`, message: `'${ident['id']}' is not an E.164 phone number (+12345678901)` });
    checkString(ident['displayName'], `${path}.${kind}.displayName`, out);
  }
}

/** `microsoft.graph.invitationParticipantInfo`. */
function checkInvitation(v: unknown, path: string, out: Out): void {
  if (!isObj(v)) {
    out.push({
      path,
      message: absent(v) ? 'is required: an invitationParticipantInfo object' : 'must be an invitationParticipantInfo object',
    });
    return;
  }
  checkIdentitySet(v['identity'], `${path}.identity`, out);
  checkEnum(v['endpointType'], `${path}.endpointType`, ENDPOINT_TYPES, false, out);
  for (const key of ['replacesCallId', 'participantId'] as const) {
    const s = v[key];
    if (!absent(s) && !nonEmpty(s)) out.push({ path: `${path}.${key}`, message: 'must be a non-empty string' });
  }
  checkBoolean(v['hidden'], `${path}.hidden`, out);
  checkBoolean(v['removeFromDefaultAudioRoutingGroup'], `${path}.removeFromDefaultAudioRoutingGroup`, out);
}

/** `microsoft.graph.mediaPrompt`: a `mediaInfo` with an absolute `uri`. */
function checkMediaPrompt(v: unknown, path: string, out: Out): void {
  if (!isObj(v)) {
    out.push({ path, message: absent(v) ? 'is required: a mediaPrompt object' : 'must be a mediaPrompt object' });
    return;
  }
  const info = v['mediaInfo'];
  if (!isObj(info)) {
    out.push({
      path: `${path}.mediaInfo`,
      message: absent(info) ? 'is required: a mediaInfo with the prompt uri' : 'must be a mediaInfo object',
    });
    return;
  }
  const uri = info['uri'];
  if (!nonEmpty(uri)) out.push({ path: `${path}.mediaInfo.uri`, message: 'is required (the URL of the prompt, a .wav file)' });
  else if (!URL.canParse(uri)) out.push({ path: `${path}.mediaInfo.uri`, message: 'is not an absolute URL' });
  checkString(info['resourceId'], `${path}.mediaInfo.resourceId`, out);
}

function checkStrings(
  v: unknown,
  path: string,
  what: string,
  limits: { readonly min: number; readonly max?: number },
  nonEmptyItems: boolean,
  out: Out,
): void {
  checkList(v, path, what, limits, out, (x, p) => {
    if (typeof x !== 'string') out.push({ path: p, message: 'must be a string' });
    else if (nonEmptyItems && x.trim() === '') out.push({ path: p, message: 'must be a non-empty string' });
  });
}

type Check = (b: Body, options: ValidationOptions, out: Out) => void;

const clientContextOnly: Check = (b, _o, out) => checkClientContext(b, out);

/** The checks of the commands that take a body (create has its own, {@link validateCallRequest}). */
const CHECKS: { readonly [C in CommandName]?: Check } = {
  // POST /calls/{id}/answer: acceptedModalities and mediaConfig required; callbackUri optional (the app's default is used)
  answer(b, o, out) {
    checkOptionalCallbackUri(b, o, out);
    checkList(b['acceptedModalities'], '$.acceptedModalities', `modalities (${oneOf(ACCEPTED_MODALITIES)})`, { min: 1 }, out, (m, p) =>
      checkEnum(m, p, ACCEPTED_MODALITIES, true, out),
    );
    checkMediaConfig(b['mediaConfig'], out);
    checkInteger(b['participantCapacity'], '$.participantCapacity', 0, undefined, out);
    if (!absent(b['callOptions']) && !isObj(b['callOptions']))
      out.push({ path: '$.callOptions', message: 'must be an incomingCallOptions object' });
  },
  // POST /calls/{id}/reject: everything optional
  reject(b, o, out) {
    checkEnum(b['reason'], '$.reason', REJECT_REASONS, false, out);
    checkOptionalCallbackUri(b, o, out);
  },
  // POST /calls/{id}/redirect: 1..25 targets (simultaneous ring), timeout 15..90 s
  redirect(b, o, out) {
    checkList(b['targets'], '$.targets', 'invitationParticipantInfo', { min: 1, max: 25 }, out, (t, p) => checkInvitation(t, p, out));
    checkInteger(b['timeout'], '$.timeout', 15, 90, out);
    checkOptionalCallbackUri(b, o, out);
  },
  // POST /calls/{id}/transfer: a transferTarget; a transferee (participantInfo: identity, participantId) only from a group call
  transfer(b, _o, out) {
    checkInvitation(b['transferTarget'], '$.transferTarget', out);
    const transferee = b['transferee'];
    if (!absent(transferee)) {
      if (!isObj(transferee)) out.push({ path: '$.transferee', message: 'must be a participantInfo object (identity, participantId)' });
      else {
        checkIdentitySet(transferee['identity'], '$.transferee.identity', out);
        const pid = transferee['participantId'];
        if (!absent(pid) && !nonEmpty(pid)) out.push({ path: '$.transferee.participantId', message: 'must be a non-empty string' });
        checkEnum(transferee['endpointType'], '$.transferee.endpointType', ENDPOINT_TYPES, false, out);
      }
    }
    checkClientContext(b, out);
  },
  // POST /calls/{id}/participants/invite
  invite(b, _o, out) {
    checkList(b['participants'], '$.participants', 'invitationParticipantInfo', { min: 1 }, out, (t, p) => checkInvitation(t, p, out));
    checkClientContext(b, out);
  },
  // POST /calls/{id}/participants/muteAll (beta): participant ids, optional (the page's example sends [""])
  muteAll(b, _o, out) {
    checkStrings(b['participants'], '$.participants', 'participant ids', { min: 0 }, false, out);
    checkClientContext(b, out);
  },
  muteParticipant: clientContextOnly,
  // POST /calls/{id}/audioRoutingGroups: an audioRoutingGroup
  createAudioRoutingGroup(b, _o, out) {
    checkString(b['id'], '$.id', out);
    checkEnum(b['routingMode'], '$.routingMode', ROUTING_MODES, true, out);
    checkStrings(b['sources'], '$.sources', 'participant ids', { min: 1 }, true, out);
    checkStrings(b['receivers'], '$.receivers', 'participant ids', { min: 1 }, true, out);
    // "oneToOne - sources and receivers have only one participant each; multicast - source has one participant"
    const mode = typeof b['routingMode'] === 'string' ? b['routingMode'].toLowerCase() : undefined;
    const sources = b['sources'];
    const receivers = b['receivers'];
    if ((mode === 'onetoone' || mode === 'multicast') && Array.isArray(sources) && sources.length > 1) {
      out.push({
        path: '$.sources',
        message: `a ${mode === 'onetoone' ? 'oneToOne' : 'multicast'} group has one source, got ${sources.length}`,
      });
    }
    if (mode === 'onetoone' && Array.isArray(receivers) && receivers.length > 1) {
      out.push({ path: '$.receivers', message: `a oneToOne group has one receiver, got ${receivers.length} (use multicast)` });
    }
  },
  addLargeGalleryView: clientContextOnly,
  // POST /calls/{id}/playPrompt: 1..20 prompts
  playPrompt(b, _o, out) {
    checkList(b['prompts'], '$.prompts', 'mediaPrompt', { min: 1, max: 20 }, out, (x, p) => checkMediaPrompt(x, p, out));
    checkClientContext(b, out);
  },
  // POST /calls/{id}/recordResponse: at most 1 prompt, timeouts 1..120 s
  record(b, _o, out) {
    checkList(b['prompts'], '$.prompts', 'mediaPrompt', { min: 0, max: 1 }, out, (x, p) => checkMediaPrompt(x, p, out));
    checkBoolean(b['bargeInAllowed'], '$.bargeInAllowed', out);
    checkBoolean(b['playBeep'], '$.playBeep', out);
    for (const key of ['initialSilenceTimeoutInSeconds', 'maxSilenceTimeoutInSeconds', 'maxRecordDurationInSeconds'] as const) {
      checkInteger(b[key], `$.${key}`, 1, 120, out);
    }
    // the page's example stops on "#", "1", "*": any non-empty strings
    checkStrings(b['stopTones'], '$.stopTones', 'tones', { min: 0 }, true, out);
    checkClientContext(b, out);
  },
  cancelMediaProcessing: clientContextOnly,
  subscribeToTone: clientContextOnly,
  // POST /calls/{id}/sendDtmfTones: tones from toneInfo's list
  sendDtmfTones(b, _o, out) {
    checkList(b['tones'], '$.tones', `tones (${oneOf(TONES)})`, { min: 1 }, out, (t, p) => checkEnum(t, p, TONES, true, out));
    checkInteger(b['delayBetweenTonesMs'], '$.delayBetweenTonesMs', 0, undefined, out);
    checkClientContext(b, out);
  },
  mute: clientContextOnly,
  unmute: clientContextOnly,
  changeScreenSharingRole(b, _o, out) {
    checkEnum(b['role'], '$.role', SCREEN_SHARING_ROLES, true, out);
  },
  updateRecordingStatus(b, _o, out) {
    checkEnum(b['status'], '$.status', RECORDING_STATUSES, true, out);
    checkClientContext(b, out);
  },
  startRecording: clientContextOnly,
  stopRecording: clientContextOnly,
  startTranscription: clientContextOnly,
  stopTranscription: clientContextOnly,
  // POST /calls/logTeleconferenceDeviceQuality (beta): a teleconferenceDeviceQuality
  logTeleconferenceDeviceQuality(b, _o, out) {
    if (!isObj(b['quality']))
      out.push({
        path: '$.quality',
        message: absent(b['quality'])
          ? 'is required: a teleconferenceDeviceQuality object'
          : 'must be a teleconferenceDeviceQuality object',
      });
  },
  // POST /calls/{id}/participants/{pid}/startHoldMusic: an optional customPrompt
  startHoldMusic(b, _o, out) {
    if (!absent(b['customPrompt'])) checkMediaPrompt(b['customPrompt'], '$.customPrompt', out);
    checkClientContext(b, out);
  },
  stopHoldMusic: clientContextOnly,
};

/**
 * Validates the body of one command before it is sent; returns every violation with its JSON
 * path (`$.targets[0].identity.phone.id`), empty when the body is valid. `create` is checked by
 * {@link validateCallRequest}; commands without a body (get, delete, keepAlive, list*,
 * deleteParticipant) accept only `undefined`/`null`; for the others an absent body is checked
 * as `{}` (what the client sends). Unknown properties are never reported. Throws
 * `SWB_INVALID_ARGUMENT` for a command name the client does not know.
 */
export function validateCommandBody(command: CommandName, body: unknown, options: ValidationOptions = {}): Violation[] {
  if (!isCommandName(command)) throw new SwitchboardError('SWB_INVALID_ARGUMENT', `unknown command '${String(command)}'`);
  if (command === 'create') return validateCallRequest(body, options);
  if (!COMMAND_ROUTES[command].hasBody) return absent(body) ? [] : [{ path: '$', message: `${command} takes no body` }];
  const b = absent(body) ? {} : body;
  if (!isObj(b)) return [{ path: '$', message: 'must be a JSON object' }];
  const out: Violation[] = [];
  CHECKS[command]?.(b, options, out);
  return out;
}
