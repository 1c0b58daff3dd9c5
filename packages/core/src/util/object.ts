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
 * it has no prototype, so an id such as `toString`, `constructor` or `__proto__` is an own key
 * like any other, never a member of `Object.prototype` (nor its setter). JSON and
 * `structuredClone` drop the missing prototype; `toNullPrototype` puts it back.
 */
export type IdRecord<V> = { [id: string]: V };

/** A new, empty id-keyed record (no prototype). */
export function idRecord<V>(): IdRecord<V> {
  return Object.create(null) as IdRecord<V>;
}

/** A copy of an id-keyed record, without a prototype whatever the original's. */
export function copyIdRecord<V>(record: { readonly [id: string]: V }): IdRecord<V> {
  const copy = Object.create(null) as IdRecord<V>;
  // own keys only: a record read back from JSON has Object.prototype, whose keys are not enumerable
  for (const key in record) if (hasOwn.call(record, key)) copy[key] = record[key]!;
  return copy;
}

/** The record itself when it has no prototype, else a copy that has none. */
export function toNullPrototype<V>(record: { readonly [id: string]: V }): { readonly [id: string]: V } {
  return Object.getPrototypeOf(record) === null ? record : copyIdRecord(record);
}
