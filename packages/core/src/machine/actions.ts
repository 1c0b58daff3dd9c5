import { CALL_STATES, type CallState, type CommandResultEntry, type StoredEntry } from '../log/entries.js';
import { parseResourcePath } from '../decode/paths.js';
import { canonicalId } from '../util/ids.js';
import {
  applyAudioRoutingGroups,
  applyContentSharing,
  applyDeltaRoster,
  applyOperation,
  applyRoster,
  applyTimer,
  applyTone,
  isTransferFailure,
  mergeCallProps,
  recordStale,
  removeParticipant,
  requestResync,
  upsertParticipant,
} from '../reconcile/apply.js';
import type { CallContext, MachineState, RosterMode, StaleReason } from '../reconcile/context.js';
import { ContextEdit } from '../reconcile/draft.js';
import { isRepeatId, noteBody } from '../reconcile/repeats.js';
import { isDeltaRoster, isObject, participantKey, type JsonObject } from '../util/graph.js';
import type { CallMachineEvent } from './events.js';
import { transferOpen } from './guards.js';
import { STATE_RANK, TRANSFER_STATES } from './table.js';

/**
 * The machine's actions: what each transition does to the call context. Each is a pure
 * function `(context, event, params) => context` (the previous context when nothing changed);
 * the XState machine runs them as `assign` actions (`./definition.ts`) and the fold calls
 * them directly (`./transitions.ts`), so each rule is written once.
 */

type Ctx = CallContext;
/** The state a transition leaves: several rules read it. */
type FromState = { readonly from: MachineState };

// Resource data for a deletion that carries none.
const NO_DATA: JsonObject = Object.freeze({});

/** By state: the events that move a call to another state of the same rank (established <-> hold). */
const SAME_RANK_MOVES: ReadonlyMap<MachineState, ReadonlySet<string>> = new Map(
  CALL_STATES.map((from) => [
    from,
    new Set(CALL_STATES.filter((to) => to !== from && STATE_RANK[to] === STATE_RANK[from]).map((to) => `callState.${to}`)),
  ]),
);

/**
 * One entry's edit of the context: copy-on-write, the result deep-frozen (see `ContextEdit`).
 * A notification's body becomes the last of its resource; a repeat (a body the log held
 * already, after a different one: see `repeatOf`) asks for a resync, unless the call has ended.
 * Until the context has Graph's spelling of the call id, the entry's (if it carries one) is kept.
 */
function edit(context: Ctx, entry: CallMachineEvent['entry'], ended: boolean, recipe: (draft: ContextEdit<Ctx>) => void): Ctx {
  const draft = new ContextEdit(context);
  draft.setRoot('position', entry.position);
  if (context.graphId === null) {
    const spelling = graphSpellingOf(entry, context.id);
    if (spelling !== undefined) draft.setRoot('graphId', spelling);
  }
  recipe(draft);
  if (entry.kind === 'notification') {
    noteBody(draft, entry);
    if (!ended && isRepeatId(entry.id)) {
      requestResync(
        draft,
        entry,
        `the ${entry.target.type} notification repeats an earlier body after a different one: a redelivery, or a new change`,
      );
    }
  }
  return draft.finish();
}

/**
 * The call id as Graph spelled it in an entry, when the entry carries one that names this
 * call: a notification's resource path, the 201 of a create, a resync's GET.
 */
function graphSpellingOf(entry: StoredEntry, callId: string): string | undefined {
  let spelling: unknown;
  if (entry.kind === 'notification') spelling = parseResourcePath(entry.resourceUrl)?.callId;
  else if (entry.kind === 'commandResult' && entry.command === 'create' && isObject(entry.body)) spelling = entry.body['id'];
  else if (entry.kind === 'resync' && isObject(entry.call)) spelling = entry.call['id'];
  return typeof spelling === 'string' && canonicalId(spelling) === callId ? spelling : undefined;
}

function rejectReason(from: MachineState, to: CallState | undefined, ctx: Ctx): { reason: StaleReason; resync: boolean } {
  if (to === undefined) return { reason: 'unknown-state', resync: false };
  if (from === 'terminated') return { reason: 'after-terminated', resync: false };
  if (from !== 'pending' && TRANSFER_STATES.has(to) && !transferOpen(ctx)) {
    // No transfer command since the failure: a late notification of the failed attempt,
    // or a new attempt the log cannot see. Only Graph can tell.
    return { reason: 'transfer-already-failed', resync: ctx.transfer.commandAt === undefined };
  }
  if (from !== 'pending' && STATE_RANK[to] < STATE_RANK[from]) return { reason: 'lower-rank', resync: false };
  return { reason: 'impossible-transition', resync: true };
}

/** `rejectCall`: a call resource that may not move the call from `from` is recorded as stale; its data only fills gaps. */
function rejectCall(context: Ctx, event: CallMachineEvent, { from }: FromState): Ctx {
  if (!('data' in event) || event.data === null || event.type === 'resync') return context;
  const { entry, data } = event;
  const to = event.type === 'callState.unknown' ? undefined : (event.type.slice('callState.'.length) as CallState);
  const { reason, resync } = rejectReason(from, to, context);
  return edit(context, entry, from === 'terminated', (d) => {
    if (entry.kind === 'commandResult') recordCommandResult(d, entry);
    const raw = typeof data['state'] === 'string' ? data['state'] : String(to);
    recordStale(d, entry, reason, `${from} -> ${raw}`);
    if (resync) requestResync(d, entry, `${reason}: ${from} -> ${raw}`);
    mergeCallProps(d, data, 'fill');
    applyTone(d, data, entry);
  });
}

/** `applyResync`: an authoritative GET of the call (and roster) replaces what the log inferred. */
function applyResync(context: Ctx, event: CallMachineEvent, { from }: FromState): Ctx {
  if (event.type !== 'resync') return context;
  return edit(context, event.entry, from === 'terminated', (d) => {
    d.setRoot('resyncNeeded', null);
    if (from === 'terminated') return;
    if (event.data) mergeCallProps(d, event.data, 'overwrite');
    if (event.participants) {
      d.setRoot('latestRoster', null); // an authoritative GET carries no roster sequence
      const listed = new Set<string>();
      for (const p of event.participants) {
        const id = participantKey(p);
        if (id === undefined) continue;
        listed.add(id);
        d.delete('removedParticipants', id); // authoritative: present now
        upsertParticipant(d, event.entry, id, p);
      }
      for (const id of Object.keys(d.next.participants)) {
        if (!listed.has(id)) removeParticipant(d, event.entry, id, undefined);
      }
    }
  });
}

/**
 * `applyCall`: a call resource applied (the call moved from `from` to, or stayed in, the state
 * it names). A move between states of one rank (established <-> hold) asks for a resync:
 * Graph's notifications do not order them, and a reordered delivery looks the same.
 */
function applyCall(context: Ctx, event: CallMachineEvent, { from }: FromState): Ctx {
  if (
    !('data' in event) ||
    event.data === null ||
    event.type === 'resync' ||
    event.type === 'call.data' ||
    event.type === 'callState.unknown'
  )
    return context;
  const { entry, data } = event;
  const sameRank = SAME_RANK_MOVES.get(from)?.has(event.type) === true;
  return edit(context, entry, from === 'terminated', (d) => {
    if (entry.kind === 'commandResult') recordCommandResult(d, entry);
    if (sameRank)
      requestResync(d, entry, `${from} -> ${event.type.slice('callState.'.length)}: Graph's notifications do not order these two states`);
    mergeCallProps(d, data, 'overwrite');
    applyTone(d, data, entry);
    if (event.type === 'callState.established' && isTransferFailure(data)) d.set('transfer', 'failedAt', entry.position);
  });
}

/** `applyCallData`: a call resource that names no state. */
function applyCallData(context: Ctx, event: CallMachineEvent, { mode }: { readonly mode: 'overwrite' | 'fill' }): Ctx {
  if (event.type !== 'call.data') return context;
  return edit(context, event.entry, mode === 'fill', (d) => {
    if (event.entry.kind === 'commandResult') recordCommandResult(d, event.entry);
    mergeCallProps(d, event.data, mode);
    applyTone(d, event.data, event.entry);
  });
}

/**
 * The `entry` transition's whole effect (an entry that is not the call resource: most of the
 * traffic): a targetless assignment, the same in every state.
 */
function applyEntry(context: Ctx, event: CallMachineEvent, { from }: FromState): Ctx {
  if (event.type !== 'entry') return context;
  const entry = event.entry;
  return edit(context, entry, from === 'terminated', (d) => applyOther(d, entry, context.rosterMode));
}

/** Everything that is not the call resource itself: roster, operations, sessions, commands, timers. */
function applyOther(d: ContextEdit<Ctx>, entry: CallMachineEvent['entry'], rosterMode: RosterMode): void {
  switch (entry.kind) {
    case 'notification': {
      const data = entry.resourceData;
      const target = entry.target;
      switch (target.type) {
        case 'participants': {
          const items = (Array.isArray(data) ? data : [data]).filter(isObject);
          if (isDeltaRoster(items)) applyDeltaRoster(d, entry, items, entry.changeType);
          else applyRoster(d, entry, items, entry.changeType, rosterMode);
          return;
        }
        case 'participant': {
          if (entry.changeType === 'deleted') {
            removeParticipant(d, entry, target.participantId, isObject(data) ? numberOr(data['rosterSequenceNumber']) : undefined);
          } else if (isObject(data)) {
            upsertParticipant(d, entry, target.participantId, data);
          }
          return;
        }
        case 'operation': {
          if (target.operationId === undefined) return;
          // A deleted operation is a finished one; Graph says how in `status`, or does not.
          if (isObject(data)) applyOperation(d, entry, target.operationId, data, entry.changeType);
          else if (entry.changeType === 'deleted') applyOperation(d, entry, target.operationId, NO_DATA, 'deleted');
          return;
        }
        case 'contentSharingSessions': {
          // no resource data (the call: answer page's sessions): the path names the session
          const items = data === undefined || data === null ? [{}] : (Array.isArray(data) ? data : [data]).filter(isObject);
          applyContentSharing(d, entry, items, entry.changeType, target.sessionId);
          return;
        }
        case 'audioRoutingGroups': {
          const items = (Array.isArray(data) ? data : [data]).filter(isObject);
          applyAudioRoutingGroups(d, items, entry.changeType, target.groupId);
          return;
        }
        case 'unknown':
          d.push('unknown', { position: entry.position, entryId: entry.id, reason: target.reason });
          return;
        case 'call':
          return; // handled by the state events
      }
      return;
    }
    case 'command':
      d.set('commands', entry.id, { id: entry.id, command: entry.command, position: entry.position });
      if (entry.command === 'transfer') d.set('transfer', 'commandAt', entry.position);
      return;
    case 'commandResult': {
      recordCommandResult(d, entry);
      if (entry.outcome === 'ambiguous') requestResync(d, entry, `${entry.command} may or may not have been carried out`);
      const body = entry.body;
      if (entry.outcome === 'succeeded' && isObject(body) && entry.command !== 'create' && typeof body['id'] === 'string') {
        if (isOperationBody(body)) applyOperation(d, entry, body['id'], body);
      }
      return;
    }
    case 'timer':
      applyTimer(d, entry);
      return;
    case 'resync':
      return; // handled by the resync event
  }
}

/** The command a result answers: its outcome and status, beside the position it was sent at. */
function recordCommandResult(d: ContextEdit<Ctx>, entry: CommandResultEntry & { readonly position: number }): void {
  const known = d.next.commands[entry.commandId];
  d.set('commands', entry.commandId, {
    id: entry.commandId,
    command: entry.command,
    position: known?.position ?? entry.position,
    outcome: entry.outcome,
    ...(entry.status !== undefined ? { status: entry.status } : {}),
  });
}

function isOperationBody(body: JsonObject): boolean {
  const type = body['@odata.type'];
  return (typeof type === 'string' && /operation$/i.test(type)) || typeof body['status'] === 'string';
}

function numberOr(value: unknown): number | undefined {
  return typeof value === 'number' ? value : undefined;
}

/** Every action of the machine, by the name its transitions use. */
export const ACTIONS = {
  applyCall,
  rejectCall,
  applyCallData,
  applyResync,
  applyEntry,
} as const satisfies { readonly [name: string]: (context: Ctx, event: CallMachineEvent, params: never) => Ctx };

export type ActionName = keyof typeof ACTIONS;
/** The params an action takes. */
export type ActionParams<A extends ActionName> = Parameters<(typeof ACTIONS)[A]>[2];
