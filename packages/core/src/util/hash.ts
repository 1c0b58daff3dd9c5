/**
 * A 53-bit non-cryptographic string hash (cyrb53), as 14 hex digits. Used to give
 * notifications without a delivery id a content-derived entry id, so a redelivered body
 * dedups by id. Pure and fast; not for anything an attacker may want to collide.
 */
export function hash53(text: string, seed = 0): string {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return hex14(2097151 & h2, h1 >>> 0);
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
  let { h1, h2 } = state;
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return hex14(2097151 & h2, h1 >>> 0);
}

/**
 * `'n:' + hashEnd(state)`, built as one flat string: V8 makes a concatenation of 13 or more
 * characters a rope, which it flattens (a second string) the first time it is hashed as a
 * key, and an entry id is hashed on every append (dedup).
 */
export function hashEndNotificationId(state: HashState): string {
  const hex = hashEnd(state);
  return String.fromCharCode(
    110, // n
    58, // :
    hex.charCodeAt(0),
    hex.charCodeAt(1),
    hex.charCodeAt(2),
    hex.charCodeAt(3),
    hex.charCodeAt(4),
    hex.charCodeAt(5),
    hex.charCodeAt(6),
    hex.charCodeAt(7),
    hex.charCodeAt(8),
    hex.charCodeAt(9),
    hex.charCodeAt(10),
    hex.charCodeAt(11),
    hex.charCodeAt(12),
    hex.charCodeAt(13),
  );
}

/**
 * `(2^32 * high + low).toString(16).padStart(14, '0')` for a 21-bit `high` and 32-bit `low`,
 * without formatting a double in radix 16 (slow): six hex digits of `high`, eight of `low`.
 */
function hex14(high: number, low: number): string {
  return String.fromCharCode(
    HEX[(high >>> 20) & 15]!,
    HEX[(high >>> 16) & 15]!,
    HEX[(high >>> 12) & 15]!,
    HEX[(high >>> 8) & 15]!,
    HEX[(high >>> 4) & 15]!,
    HEX[high & 15]!,
    HEX[(low >>> 28) & 15]!,
    HEX[(low >>> 24) & 15]!,
    HEX[(low >>> 20) & 15]!,
    HEX[(low >>> 16) & 15]!,
    HEX[(low >>> 12) & 15]!,
    HEX[(low >>> 8) & 15]!,
    HEX[(low >>> 4) & 15]!,
    HEX[low & 15]!,
  );
}

const HEX = Array.from('0123456789abcdef', (c) => c.charCodeAt(0));
