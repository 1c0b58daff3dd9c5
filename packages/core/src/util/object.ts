/**
 * `Object.prototype.hasOwnProperty`, for hot loops written `for (const k in o) if (hasOwn.call(o, k))`:
 * unlike `Object.keys(o)` that allocates no array, and V8 reduces the check to nothing for
 * an object whose keys it has cached (the check keeps inherited enumerable keys out).
 */
export const hasOwn = Object.prototype.hasOwnProperty;

/**
 * `{ ...base, [key]: value }`, built without the object-literal spread: on the engine's V8 a
 * literal that spreads an object and then adds a property takes a slow path (microseconds
 * per call, a fresh hidden class each time), while copying with `Object.assign` and then
 * setting the property stays on the fast path. Same result: own enumerable properties in
 * their order, `key` last unless `base` already has it. `__proto__` as an own key (the only
 * key `Object.assign` treats differently, as the prototype setter) falls back to the spread.
 */
export function withProperty<T extends object, K extends string, V>(base: T, key: K, value: V): Omit<T, K> & { [P in K]: V } {
  if (hasOwn.call(base, '__proto__')) return { ...base, [key]: value } as Omit<T, K> & { [P in K]: V };
  const copy = Object.assign({}, base) as Record<string, unknown>;
  copy[key] = value;
  return copy as Omit<T, K> & { [P in K]: V };
}

/**
 * How many own keys `value` has, when they are exactly `keys[0..n)` in that order; -1 when they
 * are not (another key, another order, or more keys than `keys`). Allocates nothing: for the hot
 * paths that build a known shape from a literal and copy anything else.
 */
export function ownKeysInOrder(value: object, keys: readonly string[]): number {
  let n = 0;
  for (const key in value) {
    if (!hasOwn.call(value, key)) continue;
    if (key !== keys[n]) return -1;
    n++;
  }
  return n;
}

/**
 * A record keyed by ids that come from Graph (participant, operation, session ids, entry ids):
 * no `Object.prototype` in its chain, so an id such as `toString`, `constructor` or `__proto__`
 * is an own key like any other, never an inherited member (nor the `__proto__` setter). Its
 * prototype is `ID_RECORD_PROTOTYPE`, an empty frozen object that has no prototype itself: as
 * good as none, and much faster to copy, which the fold does on every change. V8 keeps records
 * made from a `{ __proto__: <object>, ... }` literal in fast mode and caches their shape; a
 * record with a null prototype starts as a dictionary (`Object.create(null)`, a
 * `{ __proto__: null }` literal), and one given a null prototype afterwards gets a shape of its
 * own each time it is frozen: copying either costs 5 to 20 times more. JSON and
 * `structuredClone` give a record `Object.prototype` back; `copyIdRecord` mends it.
 */
export type IdRecord<V> = { [id: string]: V };

/** The prototype of every id-keyed record: empty, frozen, without a prototype of its own. */
export const ID_RECORD_PROTOTYPE: object = Object.freeze(Object.create(null) as object);

/** A new, empty id-keyed record. */
export function emptyIdRecord<V>(): IdRecord<V> {
  return { __proto__: ID_RECORD_PROTOTYPE } as unknown as IdRecord<V>;
}

/** A copy of a record as an id-keyed record (own properties only; an own `__proto__` as data). */
export function copyIdRecord<V>(record: { readonly [id: string]: V }): IdRecord<V> {
  return { __proto__: ID_RECORD_PROTOTYPE, ...record } as unknown as IdRecord<V>;
}

/** Whether a record is an id-keyed record (see `copyIdRecord`). */
export function isIdRecord(record: object): boolean {
  return Object.getPrototypeOf(record) === ID_RECORD_PROTOTYPE;
}
