import { CALL_STATES, type CallState, type CommandName, type StoredEntry } from '../log/entries.js';
import type { CallContext, RosterMode } from '../reconcile/context.js';
import { isObject, type JsonObject } from '../util/graph.js';
import { normalizeCallState } from './table.js';

/** What a machine (or a fold) for one call starts from. */
export interface CallMachineInput {
  readonly callId: string;
  /** How roster notifications are read; Graph's default is the full roster. */
  readonly rosterMode?: RosterMode;
}

/** The machine's context: the call's (see `CallContext` and `CONTEXT_FIELDS`). */
export type CallMachineContext = CallContext;

/**
 * What the machine consumes: each log entry becomes exactly one of these.
 * `callState.<state>` carries a call resource that names a state (known or not).
 */
export type CallMachineEvent =
  | { readonly type: `callState.${CallState}`; readonly entry: StoredEntry; readonly data: JsonObject }
  | { readonly type: 'callState.unknown'; readonly entry: StoredEntry; readonly data: JsonObject; readonly raw: string }
  | { readonly type: 'call.data'; readonly entry: StoredEntry; readonly data: JsonObject }
  | {
      readonly type: 'resync';
      readonly entry: StoredEntry;
      /** The state Graph reported; `terminated` when the call is gone (404); undefined when unknown. */
      readonly to: CallState | undefined;
      readonly data: JsonObject | null;
      readonly participants: readonly JsonObject[] | undefined;
    }
  | { readonly type: 'entry'; readonly entry: StoredEntry };

/** Every event type the machine handles, `callState.<state>` first. */
export type CallMachineEventType = CallMachineEvent['type'];
export const MACHINE_EVENT_TYPES: readonly CallMachineEventType[] = [
  ...CALL_STATES.map((s) => `callState.${s}` as const),
  'callState.unknown',
  'call.data',
  'resync',
  'entry',
];

// Resource data for a deletion that carries none.
const NO_DATA: JsonObject = Object.freeze({});

// `callState.<state>` by state, built once rather than per entry.
const STATE_EVENT = Object.fromEntries(CALL_STATES.map((s) => [s, `callState.${s}`])) as { readonly [S in CallState]: `callState.${S}` };

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
  return { type: STATE_EVENT[state], entry, data };
}
