import { COMMAND_NAMES, COMMANDS, isCommandName, type CommandName } from '@switchboard/core';

/** How one command reaches Graph: method, the path after the calls collection, and its retry class. */
export interface CommandRoute {
  readonly method: 'GET' | 'POST' | 'DELETE';
  /**
   * The path after `/calls`: `''` for the collection, `'/{callId}'`, `'/{callId}/playPrompt'`,
   * `'/{callId}/participants/{participantId}/mute'`...
   */
  readonly template: string;
  /** True when sending it twice does no harm, so it may be retried after an ambiguous failure. */
  readonly idempotent: boolean;
  /** False for routes that send no body. */
  readonly hasBody: boolean;
}

/**
 * Every command's route, derived from core's command table (`COMMANDS`). `record` goes to
 * `recordResponse` (the v1.0 name; `record` is its beta alias).
 * `logTeleconferenceDeviceQuality` is a collection action (`POST /calls/logTeleconferenceDeviceQuality`)
 * and takes no call id.
 */
export const COMMAND_ROUTES: { readonly [C in CommandName]: CommandRoute } = Object.freeze(
  Object.fromEntries(
    COMMAND_NAMES.map((name) => {
      const spec = COMMANDS[name];
      return [
        name,
        Object.freeze({ method: spec.method, template: spec.path, idempotent: spec.idempotent, hasBody: spec.body !== 'none' }),
      ];
    }),
  ) as { [C in CommandName]: CommandRoute },
);

/** The commands that may be retried after an ambiguous failure (get, delete, keepAlive, list*). */
export const IDEMPOTENT_COMMANDS: ReadonlySet<CommandName> = new Set(COMMAND_NAMES.filter((c) => COMMANDS[c].idempotent));

/** True if `name` is a command this client knows. */
export { isCommandName };
