import type {
  AddLargeGalleryViewOperation,
  AudioRoutingGroup,
  Call,
  CancelMediaProcessingOperation,
  CommsOperation,
  InvitationParticipantInfo,
  InviteParticipantsOperation,
  MediaInfo,
  Modality,
  MuteParticipantOperation,
  Participant,
  ParticipantInfo,
  PlayPromptOperation,
  RecordOperation,
  RecordingStatus,
  RejectReason,
  RoutingMode,
  ScreenSharingRole,
  SendDtmfTonesOperation,
  StartHoldMusicOperation,
  StopHoldMusicOperation,
  SubscribeToToneOperation,
  TeleconferenceDeviceQuality,
  Tone,
  UnmuteParticipantOperation,
  UpdateRecordingStatusOperation,
  CommunicationsIdentitySet,
  CallOptions,
  MeetingInfo,
  ChatInfo,
} from '@microsoft/microsoft-graph-types';

/**
 * The request bodies and the answers of the call resource's commands, from
 * `@microsoft/microsoft-graph-types`. graph-types has the resources and complex types but not
 * the actions' parameter lists: those are written here from Graph's pages, with graph-types'
 * shapes for every parameter, and the parameters Graph requires made required. Arrays are
 * readonly (a bot may pass a constant); `@odata.type` may be given on every object.
 */

type OData = { readonly '@odata.type'?: string };

/** Each object-valued property may carry its `@odata.type` too (`#microsoft.graph.identity`). */
type WithODataProperties<T> = { readonly [K in keyof T]: NonNullable<T[K]> extends object ? (NonNullable<T[K]> & OData) | null : T[K] };

/** An identity set as calls carry it (`communicationsIdentitySet`: `phone`, `guest`, `applicationInstance`...). */
export type CommandIdentitySet = WithODataProperties<CommunicationsIdentitySet> & OData;

/** `microsoft.graph.mediaInfo` with its `uri`, which a prompt needs. */
export type PromptMediaInfo = Omit<MediaInfo, 'uri'> & OData & { readonly uri: string };

/** `microsoft.graph.mediaPrompt`: the only prompt Graph plays. */
export interface MediaPromptBody {
  readonly '@odata.type'?: string;
  readonly mediaInfo: PromptMediaInfo;
}

/** `serviceHostedMediaConfig` (Graph plays prompts, records) or `appHostedMediaConfig` (the bot's media platform). */
export type CommandMediaConfig =
  | {
      readonly '@odata.type': '#microsoft.graph.serviceHostedMediaConfig';
      readonly preFetchMedia?: readonly PromptMediaInfo[] | null;
      readonly removeFromDefaultAudioGroup?: boolean | null;
    }
  | {
      readonly '@odata.type': '#microsoft.graph.appHostedMediaConfig';
      readonly blob: string;
      readonly removeFromDefaultAudioGroup?: boolean | null;
    };

/** `microsoft.graph.invitationParticipantInfo`: whom to invite, redirect or transfer to. */
export type InvitationTarget = Omit<InvitationParticipantInfo, 'identity'> & OData & { readonly identity: CommandIdentitySet };

/** `microsoft.graph.participantInfo` (a transferee). */
export type ParticipantInfoBody = Omit<ParticipantInfo, 'identity'> & OData & { readonly identity: CommandIdentitySet };

/** Every body may carry Graph's `clientContext` (at most 256 characters), echoed in the operation. */
export interface ClientContext {
  readonly clientContext?: string;
}

/** `POST /communications/calls`: a `microsoft.graph.call` (the transport's builders make one from a scenario). */
export type CreateCallBody = Omit<
  Call,
  'callbackUri' | 'requestedModalities' | 'mediaConfig' | 'source' | 'targets' | 'meetingInfo' | 'chatInfo' | 'callOptions'
> &
  OData & {
    readonly callbackUri: string;
    readonly requestedModalities: readonly Modality[];
    readonly mediaConfig: CommandMediaConfig;
    readonly source?: ParticipantInfoBody | null;
    readonly targets?: readonly InvitationTarget[] | null;
    readonly meetingInfo?: (MeetingInfo & OData & { readonly [property: string]: unknown }) | null;
    readonly chatInfo?: (ChatInfo & OData) | null;
    readonly callOptions?: (CallOptions & OData) | null;
  };

/** `POST /calls/{id}/answer`. Graph requires `acceptedModalities`. */
export interface AnswerBody {
  readonly callbackUri: string;
  readonly mediaConfig: CommandMediaConfig;
  readonly acceptedModalities: readonly Modality[];
  readonly participantCapacity?: number;
  readonly callOptions?: CallOptions & OData;
}

/** `POST /calls/{id}/reject`. */
export interface RejectBody {
  readonly reason?: RejectReason;
  readonly callbackUri?: string;
}

/** `POST /calls/{id}/redirect`. */
export interface RedirectBody {
  readonly targets: readonly InvitationTarget[];
  readonly timeout?: number;
  readonly callbackUri?: string;
}

/** `POST /calls/{id}/transfer`. */
export interface TransferBody {
  readonly transferTarget: InvitationTarget;
  readonly transferee?: ParticipantInfoBody;
}

/** `POST /calls/{id}/participants/invite`. */
export interface InviteBody extends ClientContext {
  readonly participants: readonly InvitationTarget[];
}

/** `POST /calls/{id}/participants/muteAll`. */
export interface MuteAllBody extends ClientContext {
  readonly participants?: readonly string[];
}

/** `POST /calls/{id}/audioRoutingGroups`: a `microsoft.graph.audioRoutingGroup`. */
export interface AudioRoutingGroupBody {
  readonly id?: string;
  readonly routingMode: RoutingMode;
  readonly sources: readonly string[];
  readonly receivers: readonly string[];
}

/** `POST /calls/{id}/addLargeGalleryView`. */
export type AddLargeGalleryViewBody = ClientContext;

/** `POST /calls/{id}/playPrompt`: up to 20 prompts. */
export interface PlayPromptBody extends ClientContext {
  readonly prompts: readonly MediaPromptBody[];
  /** beta: play until cancelled. */
  readonly loop?: boolean;
}

/** `POST /calls/{id}/recordResponse`. */
export interface RecordResponseBody extends ClientContext {
  readonly prompts?: readonly MediaPromptBody[];
  readonly bargeInAllowed?: boolean;
  readonly initialSilenceTimeoutInSeconds?: number;
  readonly maxSilenceTimeoutInSeconds?: number;
  readonly maxRecordDurationInSeconds?: number;
  readonly playBeep?: boolean;
  readonly stopTones?: readonly string[];
}

/** `POST /calls/{id}/sendDtmfTones`. */
export interface SendDtmfTonesBody extends ClientContext {
  readonly tones: readonly Tone[];
  readonly delayBetweenTonesMs?: number;
}

/** `POST /calls/{id}/changeScreenSharingRole`. */
export interface ChangeScreenSharingRoleBody {
  readonly role: ScreenSharingRole;
}

/** `POST /calls/{id}/updateRecordingStatus`. */
export interface UpdateRecordingStatusBody extends ClientContext {
  readonly status: Exclude<RecordingStatus, 'unknown' | 'unknownFutureValue'>;
}

/** `POST /calls/logTeleconferenceDeviceQuality`. */
export interface TeleconferenceDeviceQualityBody {
  readonly quality: TeleconferenceDeviceQuality & OData;
}

/** `POST /calls/{id}/participants/{participantId}/startHoldMusic`. */
export interface StartHoldMusicBody extends ClientContext {
  readonly customPrompt?: MediaPromptBody;
}

/** A Graph collection page. */
export interface GraphCollection<T> {
  readonly '@odata.context'?: string;
  readonly '@odata.nextLink'?: string;
  readonly value: readonly T[];
}

/** An operation as the command's answer and its notifications carry it (`status` arrives camelCase on the wire). */
type Operation<T extends CommsOperation> = Omit<T, 'status'> & OData & { readonly id: string; readonly status?: string };

/** beta: `startRecordingOperation` / `stopRecordingOperation` / `startTranscriptionOperation` / `stopTranscriptionOperation`. */
export type BetaMediaOperation = Operation<CommsOperation>;

/**
 * Each command's request body: `undefined` for commands that send none. Keyed by command
 * name; the command table's `body` column says whether it is required.
 */
export interface CommandBodies {
  readonly create: CreateCallBody;
  readonly get: undefined;
  readonly delete: undefined;
  readonly keepAlive: undefined;
  readonly answer: AnswerBody;
  readonly reject: RejectBody;
  readonly redirect: RedirectBody;
  readonly transfer: TransferBody;
  readonly listParticipants: undefined;
  readonly invite: InviteBody;
  readonly muteAll: MuteAllBody;
  readonly muteParticipant: ClientContext;
  readonly deleteParticipant: undefined;
  readonly createAudioRoutingGroup: AudioRoutingGroupBody;
  readonly listAudioRoutingGroups: undefined;
  readonly addLargeGalleryView: AddLargeGalleryViewBody;
  readonly playPrompt: PlayPromptBody;
  readonly record: RecordResponseBody;
  readonly cancelMediaProcessing: ClientContext;
  readonly subscribeToTone: ClientContext;
  readonly sendDtmfTones: SendDtmfTonesBody;
  readonly mute: ClientContext;
  readonly unmute: ClientContext;
  readonly changeScreenSharingRole: ChangeScreenSharingRoleBody;
  readonly updateRecordingStatus: UpdateRecordingStatusBody;
  readonly startRecording: ClientContext;
  readonly stopRecording: ClientContext;
  readonly startTranscription: ClientContext;
  readonly stopTranscription: ClientContext;
  readonly logTeleconferenceDeviceQuality: TeleconferenceDeviceQualityBody;
  readonly startHoldMusic: StartHoldMusicBody;
  readonly stopHoldMusic: ClientContext;
}

/**
 * What Graph answers each command with: the resource, the collection page, the operation
 * (whose end comes later, as a notification), or `null` for 202/204 without a body.
 */
export interface CommandResponses {
  readonly create: Call & { readonly id: string };
  readonly get: Call & { readonly id: string };
  readonly delete: null;
  readonly keepAlive: null;
  readonly answer: null;
  readonly reject: null;
  readonly redirect: null;
  readonly transfer: null;
  readonly listParticipants: GraphCollection<
    Omit<Participant, 'info'> & { readonly info?: Omit<ParticipantInfo, 'identity'> & { readonly identity?: CommunicationsIdentitySet } }
  >;
  readonly invite: Operation<InviteParticipantsOperation>;
  readonly muteAll: Operation<CommsOperation>;
  readonly muteParticipant: Operation<MuteParticipantOperation>;
  readonly deleteParticipant: null;
  readonly createAudioRoutingGroup: AudioRoutingGroup & { readonly id: string };
  readonly listAudioRoutingGroups: GraphCollection<AudioRoutingGroup>;
  readonly addLargeGalleryView: Operation<AddLargeGalleryViewOperation>;
  readonly playPrompt: Operation<PlayPromptOperation>;
  readonly record: Operation<RecordOperation>;
  readonly cancelMediaProcessing: Operation<CancelMediaProcessingOperation>;
  readonly subscribeToTone: Operation<SubscribeToToneOperation>;
  readonly sendDtmfTones: Operation<SendDtmfTonesOperation>;
  readonly mute: Operation<MuteParticipantOperation>;
  readonly unmute: Operation<UnmuteParticipantOperation>;
  readonly changeScreenSharingRole: null;
  readonly updateRecordingStatus: Operation<UpdateRecordingStatusOperation>;
  readonly startRecording: BetaMediaOperation;
  readonly stopRecording: BetaMediaOperation;
  readonly startTranscription: BetaMediaOperation;
  readonly stopTranscription: BetaMediaOperation;
  readonly logTeleconferenceDeviceQuality: null;
  readonly startHoldMusic: Operation<StartHoldMusicOperation>;
  readonly stopHoldMusic: Operation<StopHoldMusicOperation>;
}
