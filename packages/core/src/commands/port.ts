/**
 * The port through which the runtime sends call commands to Graph. `@switchboard/transport`'s
 * `GraphClient` implements it; a test can too, with a function.
 */
import type { CommandName } from './table.js';

/** What Graph answered to a command. */
export interface GraphResponse<T = unknown> {
  readonly status: number;
  /** Parsed JSON; `null` when Graph sent no body (202/204). */
  readonly body: T;
  readonly requestId?: string | undefined;
  readonly clientRequestId?: string | undefined;
}

/** What a command is sent with. */
export interface SendParams {
  /** The call, as Graph spells its id. Every command but `create` needs it. */
  readonly callId?: string;
  /** For the participant-scoped commands (mute, delete, hold music). */
  readonly participantId?: string;
  readonly body?: unknown;
  /** Sent as `client-request-id` (a Graph client makes a uuid up without it); the runtime passes the command's id. */
  readonly clientRequestId?: string;
  readonly signal?: AbortSignal;
}

/**
 * Send a call command, get Graph's answer. Errors carry a stable `code`: `SWB_GRAPH_AMBIGUOUS`
 * means Graph may or may not have acted (the runtime then resyncs instead of sending again)
 * and `SWB_GRAPH_NOT_FOUND` means the call is gone.
 */
export interface GraphPort {
  send(command: CommandName, params: SendParams): Promise<GraphResponse>;
}
