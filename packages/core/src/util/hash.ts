/**
 * A 53-bit non-cryptographic string hash (cyrb53), as 14 hex digits. Used to give
 * notifications without a delivery id a content-derived entry id, so a redelivered body
 * dedups by id. Pure and fast; not for anything an attacker may want to collide.
 */
export function hash53(text: string, seed = 0): string {
  const state = hashStart(seed);
  hashFeed(state, text);
  return hashEnd(state);
}

/** Running state of a streaming hash53, for hashing a structure without serialising it. */
export interface HashState {
  h1: number;
  h2: number;
}

export function hashStart(seed = 0): HashState {
  return { h1: 0xdeadbeef ^ seed, h2: 0x41c6ce57 ^ seed };
}

export function hashFeed(state: HashState, text: string): void {
  let { h1, h2 } = state;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  state.h1 = h1;
  state.h2 = h2;
}

export function hashEnd(state: HashState): string {
  return finish(state, HEX_ONLY);
}

/**
 * `'n:' + hashEnd(state)`, built as one flat string: V8 makes a concatenation of 13 or more
 * characters a rope, which it flattens (a second string) the first time it is hashed as a
 * key, and an entry id is hashed on every append (dedup).
 */
export function hashEndNotificationId(state: HashState): string {
  return finish(state, NOTIFICATION_ID);
}

// Character codes of a result: a prefix, then 14 places for the digits. Reused: a hash ends synchronously.
const HEX_ONLY: number[] = new Array<number>(14).fill(0);
const NOTIFICATION_ID: number[] = [110, 58, ...HEX_ONLY]; // 'n', ':'
const HEX = Array.from('0123456789abcdef', (c) => c.charCodeAt(0));

/**
 * hash53's final mix, as `(2^32 * high + low).toString(16).padStart(14, '0')` for its 21-bit
 * `high` and 32-bit `low` (without formatting a double in radix 16, which is slow), written into
 * the last 14 places of `codes` after its prefix; returns `codes` as a string.
 */
function finish(state: HashState, codes: number[]): string {
  let { h1, h2 } = state;
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  const high = 2097151 & h2;
  const low = h1 >>> 0;
  let at = codes.length - 14;
  for (let shift = 20; shift >= 0; shift -= 4) codes[at++] = HEX[(high >>> shift) & 15]!;
  for (let shift = 28; shift >= 0; shift -= 4) codes[at++] = HEX[(low >>> shift) & 15]!;
  return String.fromCharCode.apply(null, codes);
}
