import type { CommandName } from '@switchboard/core';
import type { CallRequestBody, CreateCallSpec } from '@switchboard/transport';

/** What Graph answered to a command. */
export interface GraphResponse {
  readonly status: number;
  readonly body: unknown;
  readonly requestId?: string | undefined;
  readonly clientRequestId?: string | undefined;
}

export interface SendParams {
  readonly callId?: string;
  readonly participantId?: string;
  readonly body?: unknown;
  readonly clientRequestId?: string;
  readonly signal?: AbortSignal;
}

/**
 * The part of a Graph client the runtime needs: send a call command, get Graph's answer.
 * `@switchboard/transport`'s `GraphClient` fits it. Errors carry a stable `code`; a
 * `SWB_GRAPH_AMBIGUOUS` error means Graph may or may not have acted (the runtime then resyncs
 * instead of sending again) and `SWB_GRAPH_NOT_FOUND` means the call is gone.
 */
export interface GraphPort {
  send(command: CommandName, params: SendParams): Promise<GraphResponse>;
  /**
   * Builds (and validates) the body of `POST /communications/calls` from a scenario. Needed
   * only to pass a `CreateCallSpec` to `switchboard.createCall`; `GraphClient` has it.
   */
  buildCreateCall?(spec: CreateCallSpec): CallRequestBody;
}

/** A pino-compatible logger. Nothing the runtime logs contains a token or a secret. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
