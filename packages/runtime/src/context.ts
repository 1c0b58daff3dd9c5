import { SwitchboardError, type Engine, type Logger } from '@switchboard/core';

/** Starts a timer; returns its cancel. */
export type SetTimer = (ms: number, fn: () => void) => () => void;

/** The default timer: `setTimeout`, unref'd so that a pending timer never keeps the process up. */
export const unrefTimer: SetTimer = (ms, fn) => {
  const t = setTimeout(fn, ms);
  t.unref();
  return () => clearTimeout(t);
};

/** What the switchboard's parts share: the engine, time, ids, the logger, and how to report. */
export interface RuntimeContext {
  readonly engine: Engine;
  readonly clock: () => number;
  readonly newId: () => string;
  readonly log: Logger;
  readonly setTimer: SetTimer;
  /** Whether `stop()` has run: nothing new starts after it. */
  stopped(): boolean;
  /** Reports background work that failed (logged, and emitted as `error` when someone listens). */
  fail(error: unknown, callId: string): void;
}

export function stoppedError(command: string): SwitchboardError {
  return new SwitchboardError('SWB_STOPPED', `${command} refused: this switchboard was stopped (nothing was sent to Graph)`);
}
