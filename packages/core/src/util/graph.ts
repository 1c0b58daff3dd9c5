import { hasOwn } from './object.js';

/** Small helpers for Graph's loosely typed wire values. */

export type JsonObject = { readonly [key: string]: unknown };

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `#microsoft.graph.playPromptOperation` → `playPromptOperation`; undefined when absent. */
export function odataTypeName(value: unknown): string | undefined {
  if (!isObject(value)) return undefined;
  const type = value['@odata.type'];
  if (typeof type !== 'string') return undefined;
  const bare = type.startsWith('#') ? type.slice(1) : type;
  return bare.startsWith('microsoft.graph.') ? bare.slice('microsoft.graph.'.length) : bare;
}

/**
 * A whole number Graph sent as a number or, in some SDK paths, as a numeric string (result
 * codes, `toneInfo.sequenceId`, `rosterSequenceNumber`); undefined for anything else,
 * including fractions and numbers beyond `Number.MAX_SAFE_INTEGER` (`1e308` would order
 * after every real sequence number, and a 400-digit string reads as `Infinity`).
 */
export function toCode(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? value : undefined;
  if (typeof value === 'string' && /^-?\d+$/.test(value.trim())) {
    const n = Number(value.trim());
    return Number.isSafeInteger(n) ? n : undefined;
  }
  return undefined;
}

/**
 * The key a participant is filed under: its `id`, or, when Graph sent none (the invite docs
 * show `"id": null`), its identity (`identity:user:<id>`). Undefined when it has neither.
 */
export function participantKey(participant: JsonObject): string | undefined {
  const id = participant['id'];
  if (typeof id === 'string' && id.length > 0) return id;
  const info = participant['info'];
  const identity = isObject(info) ? info['identity'] : undefined;
  if (!isObject(identity)) return undefined;
  for (const kind in identity) {
    if (!hasOwn.call(identity, kind)) continue;
    const who = identity[kind];
    if (isObject(who) && typeof who['id'] === 'string' && who['id'].length > 0) return `identity:${kind}:${who['id']}`;
  }
  return undefined;
}

const DELTA_TYPES = new Set(['#microsoft.graph.deltaParticipants', 'microsoft.graph.deltaParticipants', 'deltaParticipants']);

/**
 * Whether a roster notification's items are delta rosters (beta `deltaParticipants`: a
 * `sequenceNumber` and the participants that changed) rather than participants. A roster's
 * items are of one kind: the first decides. Reads one property; allocates nothing.
 */
export function isDeltaRoster(items: readonly unknown[]): boolean {
  const first = items[0];
  return isObject(first) && DELTA_TYPES.has(first['@odata.type'] as string);
}
