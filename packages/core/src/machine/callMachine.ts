import { CALL_STATES, type CallState, type CommandName, type CommandResultEntry, type StoredEntry } from '../log/entries.js';
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
  type RosterMode,
} from '../reconcile/apply.js';
import type { CallContext, MachineState, StaleReason } from '../reconcile/context.js';
import { ContextEdit } from '../reconcile/draft.js';
import { isRepeatId, noteBody } from '../reconcile/repeats.js';
import { isDeltaRoster, isObject, participantKey, type JsonObject } from '../util/graph.js';
import type { CallMachineEvent } from './events.js';
import { REACHABLE, STATE_RANK, isProofRequired, normalizeCallState } from './table.js';

/** Bumped whenever the fold's meaning changes: snapshots of another version are rebuilt from the log. */
export const MACHINE_VERSION = 'switchboard-call/4';

export interface CallMachineInput {
  readonly callId: string;
  /** How roster notifications are read; Graph's default is the full roster. */
  readonly rosterMode?: RosterMode;
}

/** The machine's context: the call's (see `CallContext`) and how it reads rosters. */
export type CallMachineContext = CallContext & { readonly rosterMode: RosterMode };
type Ctx = CallMachineContext;

/** The states a transfer passes through. */
export const TRANSFER_STATES: ReadonlySet<CallState> = new Set<CallState>(['transferring', 'transferAccepted']);

/** By state: the events that move a call to another state of the same rank (established <-> hold). */
const SAME_RANK_MOVES: ReadonlyMap<MachineState, ReadonlySet<string>> = new Map(
  CALL_STATES.map((from) => [
    from,
    new Set(CALL_STATES.filter((to) => to !== from && STATE_RANK[to] === STATE_RANK[from]).map((to) => `callState.${to}`)),
  ]),
);

// Resource data for a deletion that carries none.
const NO_DATA: JsonObject = Object.freeze({});

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

/** Whether a transfer may start: none failed, or a transfer command was sent since. */
export function transferOpen(ctx: CallContext): boolean {
  const { failedAt, commandAt } = ctx.transfer;
  return failedAt === undefined || (commandAt !== undefined && commandAt > failedAt);
}

/** `rejectCall`: a call resource that may not move the call from `from` is recorded as stale; its data only fills gaps. */
export function rejectCallInContext(context: Ctx, event: CallMachineEvent, from: MachineState): Ctx {
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
export function applyResyncToContext(context: Ctx, event: CallMachineEvent, from: MachineState): Ctx {
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
 * Where the machine goes on a `callState.<to>` event from `from`, as its transitions say:
 * the target state, or undefined when the event is rejected (`rejectCall`). Guards are the
 * machine's own (`transferProof`, `transferOpen`). `foldEntries` uses this instead of a
 * machine step; a test holds the two equal for every state and event.
 */
export function callStateTarget(from: MachineState, to: CallState, data: JsonObject, context: CallContext): CallState | undefined {
  if (from === 'pending' || to === from) return to;
  if (isProofRequired(from, to)) return isTransferFailure(data) ? to : undefined;
  if (REACHABLE[from].has(to)) return !TRANSFER_STATES.has(to) || transferOpen(context) ? to : undefined;
  return undefined;
}

/**
 * `applyCall`: a call resource applied (the call moved from `from` to, or stayed in, the state
 * it names). A move between states of one rank (established <-> hold) asks for a resync:
 * Graph's notifications do not order them, and a reordered delivery looks the same.
 */
export function applyCallToContext(context: Ctx, event: CallMachineEvent, from: MachineState): Ctx {
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
export function applyCallDataToContext(
  context: Ctx,
  event: Extract<CallMachineEvent, { type: 'call.data' }>,
  mode: 'overwrite' | 'fill',
): Ctx {
  return edit(context, event.entry, mode === 'fill', (d) => {
    if (event.entry.kind === 'commandResult') recordCommandResult(d, event.entry);
    mergeCallProps(d, event.data, mode);
    applyTone(d, event.data, event.entry);
  });
}

/**
 * The `entry` transition's whole effect: a targetless assignment, the same in every state.
 * `foldEntries` applies it directly instead of stepping the machine (a property test holds the
 * two equal), because it is most of the traffic and a machine step costs more than the update
 * itself.
 */
export function applyEntryToContext(context: Ctx, entry: CallMachineEvent['entry'], from: MachineState): Ctx {
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

/** Commands on the call resource itself: Graph answering one 404 says the call is gone. */
const ON_THE_CALL = new Set<CommandName>(['get', 'delete', 'keepAlive']);

/** Maps one stored entry to the machine event it becomes. */
export function toMachineEvent(entry: CallMachineEvent['entry']): CallMachineEvent {
  switch (entry.kind) {
    case 'notification': {
      if (entry.target.type !== 'call') return { type: 'entry', entry };
      const data = entry.resourceData;
      // The call resource deleted: the call is gone, whatever the body says or lacks
      // (Graph's call: reject page ends a call with only @odata.type and @odata.id).
      if (entry.changeType === 'deleted') return { type: 'callState.terminated', entry, data: isObject(data) ? data : NO_DATA };
      return isObject(data) ? callEvent(entry, data) : { type: 'entry', entry };
    }
    case 'commandResult':
      // A 201 to create carries the new call: it moves the machine like a notification.
      if (entry.command === 'create' && entry.outcome === 'succeeded' && isObject(entry.body)) {
        return callEvent(entry, entry.body);
      }
      // A 404 from the call itself (a keep-alive, a GET, a hang-up): Graph no longer knows it.
      if (entry.status === 404 && entry.outcome !== 'succeeded' && ON_THE_CALL.has(entry.command)) {
        return { type: 'callState.terminated', entry, data: NO_DATA };
      }
      return { type: 'entry', entry };
    case 'resync': {
      const call = isObject(entry.call) ? entry.call : null;
      const participants = entry.participants?.filter(isObject);
      const to = call === null ? 'terminated' : normalizeCallState(call['state']);
      return { type: 'resync', entry, to, data: call, participants };
    }
    default:
      return { type: 'entry', entry };
  }
}

function callEvent(entry: CallMachineEvent['entry'], data: JsonObject): CallMachineEvent {
  const raw = data['state'];
  if (raw === undefined || raw === null) return { type: 'call.data', entry, data };
  const state = normalizeCallState(raw);
  if (state === undefined) return { type: 'callState.unknown', entry, data, raw: String(raw) };
  return { type: `callState.${state}`, entry, data };
}
