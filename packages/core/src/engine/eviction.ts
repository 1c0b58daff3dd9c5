/**
 * What the engine and the stores need to agree on for calls that have ended: which entry ends
 * a call, when it did, and how long an ended call stays live (in memory, and in a store's
 * live index) before it leaves.
 */
import type { LogEntry, StoredEntry } from '../log/entries.js';
import { toMachineEvent } from '../machine/events.js';

/**
 * How long an ended call stays in the engine's memory, and in a store's live index, after the
 * entry that ended it: 5 minutes. Graph's late notifications for a call (a roster update, an
 * operation's end) come within seconds of its end; one that comes later still lands in the
 * log and is reported as stale, the call being read back from its snapshot for it.
 */
export const DEFAULT_EVICTION_GRACE_MS = 5 * 60_000;

/**
 * Does this entry end the call (move it to `terminated`, whatever state it is in)? A
 * `terminated` or `deleted` notification on the call resource, a 201 create whose body says
 * `terminated`, a 404 from the call itself, a resync that found no call or a terminated one.
 * `terminated` is reachable from every state and absorbs, so an entry that ends the call does
 * so wherever it lands in the log: the fold's own rule (`toMachineEvent`), read without
 * folding. Stores call it on append to keep their live index. Pure.
 */
export function endsCall(entry: LogEntry): boolean {
  if (entry.kind !== 'notification' && entry.kind !== 'commandResult' && entry.kind !== 'resync') return false;
  const event = toMachineEvent(entry as StoredEntry);
  return event.type === 'callState.terminated' || (event.type === 'resync' && event.to === 'terminated');
}

/**
 * When a batch ends its call: the `at` of its first entry that does (the earliest, should the
 * batch hold several), or undefined when none does. What a store records as the call's end.
 */
export function endedAtOf(entries: readonly LogEntry[]): number | undefined {
  let ended: number | undefined;
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i]!;
    if ((ended === undefined || entry.at < ended) && endsCall(entry)) ended = entry.at;
  }
  return ended;
}

/**
 * Whether a call the engine holds may leave memory now: it has ended, and folded nothing new
 * (nor was loaded) for the grace period. Pure.
 */
export function isEvictable(state: string, touchedAt: number, now: number, graceMs: number): boolean {
  return state === 'terminated' && now - touchedAt >= graceMs;
}
