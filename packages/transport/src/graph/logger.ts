/** A pino-compatible logger. The Graph client never logs tokens, secrets or request bodies. */
export interface GraphLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** A logger that drops everything. */
export const silentGraphLogger: GraphLogger = { debug() {}, info() {}, warn() {}, error() {} };
