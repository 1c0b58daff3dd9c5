import type { CallState, StoredEntry } from '../log/entries.js';
import type { JsonObject } from '../util/graph.js';

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
