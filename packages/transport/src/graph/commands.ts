import type { CommandName } from '@switchboard/core';

/** How one command reaches Graph: method, the path after the calls collection, and its retry class. */
export interface CommandRoute {
  readonly method: 'GET' | 'POST' | 'DELETE';
  /**
   * The path after `/calls`: `''` for the collection, `'/{callId}'`, `'/{callId}/playPrompt'`,
   * `'/{callId}/participants/{participantId}/mute'`...
   */
  readonly template: string;
  /** True when sending it twice does no harm, so it may be retried after an ambiguous failure. */
  readonly idempotent: boolean;
  /** False for routes that send no body. */
  readonly hasBody: boolean;
}

const action = (name: string): CommandRoute => ({ method: 'POST', template: `/{callId}/${name}`, idempotent: false, hasBody: true });
const participantAction = (name: string): CommandRoute => ({
  method: 'POST',
  template: `/{callId}/participants/{participantId}/${name}`,
  idempotent: false,
  hasBody: true,
});

/**
 * Every command's route, from the "Methods" list of the call resource page
 * (https://learn.microsoft.com/en-us/graph/api/resources/call). `record` goes to
 * `recordResponse` (the v1.0 name; `record` is its beta alias).
 * `logTeleconferenceDeviceQuality` is a collection action (`POST /calls/logTeleconferenceDeviceQuality`)
 * and takes no call id.
 */
export const COMMAND_ROUTES: { readonly [C in CommandName]: CommandRoute } = {
  create: { method: 'POST', template: '', idempotent: false, hasBody: true },
  get: { method: 'GET', template: '/{callId}', idempotent: true, hasBody: false },
  delete: { method: 'DELETE', template: '/{callId}', idempotent: true, hasBody: false },
  keepAlive: { method: 'POST', template: '/{callId}/keepAlive', idempotent: true, hasBody: false },
  answer: action('answer'),
  reject: action('reject'),
  redirect: action('redirect'),
  transfer: action('transfer'),
  listParticipants: { method: 'GET', template: '/{callId}/participants', idempotent: true, hasBody: false },
  invite: { method: 'POST', template: '/{callId}/participants/invite', idempotent: false, hasBody: true },
  muteAll: { method: 'POST', template: '/{callId}/participants/muteAll', idempotent: false, hasBody: true },
  muteParticipant: participantAction('mute'),
  deleteParticipant: { method: 'DELETE', template: '/{callId}/participants/{participantId}', idempotent: false, hasBody: false },
  createAudioRoutingGroup: { method: 'POST', template: '/{callId}/audioRoutingGroups', idempotent: false, hasBody: true },
  listAudioRoutingGroups: { method: 'GET', template: '/{callId}/audioRoutingGroups', idempotent: true, hasBody: false },
  addLargeGalleryView: action('addLargeGalleryView'),
  playPrompt: action('playPrompt'),
  record: action('recordResponse'),
  cancelMediaProcessing: action('cancelMediaProcessing'),
  subscribeToTone: action('subscribeToTone'),
  sendDtmfTones: action('sendDtmfTones'),
  mute: action('mute'),
  unmute: action('unmute'),
  changeScreenSharingRole: action('changeScreenSharingRole'),
  updateRecordingStatus: action('updateRecordingStatus'),
  startRecording: action('startRecording'),
  stopRecording: action('stopRecording'),
  startTranscription: action('startTranscription'),
  stopTranscription: action('stopTranscription'),
  logTeleconferenceDeviceQuality: { method: 'POST', template: '/logTeleconferenceDeviceQuality', idempotent: false, hasBody: true },
  startHoldMusic: participantAction('startHoldMusic'),
  stopHoldMusic: participantAction('stopHoldMusic'),
};

/** The commands that may be retried after an ambiguous failure (get, delete, keepAlive, list*). */
export const IDEMPOTENT_COMMANDS: ReadonlySet<CommandName> = new Set(
  (Object.keys(COMMAND_ROUTES) as CommandName[]).filter((c) => COMMAND_ROUTES[c].idempotent),
);

/** True if `name` is a command this client knows. */
export function isCommandName(name: unknown): name is CommandName {
  return typeof name === 'string' && Object.hasOwn(COMMAND_ROUTES, name);
}
