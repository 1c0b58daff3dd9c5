/**
 * Narrow hand-written shapes of the Graph cloud-communications request bodies this client sends
 * (`@microsoft/microsoft-graph-types` is not a dependency of this package). Every object may carry
 * its `@odata.type`; unknown extra fields are allowed through {@link GraphObject}.
 */

/** Any JSON object Graph accepts; the typed shapes below extend it. */
export interface GraphObject {
  readonly '@odata.type'?: string;
  readonly [key: string]: unknown;
}

/** `microsoft.graph.identity`. */
export interface Identity extends GraphObject {
  readonly id?: string;
  readonly displayName?: string | null;
  readonly tenantId?: string;
}

/** `microsoft.graph.identitySet` (with the communications identities). */
export interface IdentitySet extends GraphObject {
  readonly user?: Identity;
  readonly application?: Identity;
  readonly applicationInstance?: Identity;
  readonly phone?: Identity;
  readonly guest?: Identity;
  readonly device?: Identity;
}

/** `microsoft.graph.participantInfo`. */
export interface ParticipantInfo extends GraphObject {
  readonly identity: IdentitySet;
  readonly countryCode?: string | null;
  readonly endpointType?: string | null;
  readonly region?: string | null;
  readonly languageId?: string | null;
}

/** `microsoft.graph.invitationParticipantInfo`. */
export interface InvitationParticipantInfo extends GraphObject {
  readonly identity: IdentitySet;
  readonly replacesCallId?: string;
  readonly participantId?: string;
  readonly hidden?: boolean;
}

/** `microsoft.graph.mediaInfo`. */
export interface MediaInfo extends GraphObject {
  readonly uri: string;
  readonly resourceId?: string;
}

/** `microsoft.graph.serviceHostedMediaConfig`. */
export interface ServiceHostedMediaConfig extends GraphObject {
  readonly '@odata.type': '#microsoft.graph.serviceHostedMediaConfig';
  readonly preFetchMedia?: readonly MediaInfo[];
  readonly removeFromDefaultAudioGroup?: boolean;
}

/** `microsoft.graph.appHostedMediaConfig`. */
export interface AppHostedMediaConfig extends GraphObject {
  readonly '@odata.type': '#microsoft.graph.appHostedMediaConfig';
  readonly blob: string;
  readonly removeFromDefaultAudioGroup?: boolean;
}

export type MediaConfig = ServiceHostedMediaConfig | AppHostedMediaConfig;

/** `microsoft.graph.chatInfo`. */
export interface ChatInfo extends GraphObject {
  readonly threadId: string;
  readonly messageId: string;
  readonly replyChainMessageId?: string;
}

/** `microsoft.graph.organizerMeetingInfo`, `joinMeetingIdMeetingInfo` or `tokenMeetingInfo`. */
export interface MeetingInfo extends GraphObject {
  readonly organizer?: IdentitySet;
  readonly allowConversationWithoutHost?: boolean;
  readonly joinMeetingId?: string;
  readonly passcode?: string | null;
  readonly token?: string;
}

export type Modality = 'audio' | 'video' | 'videoBasedScreenSharing' | 'data';

/** The body of `POST /communications/calls`: a `microsoft.graph.call`. */
export interface CallRequestBody extends GraphObject {
  readonly callbackUri: string;
  readonly requestedModalities: readonly Modality[];
  readonly mediaConfig: MediaConfig;
  readonly source?: ParticipantInfo;
  readonly targets?: readonly InvitationParticipantInfo[];
  readonly subject?: string;
  readonly direction?: 'outgoing';
  readonly chatInfo?: ChatInfo;
  readonly meetingInfo?: MeetingInfo;
  readonly tenantId?: string;
  readonly callOptions?: GraphObject;
  readonly ringingTimeoutInSeconds?: number | null;
}

/** A prompt for playPrompt: `microsoft.graph.mediaPrompt`. */
export interface MediaPrompt extends GraphObject {
  readonly mediaInfo: MediaInfo;
}

/** `POST /calls/{id}/answer`. */
export interface AnswerBody extends GraphObject {
  readonly callbackUri: string;
  readonly mediaConfig: MediaConfig;
  readonly acceptedModalities: readonly Modality[];
  readonly participantCapacity?: number;
  readonly callOptions?: GraphObject;
}

/** `POST /calls/{id}/reject`. */
export interface RejectBody extends GraphObject {
  readonly reason?: 'none' | 'busy' | 'forbidden';
  readonly callbackUri?: string;
}

/** `POST /calls/{id}/redirect`. */
export interface RedirectBody extends GraphObject {
  readonly targets: readonly InvitationParticipantInfo[];
  readonly timeout?: number;
  readonly callbackUri?: string;
}

/** `POST /calls/{id}/transfer`. */
export interface TransferBody extends GraphObject {
  readonly transferTarget: InvitationParticipantInfo;
  readonly transferee?: ParticipantInfo;
}

/** `POST /calls/{id}/participants/invite`. */
export interface InviteBody extends GraphObject {
  readonly participants: readonly InvitationParticipantInfo[];
  readonly clientContext?: string;
}

/** Bodies that carry only an optional `clientContext` (mute, unmute, muteAll, cancelMediaProcessing, ...). */
export interface ClientContextBody extends GraphObject {
  readonly clientContext?: string;
}

/** `POST /calls/{id}/participants/muteAll`. */
export interface MuteAllBody extends ClientContextBody {
  readonly participants?: readonly string[];
}

/** `POST /calls/{id}/audioRoutingGroups`. */
export interface AudioRoutingGroupBody extends GraphObject {
  readonly id?: string;
  readonly routingMode: 'oneToOne' | 'multicast';
  readonly sources: readonly string[];
  readonly receivers: readonly string[];
}

/** `POST /calls/{id}/addLargeGalleryView`. */
export type AddLargeGalleryViewBody = ClientContextBody;

/** `POST /calls/{id}/playPrompt`. */
export interface PlayPromptBody extends ClientContextBody {
  readonly prompts: readonly MediaPrompt[];
}

/** `POST /calls/{id}/recordResponse`. */
export interface RecordResponseBody extends ClientContextBody {
  readonly prompts?: readonly MediaPrompt[];
  readonly bargeInAllowed?: boolean;
  readonly initialSilenceTimeoutInSeconds?: number;
  readonly maxSilenceTimeoutInSeconds?: number;
  readonly maxRecordDurationInSeconds?: number;
  readonly playBeep?: boolean;
  readonly stopTones?: readonly string[];
}

/** `POST /calls/{id}/subscribeToTone`. */
export type SubscribeToToneBody = ClientContextBody;

/** `POST /calls/{id}/sendDtmfTones`. */
export interface SendDtmfTonesBody extends ClientContextBody {
  readonly tones: readonly string[];
  readonly delayBetweenTonesMs?: number;
}

/** `POST /calls/{id}/changeScreenSharingRole`. */
export interface ChangeScreenSharingRoleBody extends GraphObject {
  readonly role: 'viewer' | 'sharer';
}

/** `POST /calls/{id}/updateRecordingStatus`. */
export interface UpdateRecordingStatusBody extends ClientContextBody {
  readonly status: 'notRecording' | 'recording' | 'failed';
}

/** `POST /calls/logTeleconferenceDeviceQuality`. */
export interface TeleconferenceDeviceQualityBody extends GraphObject {
  readonly quality: GraphObject;
}

/** `POST /calls/{id}/participants/{pid}/startHoldMusic`. */
export interface StartHoldMusicBody extends ClientContextBody {
  readonly customPrompt?: MediaPrompt;
}
