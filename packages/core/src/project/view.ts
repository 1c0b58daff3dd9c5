import type {
  Call,
  CommunicationsIdentitySet,
  IncomingContext,
  InvitationParticipantInfo,
  Participant,
  ParticipantInfo,
  ResultInfo,
  ToneInfo,
} from '@microsoft/microsoft-graph-types';
import {
  CONTEXT_FIELD_NAMES,
  CONTEXT_FIELDS,
  type CallContext,
  type MachineState,
  type ParticipantView,
  type ViewField,
} from '../reconcile/context.js';
import { hasOwn } from '../util/object.js';

/**
 * A `participantInfo` as calls carry it: its identity is a `communicationsIdentitySet`
 * (https://learn.microsoft.com/graph/api/resources/communicationsidentityset), which adds
 * `phone` (a PSTN party), `applicationInstance`, `guest`, `encrypted`, `onPremises`,
 * `assertedIdentity`, `azureCommunicationServicesUser` and `endpointType` to `user`,
 * `application` and `device`. graph-types types the property as the plain `identitySet`.
 */
export type CallParticipantInfo = Omit<ParticipantInfo, 'identity'> & { readonly identity?: CommunicationsIdentitySet };

/** An `invitationParticipantInfo` (a call's `targets`) with a `communicationsIdentitySet`. */
export type CallInvitationParticipantInfo = Omit<InvitationParticipantInfo, 'identity'> & { readonly identity?: CommunicationsIdentitySet };

/** An `incomingContext` whose `onBehalfOf` and `transferor` are `communicationsIdentitySet`s. */
export type CallIncomingContext = Omit<IncomingContext, 'onBehalfOf' | 'transferor'> & {
  readonly onBehalfOf?: CommunicationsIdentitySet | null;
  readonly transferor?: CommunicationsIdentitySet | null;
};

/** Graph's call properties as they arrive on the wire; graph-types' shapes, narrowed where the wire differs. */
export type GraphCallProperties = Omit<
  Call,
  | 'id'
  | 'state'
  | 'participants'
  | 'operations'
  | 'contentSharingSessions'
  | 'audioRoutingGroups'
  | 'resultInfo'
  | 'toneInfo'
  | 'source'
  | 'targets'
  | 'incomingContext'
> & {
  /** Codes arrive as numbers and sometimes as numeric strings. */
  readonly resultInfo?: (Omit<ResultInfo, 'code' | 'subcode'> & { code?: number | string; subcode?: number | string }) | null;
  readonly toneInfo?: ToneInfo | null;
  /** The caller (incoming) or the bot (outgoing); a PSTN caller is `source.identity.phone`. */
  readonly source?: CallParticipantInfo | null;
  readonly targets?: readonly CallInvitationParticipantInfo[] | null;
  readonly incomingContext?: CallIncomingContext | null;
};

/** A participant as Graph sends it, with the bookkeeping Switchboard adds. */
export type GraphParticipant = ParticipantView & Partial<Omit<Participant, 'id' | 'info'>> & { readonly info?: CallParticipantInfo };

/**
 * The projection of one call: a frozen, Graph-shaped view. The call resource's own
 * properties sit at the top level as Graph names them (unknown extra fields included), beside
 * its relationships and what reconciliation found out: the context fields `CONTEXT_FIELDS`
 * marks for the view, under their own names.
 */
export type CallView = GraphCallProperties &
  Omit<Pick<CallContext, ViewField>, 'participants'> & {
    readonly [property: string]: unknown;
    /** The call's identity key (`canonicalId` of Graph's id): events and lookups use it. */
    readonly id: string;
    /** The call id as Graph first spelled it (what is shown, and sent in commands); `id` until Graph has named it. */
    readonly graphId: string;
    /** The call state, or `pending` before Graph has named one. */
    readonly state: MachineState;
    readonly participants: { readonly [id: string]: GraphParticipant };
    /** The log position this view reflects. */
    readonly version: number;
  };

/** The context fields a view carries under their own names, in context order. */
const FROM_CONTEXT: readonly ViewField[] = CONTEXT_FIELD_NAMES.filter((f): f is ViewField => CONTEXT_FIELDS[f].inView);

/** Builds the view from machine state and context. Pure; the result is frozen. */
export function buildView(state: MachineState, ctx: CallContext): CallView {
  // `{ ...props, id, ... }` without the literal spread (slow on V8 when properties follow it):
  // the same own properties, in the same order. `Object.assign` would run a `__proto__` key
  // of Graph's data as the prototype setter; the spread copies it as a plain property.
  const view = (hasOwn.call(ctx.props, '__proto__') ? { ...ctx.props } : Object.assign({}, ctx.props)) as Record<string, unknown>;
  view['id'] = ctx.id;
  view['graphId'] = ctx.graphId ?? ctx.id;
  view['state'] = state;
  for (let i = 0; i < FROM_CONTEXT.length; i++) {
    const key = FROM_CONTEXT[i]!;
    view[key] = ctx[key];
  }
  view['version'] = ctx.position;
  return Object.freeze(view) as CallView;
}

/**
 * The part of a view that reconciliation promises is independent of delivery order: no
 * positions, no stale list, no bookkeeping (nor Graph's first spelling of the id, which is
 * whichever arrived first). Convergence tests compare these.
 */
export function convergentView(view: CallView): unknown {
  const {
    graphId: _graphId,
    stale: _stale,
    unknown: _unknown,
    commands: _commands,
    timers: _timers,
    version: _version,
    resyncNeeded: _resync,
    removedParticipants,
    tones,
    ...rest
  } = view;
  return {
    ...rest,
    removedParticipants: Object.keys(removedParticipants).sort(),
    tones: tones.map((t) => ({ sequenceId: t.sequenceId, tone: t.tone })),
  };
}

/** The frozen projection of a fold (its state and context). */
export function viewOf(fold: { readonly value: MachineState; readonly context: CallContext }): CallView {
  return buildView(fold.value, fold.context);
}
