import { DecodeError, SwitchboardError, type DecodeErrorReason } from '../errors/errors.js';
import {
  QUARANTINE_STREAM,
  type ChangeType,
  type NotificationEntry,
  type NotificationTarget,
  type QuarantinedEntry,
} from '../log/entries.js';
import { hashEnd, hashEndNotificationId, hashFeed, hashStart, type HashState } from '../util/hash.js';
import { canonicalId } from '../util/ids.js';
import { isDeltaRoster, isObject, odataTypeName, participantKey, toCode, type JsonObject } from '../util/graph.js';
import { namesCall, parseResourcePath } from './paths.js';
import { hasOwn } from '../util/object.js';

/** Limits on untrusted input; a body past any of them is a `DecodeError` (`too-large`/`too-deep`). */
export const DECODE_LIMITS = {
  /** notifications in one `value[]` batch */
  maxBatch: 1000,
  /** items in one collection `resourceData` (a roster) */
  maxCollection: 5000,
  /** nesting depth of any JSON value */
  maxDepth: 64,
  /** characters in a call id (Graph's are GUIDs, 36; the stores key by it) */
  maxCallIdLength: 256,
} as const;

export interface DecodeMeta {
  /** When the delivery was received, ms since the epoch. */
  readonly receivedAt: number;
  /** The delivery's message id, when the transport saw one: entry ids derive from it. */
  readonly messageId?: string;
}

/** What a delivery decodes to: one entry per notification, decoded or quarantined. */
export type DeliveryEntry = NotificationEntry | QuarantinedEntry;

/**
 * Decodes an untrusted `commsNotifications` body (a JSON string or an already parsed value)
 * into log entries, one per notification, each routed to its call. All-or-nothing: the first
 * malformed field throws a `DecodeError` naming its JSON path, and nothing is returned
 * (`decodeDelivery` quarantines a notification that does not decode instead).
 *
 * Unknown `@odata.type`s, unknown states and extra fields are kept, never thrown on. Entry
 * ids come from the delivery's message id when there is one, else from the notification's
 * content, so a redelivered body gets the ids it had the first time. Each entry's `callId`
 * is the call's identity key (`canonicalId`: one GUID spelled two ways is one call); the
 * content id is hashed from the spelling Graph sent.
 *
 * This is a pure function: it reads no clock and keeps no state.
 */
export function decodeNotifications(body: unknown, meta: DecodeMeta): NotificationEntry[] {
  const value = openDelivery(body, meta);
  const entries: NotificationEntry[] = [];
  for (let i = 0; i < value.length; i++) entries.push(decodeItem(value[i], i, meta));
  return entries;
}

/**
 * `decodeNotifications` that keeps going: a notification that does not decode becomes a
 * `quarantined` entry (the notification as received, with the error's reason and JSON path)
 * in its call's stream when its call id can be read, else in `QUARANTINE_STREAM`; the others
 * decode as usual. Still throws a `DecodeError` (the whole body is refused) for what cannot
 * be a delivery or cannot be stored: a body that is not JSON or not a `commsNotifications`
 * object with a `value[]` array, anything past `DECODE_LIMITS` (`too-large`, `too-deep`),
 * prototype-polluting keys (`forbidden-key`) and values the log cannot keep exactly
 * (`unstorable`).
 *
 * Pure, as `decodeNotifications`.
 */
export function decodeDelivery(body: unknown, meta: DecodeMeta): DeliveryEntry[] {
  const value = openDelivery(body, meta);
  const entries: DeliveryEntry[] = [];
  for (let i = 0; i < value.length; i++) {
    const item = value[i];
    try {
      entries.push(decodeItem(item, i, meta));
    } catch (error) {
      if (!(error instanceof DecodeError) || !QUARANTINED_REASONS.has(error.reason)) throw error;
      entries.push(quarantine(item, i, error, meta));
    }
  }
  return entries;
}

/**
 * Decodes a quarantined notification again, with this version's rules: the entry it would
 * have become on arrival (the same id, call and time), or the `DecodeError` that still stands.
 * What `Engine.redecode` appends after an upgrade. Pure.
 */
export function redecodeQuarantined(entry: QuarantinedEntry): NotificationEntry {
  const meta: DecodeMeta = entry.messageId !== undefined ? { receivedAt: entry.at, messageId: entry.messageId } : { receivedAt: entry.at };
  return decodeItem(entry.notification, entry.index, meta);
}

/** The reasons a single notification is quarantined for; every other reason refuses the delivery. */
const QUARANTINED_REASONS: ReadonlySet<DecodeErrorReason> = new Set<DecodeErrorReason>([
  'not-an-object',
  'missing-field',
  'wrong-type',
  'invalid-value',
]);

/** Checks the envelope of a delivery and returns its `value[]`. */
function openDelivery(body: unknown, meta: DecodeMeta): readonly unknown[] {
  const messageId = meta.messageId;
  if (messageId !== undefined && (typeof messageId !== 'string' || !isStorableId(messageId))) {
    throw new SwitchboardError('SWB_INVALID_ARGUMENT', 'a message id must be a string of well-formed text without NUL');
  }
  const parsed = typeof body === 'string' ? parseJson(body) : body;
  if (!isObject(parsed)) throw new DecodeError('not-an-object', '$', 'a commsNotifications body must be a JSON object');
  const value = parsed['value'];
  if (value === undefined) throw new DecodeError('missing-field', '$.value', 'not a commsNotifications: no value[] array');
  if (!Array.isArray(value)) throw new DecodeError('wrong-type', '$.value', 'value must be an array of notifications');
  if (value.length > DECODE_LIMITS.maxBatch) {
    throw new DecodeError('too-large', '$.value', `${value.length} notifications in one batch, at most ${DECODE_LIMITS.maxBatch}`);
  }
  // Everything but the resource data, which decodeOne scans (and hashes) itself.
  for (const key in parsed) {
    if (key !== 'value' && hasOwn.call(parsed, key)) check(parsed[key], '$', key, 1);
  }
  return value;
}

/** One notification of a delivery, decoded, or the `DecodeError` that says why not. */
function decodeItem(item: unknown, i: number, meta: DecodeMeta): NotificationEntry {
  const path = i < ITEM_PATHS.length ? ITEM_PATHS[i]! : `$.value[${i}]`;
  if (isObject(item)) {
    for (const key in item) {
      if (key !== 'resourceData' && hasOwn.call(item, key)) check(item[key], path, key, 3);
    }
  }
  return decodeOne(item, path, i, meta);
}

/**
 * The quarantined entry for a notification that did not decode. The whole notification is
 * stored, so it is checked first as the resource data of a decoded one is (prototype keys,
 * depth, values the log cannot keep: those still refuse the delivery) and frozen.
 */
function quarantine(item: unknown, i: number, error: DecodeError, meta: DecodeMeta): QuarantinedEntry {
  const path = i < ITEM_PATHS.length ? ITEM_PATHS[i]! : `$.value[${i}]`;
  h1 = HASH_SEED_1;
  h2 = HASH_SEED_2;
  feed('quarantined|');
  if (typeof item !== 'object' || item === null) {
    if (!isStorablePrimitive(item)) scan(item, path, 2, null, ''); // throws, naming the path
    feedPrimitive(item);
  } else if (!walk(item, 2, true)) {
    scan(item, path, 2, null, ''); // throws, naming the path
  }
  const contentId = `q:${hashEnd({ h1, h2 })}`;
  const callId = readableCallId(item, path) ?? QUARANTINE_STREAM;
  const quarantineError = { code: 'SWB_DECODE', reason: error.reason, path: error.path, message: error.message } as const;
  const at = meta.receivedAt;
  if (meta.messageId === undefined)
    return { kind: 'quarantined', id: contentId, callId, at, notification: item, index: i, error: quarantineError };
  return {
    kind: 'quarantined',
    id: `q:${meta.messageId}:${i}`,
    callId,
    at,
    notification: item,
    index: i,
    error: quarantineError,
    messageId: meta.messageId,
  };
}

/**
 * The identity key of the call a notification names, read as leniently as its resource
 * path allows (`resourceUrl`, else `resource`); undefined when it names none (or the
 * reserved quarantine stream). A call id the log could not keep refuses the delivery.
 */
function readableCallId(item: unknown, path: string): string | undefined {
  if (!isObject(item)) return undefined;
  for (const field of ['resourceUrl', 'resource'] as const) {
    const value = item[field];
    if (typeof value !== 'string') continue;
    const route = parseResourcePath(value);
    if (route === undefined) continue;
    checkCallId(route.callId, `${path}.${field}`);
    return route.callId === QUARANTINE_STREAM ? undefined : canonicalId(route.callId);
  }
  return undefined;
}

/** A call id must fit the stores' keys exactly: at most 256 characters, well-formed text, no NUL. */
function checkCallId(callId: string, path: string): void {
  if (callId.length > DECODE_LIMITS.maxCallIdLength) {
    throw new DecodeError('too-large', path, `the call id is ${callId.length} characters, at most ${DECODE_LIMITS.maxCallIdLength}`);
  }
  if (!isStorableId(callId)) {
    throw new DecodeError(
      'unstorable',
      path,
      'the call id has a lone surrogate or a NUL character, which the log cannot keep as a stream id',
    );
  }
}

/** Well-formed UTF-16 (no lone surrogate, which UTF-8 stores cannot keep) and no NUL. */
function isStorableId(id: string): boolean {
  return !LONE_SURROGATE_OR_NUL.test(id);
}

// (no `u` flag: the expression reads UTF-16 code units, so it can see a lone half)
const LONE_SURROGATE_OR_NUL = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new DecodeError('invalid-json', '$', `not valid JSON (${(error as Error).message})`, { cause: error });
  }
}

// The JSON paths of the first items of a batch and of their resource data (nearly every batch
// has one item): built once, not per notification (they are only read in an error).
const ITEM_PATHS = Array.from({ length: 8 }, (_, i) => `$.value[${i}]`);
const DATA_PATHS = ITEM_PATHS.map((path) => `${path}.resourceData`);

// A Map: `CHANGE_TYPES[raw]` on an object literal would find `constructor` and `__proto__`.
const CHANGE_TYPES = new Map<string, ChangeType>([
  ['created', 'created'],
  ['updated', 'updated'],
  ['deleted', 'deleted'],
]);

function decodeOne(item: unknown, path: string, index: number, meta: DecodeMeta): NotificationEntry {
  if (!isObject(item)) throw new DecodeError('not-an-object', path, 'a notification must be an object');
  const rawChange = item['changeType'];
  if (rawChange === undefined) throw new DecodeError('missing-field', `${path}.changeType`, 'changeType is required');
  if (typeof rawChange !== 'string') throw new DecodeError('wrong-type', `${path}.changeType`, 'changeType must be a string');
  const changeType = CHANGE_TYPES.get(rawChange.toLowerCase());
  if (!changeType) {
    throw new DecodeError('invalid-value', `${path}.changeType`, `'${rawChange}' is not created, updated or deleted`);
  }

  const resourceUrl = pickResource(item, path);
  const route = parseResourcePath(resourceUrl.value);
  if (!route) throw new DecodeError('invalid-value', `${path}.${resourceUrl.field}`, `'${resourceUrl.value}' is not a call resource`);
  checkCallId(route.callId, `${path}.${resourceUrl.field}`);
  if (route.callId === QUARANTINE_STREAM) {
    throw new DecodeError(
      'invalid-value',
      `${path}.${resourceUrl.field}`,
      `the call id '${QUARANTINE_STREAM}' is reserved for quarantined notifications`,
    );
  }
  const callId = canonicalId(route.callId);
  if (resourceUrl.field === 'resourceUrl' && typeof item['resource'] === 'string') {
    // Both present (real traffic): they should name the same call; trust resourceUrl.
    if (!namesCall(item['resource']))
      throw new DecodeError('invalid-value', `${path}.resource`, `'${item['resource']}' is not a call resource`);
  }

  const resourceData = item['resourceData'];
  // One walk checks keys and depth, freezes (log entries are immutable; the fold then shares
  // them) and hashes the content for the entry id (used when the delivery has no message id).
  const contentId = walkResourceData(resourceData, changeType, route.callId, path);
  const target = checkResourceData(route.target, resourceData, index < ITEM_PATHS.length ? DATA_PATHS[index]! : `${path}.resourceData`);
  // two literals rather than a conditional spread (a slow path on V8); the same keys in order
  if (meta.messageId === undefined) {
    return {
      kind: 'notification',
      id: contentId,
      callId,
      at: meta.receivedAt,
      changeType,
      resourceUrl: resourceUrl.value,
      target,
      resourceData,
    };
  }
  return {
    kind: 'notification',
    id: `m:${meta.messageId}:${index}`,
    callId,
    at: meta.receivedAt,
    changeType,
    resourceUrl: resourceUrl.value,
    target,
    resourceData,
    messageId: meta.messageId,
  };
}

function pickResource(item: Record<string, unknown>, path: string): { field: 'resourceUrl' | 'resource'; value: string } {
  const url = item['resourceUrl'];
  if (url !== undefined && url !== null) {
    if (typeof url !== 'string') throw new DecodeError('wrong-type', `${path}.resourceUrl`, 'resourceUrl must be a string');
    return { field: 'resourceUrl', value: url };
  }
  const resource = item['resource'];
  if (resource !== undefined && resource !== null) {
    if (typeof resource !== 'string') throw new DecodeError('wrong-type', `${path}.resource`, 'resource must be a string');
    return { field: 'resource', value: resource };
  }
  throw new DecodeError('missing-field', `${path}.resourceUrl`, 'a notification needs resourceUrl or resource');
}

/**
 * Checks the resource data fits its target and returns the target to file it under.
 * A known path with data of an unexpected `@odata.type` becomes an `unknown` target (kept,
 * passed through); data of the wrong JSON shape for a known type is an error.
 */
function checkResourceData(target: NotificationTarget, data: unknown, path: string): NotificationTarget {
  // Graph sends some notifications with no resource data at all (the call: answer page's
  // content sharing sessions `created` and `deleted`; a call or an operation `deleted`, which
  // the fold ends): the path says what changed.
  if (data === undefined || data === null) return target;
  switch (target.type) {
    case 'call': {
      const type = odataTypeName(data);
      if (type !== undefined && type !== 'call') return { type: 'unknown', reason: `unexpected @odata.type '${type}' for a call` };
      if (!isObject(data)) throw new DecodeError('wrong-type', path, 'a call notification carries a call object');
      checkCall(data, path);
      return target;
    }
    case 'participants': {
      const items = collection(data, path);
      if (isDeltaRoster(items)) checkDeltaRoster(items, path, isObject(data));
      else checkParticipants(items, path);
      return target;
    }
    case 'participant': {
      if (!isObject(data)) throw new DecodeError('wrong-type', path, 'a participant notification carries a participant object');
      checkParticipantFields(data, path);
      return target;
    }
    case 'operation': {
      if (Array.isArray(data)) {
        // A docs example posts a roster to `/operations/participants`: file it as the roster.
        if (data.length > 0 && data.every((d) => odataTypeName(d) === 'participant')) {
          const items = collection(data, path);
          checkParticipants(items, path);
          return { type: 'participants' };
        }
        return { type: 'unknown', reason: 'a collection where an operation was expected' };
      }
      const type = odataTypeName(data);
      if (type !== undefined && !/operation$/i.test(type)) {
        return { type: 'unknown', reason: `unexpected @odata.type '${type}' for an operation` };
      }
      if (!isObject(data)) throw new DecodeError('wrong-type', path, 'an operation notification carries an operation object');
      const id = data['id'];
      if (id !== undefined && id !== null && typeof id !== 'string') {
        throw new DecodeError('wrong-type', `${path}.id`, 'operation id must be a string');
      }
      const operationId = typeof id === 'string' && id.length > 0 ? id : target.operationId;
      if (operationId === undefined)
        throw new DecodeError('missing-field', `${path}.id`, 'the operation has no id (neither in the data nor the path)');
      optionalString(data, 'status', path);
      checkResultInfo(data['resultInfo'], path);
      return { type: 'operation', operationId };
    }
    case 'contentSharingSessions': {
      const items = isObject(data) ? [data] : collection(data, path);
      items.forEach((s, i) => {
        const at = isObject(data) ? path : `${path}[${i}]`;
        if (!isObject(s)) throw new DecodeError('not-an-object', at, 'a content sharing session must be an object');
        const id = s['id'];
        if (typeof id !== 'string' || id.length === 0) {
          if (id === undefined && target.sessionId !== undefined) return;
          throw new DecodeError(
            id === undefined ? 'missing-field' : 'wrong-type',
            `${at}.id`,
            'a content sharing session needs a string id',
          );
        }
      });
      return target;
    }
    case 'audioRoutingGroups':
    case 'unknown':
      return target;
  }
}

function collection(data: unknown, path: string): readonly unknown[] {
  if (isObject(data)) return [data];
  if (!Array.isArray(data)) throw new DecodeError('wrong-type', path, 'expected an array of resources');
  if (data.length > DECODE_LIMITS.maxCollection) {
    throw new DecodeError('too-large', path, `${data.length} items, at most ${DECODE_LIMITS.maxCollection}`);
  }
  return data;
}

function checkCall(data: Record<string, unknown>, path: string): void {
  optionalString(data, 'state', path);
  optionalString(data, 'direction', path);
  optionalString(data, 'terminationReason', path);
  checkResultInfo(data['resultInfo'], path);
  const tone = data['toneInfo'];
  if (tone !== undefined && tone !== null) {
    if (!isObject(tone)) throw new DecodeError('wrong-type', `${path}.toneInfo`, 'toneInfo must be an object');
    const seq = tone['sequenceId'];
    if (seq !== undefined && seq !== null && toCode(seq) === undefined) {
      throw new DecodeError('wrong-type', `${path}.toneInfo.sequenceId`, 'sequenceId must be an integer');
    }
    optionalString(tone, 'tone', `${path}.toneInfo`);
  }
  const media = data['mediaState'];
  if (media !== undefined && media !== null && !isObject(media)) {
    throw new DecodeError('wrong-type', `${path}.mediaState`, 'mediaState must be an object');
  }
}

// Paths are only built for an error: `index` (when given) is the item's index under `path`.
function at(path: string, index: number | undefined): string {
  return index === undefined ? path : `${path}[${index}]`;
}

/** Checks each participant of a collection (`forEach` order: holes are skipped). */
function checkParticipants(items: readonly unknown[], path: string): void {
  for (let i = 0; i < items.length; i++) {
    if (i in items) checkParticipant(items[i], path, i);
  }
}

/**
 * Delta roster (beta `deltaParticipants`): a `sequenceNumber` and the `participants` that
 * changed since the last roster update, instead of the participants themselves.
 */
function checkDeltaRoster(items: readonly unknown[], path: string, single: boolean): void {
  for (let i = 0; i < items.length; i++) {
    const delta = items[i];
    const at = single ? path : `${path}[${i}]`;
    if (!isObject(delta)) throw new DecodeError('not-an-object', at, 'a deltaParticipants must be an object');
    const seq = delta['sequenceNumber'];
    if (seq !== undefined && seq !== null && toCode(seq) === undefined) {
      throw new DecodeError('wrong-type', `${at}.sequenceNumber`, 'sequenceNumber must be an integer');
    }
    const people = delta['participants'];
    if (people === undefined || people === null) continue;
    if (!Array.isArray(people)) throw new DecodeError('wrong-type', `${at}.participants`, 'participants must be an array');
    checkParticipants(collection(people, `${at}.participants`), `${at}.participants`);
  }
}

function checkParticipant(value: unknown, path: string, index: number): void {
  if (!isObject(value)) throw new DecodeError('not-an-object', at(path, index), 'a participant must be an object');
  const id = value['id'];
  if (id !== undefined && id !== null && typeof id !== 'string')
    throw new DecodeError('wrong-type', `${at(path, index)}.id`, 'participant id must be a string');
  if (participantKey(value) === undefined) {
    throw new DecodeError('missing-field', `${at(path, index)}.id`, 'a participant needs an id (or an identity with one)');
  }
  checkParticipantFields(value, path, index);
}

function checkParticipantFields(value: Record<string, unknown>, path: string, index?: number): void {
  optionalBoolean(value, 'isInLobby', path, index);
  optionalBoolean(value, 'isMuted', path, index);
  const seq = value['rosterSequenceNumber'];
  if (seq !== undefined && seq !== null && toCode(seq) === undefined) {
    throw new DecodeError('wrong-type', `${at(path, index)}.rosterSequenceNumber`, 'rosterSequenceNumber must be an integer');
  }
  const streams = value['mediaStreams'];
  if (streams !== undefined && streams !== null && !Array.isArray(streams)) {
    throw new DecodeError('wrong-type', `${at(path, index)}.mediaStreams`, 'mediaStreams must be an array');
  }
}

/** Checks `resultInfo` of the resource at `path`. */
function checkResultInfo(value: unknown, path: string): void {
  if (value === undefined || value === null) return;
  if (!isObject(value)) throw new DecodeError('wrong-type', `${path}.resultInfo`, 'resultInfo must be an object');
  checkCode(value, 'code', path);
  checkCode(value, 'subcode', path);
}

function checkCode(info: JsonObject, key: 'code' | 'subcode', path: string): void {
  const code = info[key];
  if (code !== undefined && code !== null && toCode(code) === undefined) {
    throw new DecodeError('wrong-type', `${path}.resultInfo.${key}`, `${key} must be an integer or a numeric string`);
  }
}

function optionalString(obj: Record<string, unknown>, key: string, path: string): void {
  const v = obj[key];
  if (v !== undefined && v !== null && typeof v !== 'string') {
    throw new DecodeError('wrong-type', `${path}.${key}`, `${key} must be a string`);
  }
}

function optionalBoolean(obj: Record<string, unknown>, key: string, path: string, index?: number): void {
  const v = obj[key];
  if (v !== undefined && v !== null && typeof v !== 'boolean') {
    throw new DecodeError('wrong-type', `${at(path, index)}.${key}`, `${key} must be a boolean`);
  }
}

const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype']);

/** `FORBIDDEN.has(key)`, without the lookup for the keys that cannot be (most of them). */
function isForbidden(key: string): boolean {
  const n = key.length;
  return (n === 9 || n === 11) && FORBIDDEN.has(key);
}

/**
 * Checks a value that is not hashed (everything but the resource data): `scan` without a
 * hash, with the path only built for an error. `key` is the value's own key under `parent`.
 */
function check(value: unknown, parent: string, key: string, depth: number): void {
  if (isForbidden(key) || (typeof value === 'object' && value !== null ? !walk(value, depth, false) : !isStorablePrimitive(value))) {
    scan(value, `${parent}.${key}`, depth, null, key); // throws, naming the path
  }
}

/**
 * Whether the log can keep a primitive exactly: JSON has no `Infinity` or `NaN` (`1e400`
 * parses as `Infinity` and would read back as `null` after a restart), and no bigint,
 * function or symbol. (`-0` is kept too, as `0`: decode writes it so, see `walk`.)
 */
function isStorablePrimitive(value: unknown): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
    case 'undefined':
      return true;
    case 'number':
      return value - value === 0;
    default:
      return value === null;
  }
}

/**
 * Walks a notification's resource data as `scan` with a hash does (checks keys and depth,
 * freezes what it walked) and returns the entry id from the content hash (`n:` and 14 hex
 * digits). The walk keeps no paths: where it finds a problem, `scan` walks again from the
 * top to throw, naming it.
 */
function walkResourceData(data: unknown, changeType: ChangeType, callId: string, path: string): string {
  h1 = HASH_SEED_1;
  h2 = HASH_SEED_2;
  feed(changeType);
  feedChar(124); // |
  feed(callId);
  feedChar(124);
  if (typeof data !== 'object' || data === null) feedPrimitive(data);
  else if (!walk(data, 3, true)) {
    const hash = hashStart();
    hashFeed(hash, `${changeType}|${callId}|`);
    scan(data, `${path}.resourceData`, 3, hash, 'resourceData'); // throws, naming the path
    return hashEndNotificationId(hash);
  }
  return hashEndNotificationId({ h1, h2 });
}

// The running hash of `walk` (hash53's state, as `hashStart()` seeds it); a walk is synchronous.
const HASH_SEED_1 = hashStart().h1;
const HASH_SEED_2 = hashStart().h2;
let h1 = 0;
let h2 = 0;

function feed(text: string): void {
  let a = h1;
  let b = h2;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    a = Math.imul(a ^ ch, 2654435761);
    b = Math.imul(b ^ ch, 1597334677);
  }
  h1 = a;
  h2 = b;
}

function feedChar(ch: number): void {
  h1 = Math.imul(h1 ^ ch, 2654435761);
  h2 = Math.imul(h2 ^ ch, 1597334677);
}

/** What `scan` feeds for a primitive: a string with a leading quote, anything else as `String` gives it. */
function feedPrimitive(value: unknown): void {
  if (typeof value === 'string') {
    feedChar(34); // "
    feed(value);
  } else if (value === true) feed('true');
  else if (value === false) feed('false');
  else if (value === null) feed('null');
  else feed(String(value));
}

/**
 * `scan` of an object or array without paths: false where `scan` would throw. With `hashing`,
 * feeds the structure into the running hash and freezes each object and array after its
 * children, exactly as `scan` does (so a walk that stops early froze what `scan` would have).
 */
function walk(value: object, depth: number, hashing: boolean): boolean {
  if (depth > DECODE_LIMITS.maxDepth) return false;
  if (Array.isArray(value)) {
    if (hashing) feedChar(91); // [
    for (let i = 0; i < value.length; i++) {
      const child: unknown = value[i];
      if (typeof child === 'object' && child !== null) {
        if (!walk(child, depth + 1, hashing)) return false;
      } else if (typeof child === 'string') {
        if (hashing) feedPrimitive(child);
      } else {
        if (!isStorablePrimitive(child)) return false;
        if (child === 0 && !Object.isFrozen(value)) value[i] = 0; // -0: JSON keeps it as 0, so the log does too
        if (hashing) feedPrimitive(child);
      }
    }
    if (hashing) {
      feedChar(93); // ]
      Object.freeze(value);
    }
    return true;
  }
  if (hashing) feedChar(123); // {
  const record = value as Record<string, unknown>;
  // for-in rather than Object.keys: no array per object (this runs for every object received)
  for (const k in record) {
    if (!hasOwn.call(record, k)) continue;
    if (isForbidden(k)) return false;
    const child = record[k];
    if (hashing) feed(k);
    if (typeof child === 'object' && child !== null) {
      if (!walk(child, depth + 1, hashing)) return false;
    } else if (typeof child === 'string') {
      if (hashing) feedPrimitive(child);
    } else {
      if (!isStorablePrimitive(child)) return false;
      if (child === 0 && !Object.isFrozen(record)) record[k] = 0; // -0, as above
      if (hashing) feedPrimitive(child);
    }
  }
  if (hashing) {
    feedChar(125); // }
    Object.freeze(value);
  }
  return true;
}

/**
 * Walks a JSON value: rejects prototype-polluting keys and runaway nesting; with a hash
 * state, also feeds the value's structure into it and freezes what it walked. `key` is the
 * value's own key in its parent (checked here so the error names the key's path).
 */
function scan(value: unknown, path: string, depth: number, hash: HashState | null, key: string): void {
  if (FORBIDDEN.has(key)) throw new DecodeError('forbidden-key', path, `the key '${key}' is not allowed`);
  if (typeof value !== 'object' || value === null) {
    if (!isStorablePrimitive(value)) {
      throw new DecodeError(
        'unstorable',
        path,
        `${typeof value === 'number' ? String(value) : `a ${typeof value}`} is not a JSON value the log can keep (a number past ±1.8e308 reads as Infinity)`,
      );
    }
    if (hash) hashFeed(hash, typeof value === 'string' ? `"${value}` : String(value));
    return;
  }
  if (depth > DECODE_LIMITS.maxDepth) throw new DecodeError('too-deep', path, `nested deeper than ${DECODE_LIMITS.maxDepth} levels`);
  if (Array.isArray(value)) {
    if (hash) hashFeed(hash, '[');
    for (let i = 0; i < value.length; i++) scan(value[i], `${path}[${i}]`, depth + 1, hash, '');
    if (hash) {
      hashFeed(hash, ']');
      Object.freeze(value);
    }
    return;
  }
  if (hash) hashFeed(hash, '{');
  const record = value as Record<string, unknown>;
  for (const k of Object.keys(record)) {
    if (hash) hashFeed(hash, k);
    scan(record[k], `${path}.${k}`, depth + 1, hash, k);
  }
  if (hash) {
    hashFeed(hash, '}');
    Object.freeze(value);
  }
}
