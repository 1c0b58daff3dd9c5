/**
 * The shapes of a create-call request the builders make and check. Every object may carry its
 * `@odata.type`; unknown extra fields are allowed through {@link GraphObject}. The other
 * commands' bodies are core's (below).
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

/**
 * The command bodies are core's (`@switchboard/core`'s command table, typed from
 * `@microsoft/microsoft-graph-types`), under the names this package has always exported.
 */
export type {
  MediaPromptBody as MediaPrompt,
  AnswerBody,
  RejectBody,
  RedirectBody,
  TransferBody,
  InviteBody,
  ClientContext as ClientContextBody,
  MuteAllBody,
  AudioRoutingGroupBody,
  AddLargeGalleryViewBody,
  PlayPromptBody,
  RecordResponseBody,
  ClientContext as SubscribeToToneBody,
  SendDtmfTonesBody,
  ChangeScreenSharingRoleBody,
  UpdateRecordingStatusBody,
  TeleconferenceDeviceQualityBody,
  StartHoldMusicBody,
} from '@switchboard/core';
