import { freeze } from 'immer';
import type { CallContext } from './context.js';

/** The context's keyed collections (and small records), copied on their first write in an edit. */
export type RecordField =
  | 'props'
  | 'participants'
  | 'removedParticipants'
  | 'operations'
  | 'contentSharingSessions'
  | 'audioRoutingGroups'
  | 'commands'
  | 'timers'
  | 'transfer';

/** The context's lists, copied on their first write in an edit. */
export type ArrayField = 'tones' | 'stale' | 'unknown';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type ValueOf<F extends RecordField, K extends string> = K extends keyof CallContext[F] ? CallContext[F][K] : never;
type ItemOf<F extends ArrayField> = CallContext[F] extends readonly (infer T)[] ? T : never;

/**
 * One entry's copy-on-write edit of a call context: what immer's `produce` did for the
 * reducers, without proxies. The root is copied once; a collection is copied on its first
 * real change (writing the value a key already holds, or deleting a key that is not there,
 * copies nothing); everything untouched stays shared with the previous context.
 *
 * `finish` returns the previous context itself when nothing changed, else the new one,
 * deep-frozen the way immer's auto-freeze leaves a produced state (frozen parts are not
 * walked again, so only what this edit created is visited).
 *
 * Reducers read the current state from `next` and write only through the methods.
 */
export class ContextEdit<C extends CallContext> {
  /** The context before this edit. */
  readonly base: C;
  /** The context as edited so far. Read it freely; write only through the methods. */
  readonly next: Mutable<C>;

  constructor(base: C) {
    this.base = base;
    this.next = { ...base };
  }

  /** Sets a root field (scalar fields: position, latestRoster, resyncNeeded). */
  setRoot<K extends 'position' | 'latestRoster' | 'resyncNeeded'>(key: K, value: CallContext[K]): void {
    (this.next as Mutable<CallContext>)[key] = value;
  }

  /** The writable copy of a keyed collection (copied on the first call). */
  #record<F extends RecordField>(field: F): Record<string, unknown> {
    const current = this.next[field] as Record<string, unknown>;
    if (current !== (this.base[field] as unknown)) return current;
    const copy = { ...current };
    (this.next as Record<string, unknown>)[field] = copy;
    return copy;
  }

  #array<F extends ArrayField>(field: F): unknown[] {
    const current = this.next[field] as unknown[];
    if (current !== (this.base[field] as unknown)) return current;
    const copy = current.slice();
    (this.next as Record<string, unknown>)[field] = copy;
    return copy;
  }

  /** `next[field][key] = value`; a no-op when the key already holds that value. */
  set<F extends RecordField, K extends string>(field: F, key: K, value: ValueOf<F, K>): void {
    const current = this.next[field] as Record<string, unknown>;
    if (Object.is(current[key], value) && (value !== undefined || key in current)) return;
    this.#record(field)[key] = value;
  }

  /** `delete next[field][key]`; a no-op when the key is not there. */
  delete<F extends RecordField>(field: F, key: string): void {
    const current = this.next[field] as Record<string, unknown>;
    if (!(key in current)) return;
    delete this.#record(field)[key];
  }

  /** `next[field].push(item)`. */
  push<F extends ArrayField>(field: F, item: ItemOf<F>): void {
    this.#array(field).push(item);
  }

  /** `next[field].splice(at, 0, item)`. */
  insert<F extends ArrayField>(field: F, at: number, item: ItemOf<F>): void {
    this.#array(field).splice(at, 0, item);
  }

  /** The edited context: the base itself when nothing changed, else the new, deep-frozen one. */
  finish(): C {
    const next = this.next as Record<string, unknown>;
    const base = this.base as Record<string, unknown>;
    let changed = false;
    for (const key in next) {
      if (!Object.is(next[key], base[key])) {
        changed = true;
        break;
      }
    }
    // immer deep-freezes what produce returns, the unchanged base included.
    return freeze(changed ? this.next : this.base, true) as C;
  }
}
