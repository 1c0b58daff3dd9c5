import { freeze } from 'immer';
import { CONTEXT_FIELD_NAMES, fieldsOf, type CallContext, type ContextFieldOf } from './context.js';
import { copyIdRecord, hasOwn, ID_RECORD_PROTOTYPE, isIdRecord, ownKeysInOrder } from '../util/object.js';

/** The context's keyed collections (and small records), copied on their first write in an edit. */
export type RecordField = ContextFieldOf<'record' | 'idRecord'>;

/** The records Graph's ids (or entry ids) key: without Object.prototype (see `copyIdRecord`), in context order. */
export const ID_RECORD_FIELDS: readonly RecordField[] = fieldsOf('idRecord');

/** The context's lists, copied on their first write in an edit. */
export type ArrayField = ContextFieldOf<'list'>;

/** The fields set whole (`ContextEdit.setRoot`); `id` and `rosterMode` are the call's own and never change. */
export type ValueField = Exclude<ContextFieldOf<'value'>, 'id' | 'rosterMode'>;

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

  /** The root fields written so far, one bit each (`FIELD_BIT`): `finish` looks at these and no others. */
  #written = 0;

  constructor(base: C) {
    this.base = base;
    this.next = copyRoot(base);
  }

  /** Sets a field held whole (`value` in `CONTEXT_FIELDS`: position, latestRoster, resyncNeeded, ...). */
  setRoot<K extends ValueField>(key: K, value: CallContext[K]): void {
    this.#written |= FIELD_BIT[key]!;
    (this.next as Mutable<CallContext>)[key] = value;
  }

  /** The writable copy of a keyed collection (copied on the first call). */
  #record<F extends RecordField>(field: F): Record<string, unknown> {
    const current = this.next[field] as Record<string, unknown>;
    if (current !== (this.base[field] as unknown)) return current;
    // a record ids key has no Object.prototype, and neither has its copy (see `copyIdRecord`)
    const copy = isIdRecord(current) ? copyIdRecord(current) : { ...current };
    (this.next as Record<string, unknown>)[field] = copy;
    this.#written |= FIELD_BIT[field]!;
    return copy;
  }

  #array<F extends ArrayField>(field: F): unknown[] {
    const current = this.next[field] as unknown[];
    if (current !== (this.base[field] as unknown)) return current;
    const copy = current.slice();
    (this.next as Record<string, unknown>)[field] = copy;
    this.#written |= FIELD_BIT[field]!;
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
    // every write goes through the methods, so only the fields they wrote can differ
    const written = this.#written;
    let changed = false;
    for (let i = 0; i < ROOT_KEYS.length; i++) {
      if ((written & (1 << i)) === 0) continue;
      const key = ROOT_KEYS[i]!;
      if (!Object.is(next[key], base[key])) {
        changed = true;
        break;
      }
    }
    // immer deep-freezes what produce returns, the unchanged base included. A frozen base is
    // deep-frozen (every context an edit returns is), so what it still shares is not walked.
    if (!Object.isFrozen(base)) {
      deepFreeze(changed ? next : base);
    } else if (changed) {
      Object.freeze(next);
      for (let i = 0; i < ROOT_KEYS.length; i++) {
        if ((written & (1 << i)) === 0) continue;
        const key = ROOT_KEYS[i]!;
        const value = next[key];
        const before = base[key];
        if (value !== before) freezeChanged(value, before);
      }
    }
    return (changed ? next : base) as C;
  }
}

// The context's keys, in `CONTEXT_FIELDS` order (the order `initialContext` creates them in).
const ROOT_KEYS: readonly string[] = CONTEXT_FIELD_NAMES;

/** Each root key's bit in `ContextEdit`'s record of what it wrote. */
const FIELD_BIT: Readonly<Record<string, number>> = Object.fromEntries(ROOT_KEYS.map((key, i) => [key, 1 << i]));

/**
 * `{ ...base }`. Spreading a frozen object is several times slower than building the same
 * object from a literal (and a loop over the field names slower still), so a context with
 * exactly `CONTEXT_FIELDS`' keys, in order, is copied by the literal below; any other shape is
 * spread. The literal is typed as a whole context: a field added to `CONTEXT_FIELDS` and
 * missing here does not compile, and a test holds its order to the constant's.
 */
function copyRoot<C extends CallContext>(base: C): Mutable<C> {
  if (ownKeysInOrder(base, ROOT_KEYS) === ROOT_KEYS.length) {
    const b: CallContext = base;
    const copy: Mutable<CallContext> = {
      id: b.id,
      graphId: b.graphId,
      props: b.props,
      participants: b.participants,
      latestRoster: b.latestRoster,
      removedParticipants: b.removedParticipants,
      operations: b.operations,
      contentSharingSessions: b.contentSharingSessions,
      audioRoutingGroups: b.audioRoutingGroups,
      tones: b.tones,
      stale: b.stale,
      unknown: b.unknown,
      commands: b.commands,
      resyncNeeded: b.resyncNeeded,
      transfer: b.transfer,
      timers: b.timers,
      lastCallBody: b.lastCallBody,
      lastRosterBody: b.lastRosterBody,
      lastBodies: b.lastBodies,
      position: b.position,
      rosterMode: b.rosterMode,
    };
    return copy as unknown as Mutable<C>;
  }
  return { ...base };
}

/**
 * `deepFreeze` of a field an edit changed, whose previous value `before` (from a deep-frozen
 * context) is: a copied collection shares most of its items with it, and those are frozen.
 */
function freezeChanged(value: unknown, before: unknown): void {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return;
  if (typeof before !== 'object' || before === null) {
    deepFreeze(value);
    return;
  }
  if (Array.isArray(value)) {
    if (!Array.isArray(before)) {
      deepFreeze(value);
      return;
    }
    Object.freeze(value);
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (i >= before.length || item !== before[i]) deepFreeze(item);
    }
    return;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null && proto !== ID_RECORD_PROTOTYPE) {
    deepFreeze(value);
    return;
  }
  Object.freeze(value);
  const record = value as Record<string, unknown>;
  const old = before as Record<string, unknown>;
  for (const key in record) {
    if (!hasOwn.call(record, key)) continue;
    const item = record[key];
    if (item !== old[key]) deepFreeze(item);
  }
}

/**
 * immer's `freeze(value, true)`: freezes plain objects and arrays, and what they hold, down
 * to what is frozen already. Anything else (class instances, maps, sets) is left to immer.
 */
export function deepFreeze(value: unknown): void {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return;
  if (Array.isArray(value)) {
    Object.freeze(value);
    for (let i = 0; i < value.length; i++) deepFreeze(value[i]);
    return;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null && proto !== ID_RECORD_PROTOTYPE) {
    freeze(value, true);
    return;
  }
  Object.freeze(value);
  const record = value as Record<string, unknown>;
  for (const key in record) if (hasOwn.call(record, key)) deepFreeze(record[key]);
}
