import type { CommandBodies, CommandResponses } from './bodies.js';

/**
 * The call resource's commands, once. Core's `CommandName`, the transport's routes and client
 * methods, the runtime's `Call` and participant handles, the exchange-log recorder and
 * replay's `commandOf` are all derived from this table: adding a Graph command is one row
 * here and its body and answer types in `bodies.ts`.
 */

/** Where a command acts: the calls collection, one call, or one participant of a call. */
export type CommandScope = 'collection' | 'call' | 'participant';

/** `response`: Graph's answer is the outcome. `operation`: Graph answers with a `commsOperation` that ends later, in a notification. */
export type CommandResultKind = 'response' | 'operation';

/** Whether the command sends a body: none, an optional one (`{}` when omitted), or a required one. */
export type CommandBodyPresence = 'none' | 'optional' | 'required';

/** One row of {@link COMMANDS}. */
export interface CommandSpec {
  readonly method: 'GET' | 'POST' | 'DELETE';
  /**
   * The path after the calls collection (`/communications/calls`): `''` for the collection,
   * `'/{callId}'`, `'/{callId}/playPrompt'`, `'/{callId}/participants/{participantId}/mute'`.
   */
  readonly path: string;
  readonly scope: CommandScope;
  /** True when sending it twice does no harm, so it may be retried after an ambiguous failure. */
  readonly idempotent: boolean;
  readonly result: CommandResultKind;
  readonly body: CommandBodyPresence;
  /** The application permissions Graph's page lists for it, least privileged first (any one of them). */
  readonly permissions: readonly string[];
  /** The first Graph version that has it (`beta`: not in v1.0). */
  readonly since: 'v1.0' | 'beta';
  /** Its method on the `Call` handle (participant-scoped: taking the participant id first), or null. */
  readonly call: string | null;
  /** Its method on a participant handle, or null. */
  readonly participant: string | null;
  /** Other spellings of the last path segment Graph accepts (`record` for `recordResponse`). */
  readonly aliases?: readonly string[];
}

const INITIATE = ['Calls.Initiate.All', 'Calls.AccessMedia.All'] as const;
const MEDIA = ['Calls.AccessMedia.All'] as const;
const JOIN = ['Calls.JoinGroupCall.All', 'Calls.JoinGroupCallAsGuest.All'] as const;

/** What a call action is unless its row says otherwise. */
interface ActionDefaults<Name extends string> {
  readonly method: 'POST';
  readonly path: `/{callId}/${Name}`;
  readonly scope: 'call';
  readonly idempotent: false;
  readonly result: 'operation';
  readonly body: 'optional';
  readonly permissions: typeof INITIATE;
  readonly since: 'v1.0';
  readonly call: Name;
  readonly participant: null;
}

/** What a participant action is unless its row says otherwise. */
interface ParticipantActionDefaults<Name extends string> extends Omit<ActionDefaults<Name>, 'path' | 'scope' | 'participant'> {
  readonly path: `/{callId}/participants/{participantId}/${Name}`;
  readonly scope: 'participant';
  readonly participant: Name;
}

type Row<Defaults, Rest> = Omit<Defaults, keyof Rest> & Rest;

/** A call action: `POST /calls/{callId}/<name>`, not idempotent, answered with an operation. */
function action<const Name extends string, const Rest extends Partial<CommandSpec>>(
  name: Name,
  rest: Rest,
): Row<ActionDefaults<Name>, Rest> {
  const defaults: ActionDefaults<Name> = {
    method: 'POST',
    path: `/{callId}/${name}`,
    scope: 'call',
    idempotent: false,
    result: 'operation',
    body: 'optional',
    permissions: INITIATE,
    since: 'v1.0',
    call: name,
    participant: null,
  };
  return { ...defaults, ...rest };
}

/** A participant action: `POST /calls/{callId}/participants/{participantId}/<name>`. */
function participantAction<const Name extends string, const Rest extends Partial<CommandSpec>>(
  name: Name,
  rest: Rest,
): Row<ParticipantActionDefaults<Name>, Rest> {
  const defaults: ParticipantActionDefaults<Name> = {
    method: 'POST',
    path: `/{callId}/participants/{participantId}/${name}`,
    scope: 'participant',
    idempotent: false,
    result: 'operation',
    body: 'optional',
    permissions: INITIATE,
    since: 'v1.0',
    call: name,
    participant: name,
  };
  return { ...defaults, ...rest };
}

/**
 * Every command of the call resource (Graph's "Methods" list of the `call` resource, v1.0 and
 * beta), with the route it takes. `record` goes to `recordResponse` (the v1.0 name; `record`
 * is its beta alias). `logTeleconferenceDeviceQuality` is a collection action and takes no
 * call id; `create` is the switchboard's `createCall`, not a handle method.
 */
export const COMMANDS = {
  create: {
    method: 'POST',
    path: '',
    scope: 'collection',
    idempotent: false,
    result: 'response',
    body: 'required',
    permissions: [
      'Calls.JoinGroupCalls.Chat',
      'Calls.JoinGroupCallAsGuest.All',
      'Calls.JoinGroupCall.All',
      'Calls.Initiate.All',
      'Calls.InitiateGroupCall.All',
    ],
    since: 'v1.0',
    call: null,
    participant: null,
  },
  get: action('get', { method: 'GET', path: '/{callId}', idempotent: true, result: 'response', body: 'none' }),
  delete: action('delete', { method: 'DELETE', path: '/{callId}', idempotent: true, result: 'response', body: 'none', call: 'hangUp' }),
  keepAlive: action('keepAlive', { idempotent: true, result: 'response', body: 'none' }),
  answer: action('answer', { result: 'response', body: 'required', permissions: JOIN }),
  reject: action('reject', { result: 'response' }),
  redirect: action('redirect', { result: 'response', body: 'required' }),
  transfer: action('transfer', { result: 'response', body: 'required' }),
  listParticipants: action('listParticipants', {
    method: 'GET',
    path: '/{callId}/participants',
    idempotent: true,
    result: 'response',
    body: 'none',
  }),
  invite: action('invite', { path: '/{callId}/participants/invite', body: 'required', permissions: ['Calls.InitiateGroupCall.All'] }),
  muteAll: action('muteAll', { path: '/{callId}/participants/muteAll' }),
  muteParticipant: participantAction('mute', { call: 'muteParticipant' }),
  deleteParticipant: participantAction('delete', {
    method: 'DELETE',
    path: '/{callId}/participants/{participantId}',
    result: 'response',
    body: 'none',
    call: 'removeParticipant',
    participant: 'remove',
  }),
  createAudioRoutingGroup: action('createAudioRoutingGroup', {
    path: '/{callId}/audioRoutingGroups',
    result: 'response',
    body: 'required',
    permissions: [...JOIN, 'Calls.Initiate.All', 'Calls.InitiateGroupCall.All'],
  }),
  listAudioRoutingGroups: action('listAudioRoutingGroups', {
    method: 'GET',
    path: '/{callId}/audioRoutingGroups',
    idempotent: true,
    result: 'response',
    body: 'none',
    permissions: [...JOIN, 'Calls.Initiate.All', 'Calls.InitiateGroupCall.All'],
  }),
  addLargeGalleryView: action('addLargeGalleryView', { permissions: JOIN }),
  playPrompt: action('playPrompt', { body: 'required' }),
  record: action('recordResponse', { call: 'record', aliases: ['record'] }),
  cancelMediaProcessing: action('cancelMediaProcessing', {}),
  subscribeToTone: action('subscribeToTone', {}),
  sendDtmfTones: action('sendDtmfTones', { body: 'required' }),
  mute: action('mute', {}),
  unmute: action('unmute', {}),
  changeScreenSharingRole: action('changeScreenSharingRole', { result: 'response', body: 'required', permissions: MEDIA }),
  updateRecordingStatus: action('updateRecordingStatus', { body: 'required', permissions: MEDIA }),
  startRecording: action('startRecording', { permissions: MEDIA, since: 'beta' }),
  stopRecording: action('stopRecording', { permissions: MEDIA, since: 'beta' }),
  startTranscription: action('startTranscription', { permissions: MEDIA, since: 'beta' }),
  stopTranscription: action('stopTranscription', { permissions: MEDIA, since: 'beta' }),
  logTeleconferenceDeviceQuality: {
    method: 'POST',
    path: '/logTeleconferenceDeviceQuality',
    scope: 'collection',
    idempotent: false,
    result: 'response',
    body: 'required',
    permissions: MEDIA,
    since: 'v1.0',
    call: null,
    participant: null,
  },
  startHoldMusic: participantAction('startHoldMusic', { permissions: JOIN }),
  stopHoldMusic: participantAction('stopHoldMusic', { permissions: JOIN }),
} as const satisfies { readonly [name: string]: CommandSpec };

/** Names of the commands a bot can send for a call (the call resource's methods). */
export type CommandName = keyof typeof COMMANDS;

/** The command names, in table order. */
export const COMMAND_NAMES: readonly CommandName[] = Object.freeze(Object.keys(COMMANDS) as CommandName[]);

/** True if `name` is a command of the table. */
export function isCommandName(name: unknown): name is CommandName {
  return typeof name === 'string' && Object.hasOwn(COMMANDS, name);
}

/** The row of `command`. */
export function commandSpec(command: CommandName): CommandSpec {
  return COMMANDS[command];
}

/** A command's request body (`undefined` for commands without one). */
export type CommandBody<C extends CommandName> = CommandBodies[C];

/** What Graph answers a command with (`null` for no body). */
export type CommandResponse<C extends CommandName> = CommandResponses[C];

/**
 * The body argument of a command, as a tuple to spread into a signature: none, optional or
 * required, as the table's `body` column says.
 */
export type CommandBodyArgs<C extends CommandName> = (typeof COMMANDS)[C]['body'] extends 'none'
  ? []
  : (typeof COMMANDS)[C]['body'] extends 'optional'
    ? [body?: CommandBodies[C]]
    : [body: CommandBodies[C]];

/** The ids a command's path needs before its body: none, the call's, or the call's and a participant's. */
export type CommandTargetArgs<C extends CommandName> = (typeof COMMANDS)[C]['scope'] extends 'participant'
  ? [callId: string, participantId: string]
  : (typeof COMMANDS)[C]['scope'] extends 'call'
    ? [callId: string]
    : [];

/** Commands whose row names a method on the `Call` handle, keyed by that method. */
export type CallMethodCommand = {
  [C in CommandName as (typeof COMMANDS)[C]['call'] extends string ? (typeof COMMANDS)[C]['call'] : never]: C;
};

/** Commands whose row names a method on a participant handle, keyed by that method. */
export type ParticipantMethodCommand = {
  [C in CommandName as (typeof COMMANDS)[C]['participant'] extends string ? (typeof COMMANDS)[C]['participant'] : never]: C;
};

// Every command has a body type and an answer type, and nothing else does.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const bodiesCoverTheTable: Same<keyof CommandBodies, CommandName> = true;
const responsesCoverTheTable: Same<keyof CommandResponses, CommandName> = true;
void bodiesCoverTheTable;
void responsesCoverTheTable;

const ID_SLOT = /^\{(callId|participantId)\}$/;

/**
 * The path of `command` after the calls collection, its `{callId}` and `{participantId}`
 * replaced by the values given, as given (not URL-encoded: the caller encodes when it builds
 * a URL). Slots without a value are left as they are.
 */
export function commandPathOf(command: CommandName, ids: { readonly callId?: string; readonly participantId?: string } = {}): string {
  return COMMANDS[command].path
    .split('/')
    .map((segment) => {
      const slot = ID_SLOT.exec(segment)?.[1] as 'callId' | 'participantId' | undefined;
      return (slot ? ids[slot] : undefined) ?? segment;
    })
    .join('/');
}

interface Matcher {
  readonly command: CommandName;
  readonly method: string;
  /** Lower-cased literal segments, or a slot name. */
  readonly segments: readonly ({ readonly literal: readonly string[] } | { readonly slot: 'callId' | 'participantId' })[];
  readonly literals: number;
}

const MATCHERS: readonly Matcher[] = COMMAND_NAMES.map((command): Matcher => {
  const spec: CommandSpec = COMMANDS[command];
  const parts = spec.path.split('/').filter((s) => s.length > 0);
  const segments = parts.map((part, i) => {
    const slot = ID_SLOT.exec(part)?.[1] as 'callId' | 'participantId' | undefined;
    if (slot) return { slot };
    const spellings = i === parts.length - 1 ? [part, ...(spec.aliases ?? [])] : [part];
    return { literal: spellings.map((s) => s.toLowerCase()) };
  });
  return { command, method: spec.method, segments, literals: segments.filter((s) => 'literal' in s).length };
}).sort((a, b) => b.literals - a.literals); // a literal segment beats an id slot (`participants/invite`)

/**
 * The command a request to the calls collection is, from its method and the path segments
 * after `/calls` (each decoded): `POST ['c1', 'participants', 'invite']` is `invite` of call
 * `c1`. Action names match case-insensitively and with or without the `microsoft.graph.`
 * prefix. Undefined for a request that is no command of the table.
 */
export function matchCommand(
  method: string,
  segments: readonly string[],
): { readonly command: CommandName; readonly callId?: string; readonly participantId?: string } | undefined {
  const verb = method.toUpperCase();
  for (const m of MATCHERS) {
    if (m.method !== verb || m.segments.length !== segments.length) continue;
    const ids: { callId?: string; participantId?: string } = {};
    let ok = true;
    for (let i = 0; i < segments.length && ok; i++) {
      const want = m.segments[i]!;
      const got = segments[i]!;
      if ('slot' in want) ids[want.slot] = got;
      else {
        const lower = got.toLowerCase();
        ok = want.literal.includes(lower.startsWith('microsoft.graph.') ? lower.slice('microsoft.graph.'.length) : lower);
      }
    }
    if (ok) return { command: m.command, ...ids };
  }
  return undefined;
}
