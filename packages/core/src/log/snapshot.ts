/**
 * A snapshot is a cache of a fold: the persisted machine state and projection at a log
 * position. It is only trusted when `machineVersion` matches the running machine; on any
 * mismatch the call is rebuilt from its log.
 */
export interface CallSnapshot {
  /** The machine version that produced it (`MACHINE_VERSION`). */
  readonly machineVersion: string;
  /** The stream position folded up to (inclusive). */
  readonly position: number;
  /** The machine's state value, one of the call states or `pending`. */
  readonly value: string;
  /** The call context (the projection and its bookkeeping), JSON-serialisable. */
  readonly context: unknown;
}
