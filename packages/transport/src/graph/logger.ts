import { silentLogger, type Logger } from '@switchboard/core';

/**
 * The Graph client's logger: core's `Logger` (pino-compatible). The Graph client never logs
 * tokens, secrets or request bodies.
 * @deprecated Use `Logger` from `@switchboard/core`.
 */
export type GraphLogger = Logger;

/**
 * A logger that drops everything.
 * @deprecated Use `silentLogger` from `@switchboard/core`.
 */
export const silentGraphLogger: Logger = silentLogger;
