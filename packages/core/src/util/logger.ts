/**
 * The one logger every package takes: pino-compatible (a pino or bunyan logger fits, and so
 * does `console` wrapped to take an object first). Nothing Switchboard logs contains a
 * token or a secret.
 */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** A logger that drops everything: the default wherever a logger is optional. */
export const silentLogger: Logger = Object.freeze({ debug() {}, info() {}, warn() {}, error() {} });
