import type { ChangeType, StoredEntry, TimerEntry } from '../log/entries.js';
import { isObject, odataTypeName, participantKey, toCode, type JsonObject } from '../util/graph.js';
import type { CallContext, OperationStatus, RosterMode, StaleReason } from './context.js';
import type { ContextEdit } from './draft.js';
import { hasOwn } from '../util/object.js';
import { canonicalId } from '../util/ids.js';
import { isRepeatId } from './repeats.js';

/**
 * The reducers behind the machine's actions. Each takes a copy-on-write edit of the call
 * context (`ContextEdit`: read `next`, write through its methods) and one entry's data; none reads a clock or does I/O. Ordering rules live here: the roster
 * by `rosterSequenceNumber` with tombstones, the operation lattice, content-sharing sessions
 * whose deletion absorbs, tones by `sequenceId`.
 */

type Ctx = ContextEdit<CallContext>;

/**
 * Reads a participant as it was before this entry. Participants are replaced whole, never
 * edited in place, and each is written at most once per entry, after it is read: the base
 * is current.
 */
function peekParticipant(ctx: Ctx, id: string): CallContext['participants'][string] | undefined {
  const participants = ctx.base.participants;
  return hasOwn.call(participants, id) ? participants[id] : undefined;
}

// Relationships and fields with their own rules never land in `props`.
const NOT_PROPS = new Set([
  '@odata.type',
  'id',
  'state',
  'toneInfo',
  'participants',
  'operations',
  'contentSharingSessions',
  'audioRoutingGroups',
]);

/**
 * Merges a call resource's properties. `overwrite` applies them (the notification moved the
 * call or kept its rank); `fill` only adds properties the view lacks, so a stale notification
 * still completes the record without undoing anything newer, whatever the arrival order.
 */
export function mergeCallProps(ctx: Ctx, data: JsonObject, mode: 'overwrite' | 'fill'): void {
  for (const key in data) {
    if (!hasOwn.call(data, key) || NOT_PROPS.has(key)) continue;
    const value = data[key];
    if (value === undefined) continue;
    if (mode === 'fill' && hasOwn.call(ctx.next.props, key)) continue;
    ctx.set('props', key, value);
  }
}

export function recordStale(ctx: Ctx, entry: StoredEntry, reason: StaleReason, detail: string): void {
  ctx.push('stale', { position: entry.position, entryId: entry.id, reason, detail });
}

export function requestResync(ctx: Ctx, entry: StoredEntry, reason: string): void {
  if (ctx.next.resyncNeeded === null) ctx.setRoot('resyncNeeded', { reason, position: entry.position });
}

/** Adds a DTMF tone once per `sequenceId`, keeping the list ordered; `props.toneInfo` is the latest. */
export function applyTone(ctx: Ctx, data: JsonObject, entry: StoredEntry): void {
  const info = data['toneInfo'];
  if (!isObject(info)) return;
  const tone = typeof info['tone'] === 'string' ? info['tone'] : String(info['tone'] ?? '');
  const seq = toCode(info['sequenceId']) ?? null;
  const tones = ctx.next.tones;
  if (seq !== null && tones.some((t) => t.sequenceId === seq)) return;
  if (seq === null && tones.some((t) => t.sequenceId === null && t.position === entry.position)) return;
  let at = tones.length;
  if (seq !== null) {
    at = tones.findIndex((t) => t.sequenceId === null || t.sequenceId > seq);
    if (at < 0) at = tones.length;
  }
  ctx.insert('tones', at, { sequenceId: seq, tone, position: entry.position });
  // toneInfo is the raw toneInfo of the highest sequenceId, whatever order they came in.
  const props = ctx.next.props;
  const shown = isObject(props['toneInfo']) ? toCode(props['toneInfo']['sequenceId']) : undefined;
  if (seq === null ? shown === undefined : shown === undefined || seq > shown) ctx.set('props', 'toneInfo', info);
}

/** A failure `resultInfo` on an `established` call is the proof that a transfer failed. */
export function isTransferFailure(data: JsonObject): boolean {
  const info = data['resultInfo'];
  if (!isObject(info)) return false;
  const code = toCode(info['code']);
  return code !== undefined && code >= 400;
}

function seqOf(value: JsonObject): number | undefined {
  return toCode(value['rosterSequenceNumber']);
}

/**
 * Applies a roster notification. With `rosterSequenceNumber`, each participant keeps the
 * highest-numbered update and a removal beats every older update; without one, arrival order
 * decides (Graph gives nothing better). A removed participant never comes back from an
 * update that is not newer than its removal: participant ids are per join.
 *
 * In `full` roster mode an `updated` roster lists everyone present, so a participant missing
 * from a newer roster has left.
 */
export function applyRoster(ctx: Ctx, entry: StoredEntry, items: readonly JsonObject[], changeType: ChangeType, mode: RosterMode): void {
  if (items.length > 1) items = lastPerKey(items); // each participant is read from its base once per entry
  if (changeType === 'deleted') {
    for (const item of items) {
      const id = participantKey(item);
      if (id !== undefined) removeParticipant(ctx, entry, id, seqOf(item));
    }
    return;
  }
  let rosterSeq: number | undefined;
  for (const item of items) {
    const seq = seqOf(item);
    if (seq !== undefined && (rosterSeq === undefined || seq > rosterSeq)) rosterSeq = seq;
  }
  const latest = ctx.next.latestRoster;
  const newest = mode === 'full' && rosterSeq !== undefined && (latest === null || rosterSeq >= latest.rosterSequenceNumber);
  const listed = new Set<string>();
  for (const item of items) {
    const id = participantKey(item);
    if (id === undefined) continue;
    listed.add(id);
  }
  if (newest) ctx.setRoot('latestRoster', { rosterSequenceNumber: rosterSeq!, ids: [...listed] });
  for (const item of items) {
    const id = participantKey(item);
    if (id === undefined) continue;
    // An older full roster lists someone a newer one did not: they had left by then.
    if (mode === 'full' && !newest && latest !== null && rosterSeq !== undefined && !latest.ids.includes(id)) {
      if (!(id in ctx.next.participants) && !(id in ctx.next.removedParticipants)) {
        ctx.set('removedParticipants', id, { position: entry.position, rosterSequenceNumber: latest.rosterSequenceNumber });
      }
      recordStale(ctx, entry, 'older-roster', `participant ${id} was gone by roster ${latest.rosterSequenceNumber}`);
      continue;
    }
    upsertParticipant(ctx, entry, id, item);
  }
  if (mode !== 'full') return;
  for (const id of Object.keys(ctx.next.participants)) {
    if (listed.has(id)) continue;
    const current = peekParticipant(ctx, id)!;
    const currentSeq = current.rosterSequenceNumber;
    // An older sequenced roster cannot remove someone a newer one listed.
    if (rosterSeq !== undefined && currentSeq !== undefined && rosterSeq < currentSeq) continue;
    removeParticipant(ctx, entry, id, rosterSeq);
  }
}

/**
 * Applies delta rosters (beta `deltaParticipants`): each lists only the participants that
 * changed since the last roster update, under a `sequenceNumber`, which orders them as
 * `rosterSequenceNumber` orders full rosters, with the same tombstones. A `deleted` one
 * removes the participants it lists; absence from one means nothing.
 */
export function applyDeltaRoster(ctx: Ctx, entry: StoredEntry, deltas: readonly JsonObject[], changeType: ChangeType): void {
  for (const delta of deltas) {
    const seq = toCode(delta['sequenceNumber']);
    const people = delta['participants'];
    if (!Array.isArray(people)) continue;
    const items = lastPerKey(people.filter(isObject));
    for (const item of items) {
      const id = participantKey(item);
      if (id === undefined) continue;
      const at = seq ?? seqOf(item);
      if (changeType === 'deleted') removeParticipant(ctx, entry, id, at);
      else upsertParticipant(ctx, entry, id, item, at);
    }
  }
}

function lastPerKey(items: readonly JsonObject[]): readonly JsonObject[] {
  const byKey = new Map<string, JsonObject>();
  for (const item of items) byKey.set(participantKey(item) ?? `#${byKey.size}`, item);
  return byKey.size === items.length ? items : [...byKey.values()];
}

export function upsertParticipant(ctx: Ctx, entry: StoredEntry, id: string, item: JsonObject, sequence?: number): void {
  const seq = sequence ?? seqOf(item);
  const tomb = ctx.next.removedParticipants[id];
  if (tomb) {
    // Newer by sequence number; or, where neither has one, a roster repeated after a different
    // one (a repeat: see `repeatOf`), which arrival order decides (a resync is asked for).
    const newer =
      seq !== undefined && tomb.rosterSequenceNumber !== undefined
        ? seq > tomb.rosterSequenceNumber
        : seq === undefined && tomb.rosterSequenceNumber === undefined && isRepeatId(entry.id);
    if (!newer) {
      recordStale(ctx, entry, 'participant-removed', `participant ${id} was removed at position ${tomb.position}`);
      return;
    }
    ctx.delete('removedParticipants', id);
  }
  const current = peekParticipant(ctx, id);
  if (current && seq !== undefined && current.rosterSequenceNumber !== undefined && seq < current.rosterSequenceNumber) {
    recordStale(ctx, entry, 'older-roster', `participant ${id}: roster ${seq} is older than ${current.rosterSequenceNumber}`);
    return;
  }
  const next: Record<string, unknown> = current ? { ...(current as object) } : {};
  for (const key in item) {
    if (key === 'rosterSequenceNumber' || !hasOwn.call(item, key)) continue;
    next[key] = item[key];
  }
  next['id'] = id;
  if (seq !== undefined) next['rosterSequenceNumber'] = seq;
  // Admission is one-way: an unsequenced late "in lobby" cannot undo it.
  if (current?.isInLobby === false && item['isInLobby'] === true && (seq === undefined || current.rosterSequenceNumber === undefined)) {
    next['isInLobby'] = false;
  }
  ctx.set('participants', id, next as CallContext['participants'][string]);
}

export function removeParticipant(ctx: Ctx, entry: StoredEntry, id: string, seq: number | undefined): void {
  const current = peekParticipant(ctx, id);
  if (current && seq !== undefined && current.rosterSequenceNumber !== undefined && seq < current.rosterSequenceNumber) {
    recordStale(ctx, entry, 'older-roster', `removal of ${id} at roster ${seq} is older than its update ${current.rosterSequenceNumber}`);
    return;
  }
  ctx.delete('participants', id);
  const tomb = ctx.next.removedParticipants[id];
  if (tomb && (seq === undefined || (tomb.rosterSequenceNumber !== undefined && tomb.rosterSequenceNumber >= seq))) return;
  ctx.set(
    'removedParticipants',
    id,
    seq === undefined ? { position: entry.position } : { position: entry.position, rosterSequenceNumber: seq },
  );
}

// a Map: a status named like an Object.prototype member ('constructor') is no status
const STATUS = new Map<string, OperationStatus>([
  ['notstarted', 'notStarted'],
  ['running', 'running'],
  ['completed', 'completed'],
  ['failed', 'failed'],
]);
const STATUS_RANK: Record<OperationStatus, number> = { notStarted: 0, running: 1, ended: 2, completed: 3, failed: 3 };

/** `Running` and `running` are the same status; unknown values are undefined. (`ended` is never Graph's.) */
export function normalizeOperationStatus(value: unknown): OperationStatus | undefined {
  return typeof value === 'string' ? STATUS.get(value.toLowerCase()) : undefined;
}

/** The status of an operation as the view holds it (Graph's, or `ended`). */
function heldStatus(op: CallContext['operations'][string] | undefined): OperationStatus | undefined {
  return op?.status === 'ended' ? 'ended' : normalizeOperationStatus(op?.status);
}

/** Whether an operation is over: completed, failed, or ended without a status. */
export function isOperationOver(op: CallContext['operations'][string] | undefined): boolean {
  const status = heldStatus(op);
  return status === 'completed' || status === 'failed' || status === 'ended';
}

/**
 * Applies an operation update along the lattice notStarted < running < ended < completed |
 * failed. A terminal status absorbs; a second, different terminal status is a conflict the log
 * cannot decide (the first is kept and a resync is asked for). A `deleted` operation without a
 * status is `ended`: over, outcome unknown, until a status says which.
 */
export function applyOperation(ctx: Ctx, entry: StoredEntry, spelling: string, data: JsonObject, changeType?: ChangeType): void {
  let status = normalizeOperationStatus(data['status']);
  if (status === undefined && changeType === 'deleted') status = 'ended';
  // keyed by identity: Graph answers a command with one spelling of the operation's GUID and
  // notifies with another; the view keeps the spelling it first saw
  const id = canonicalId(spelling);
  const current = ctx.next.operations[id];
  const currentStatus = heldStatus(current);
  let mode: 'overwrite' | 'fill' = 'overwrite';
  if (current) {
    if (status === undefined || currentStatus === undefined) {
      mode = status === undefined && currentStatus !== undefined ? 'fill' : 'overwrite';
    } else if (status === 'ended' && STATUS_RANK[currentStatus] > STATUS_RANK[status]) {
      mode = 'fill'; // it is over, as the status already says
    } else if (STATUS_RANK[status] < STATUS_RANK[currentStatus]) {
      recordStale(ctx, entry, 'older-operation-status', `operation ${id} is already ${currentStatus}, not ${status}`);
      mode = 'fill';
    } else if (STATUS_RANK[status] === STATUS_RANK[currentStatus]) {
      if (status !== currentStatus) {
        recordStale(ctx, entry, 'conflicting-operation-status', `operation ${id} is ${currentStatus}, this says ${status}`);
        requestResync(ctx, entry, `operation ${id} reported both ${currentStatus} and ${status}`);
      }
      mode = 'fill';
    }
  }
  const next: Record<string, unknown> = current ? { ...current } : {};
  for (const key in data) {
    if (!hasOwn.call(data, key) || (mode === 'fill' && key in next)) continue;
    next[key] = data[key];
  }
  next['id'] = typeof current?.['id'] === 'string' ? current['id'] : spelling;
  if (mode === 'overwrite' && status !== undefined) next['status'] = status;
  const type = odataTypeName(data);
  if (type !== undefined && (mode === 'overwrite' || next['type'] === undefined)) next['type'] = type;
  ctx.set('operations', id, next as CallContext['operations'][string]);
}

/** Content-sharing sessions by id: created and updated upsert, deleted absorbs. */
export function applyContentSharing(
  ctx: Ctx,
  entry: StoredEntry,
  items: readonly JsonObject[],
  changeType: ChangeType,
  fallbackId: string | undefined,
): void {
  for (const item of items) {
    const id = typeof item['id'] === 'string' ? item['id'] : fallbackId;
    if (id === undefined) continue;
    const current = ctx.next.contentSharingSessions[id];
    if (changeType === 'deleted') {
      ctx.set('contentSharingSessions', id, { ...(current ?? {}), ...stripOdata(item), id, deleted: true });
      continue;
    }
    if (current?.deleted) {
      recordStale(ctx, entry, 'session-deleted', `content sharing session ${id} already ended`);
      continue;
    }
    ctx.set('contentSharingSessions', id, { ...(current ?? {}), ...stripOdata(item), id, deleted: false });
  }
}

export function applyAudioRoutingGroups(
  ctx: Ctx,
  items: readonly JsonObject[],
  changeType: ChangeType,
  fallbackId: string | undefined,
): void {
  for (const item of items) {
    const id = typeof item['id'] === 'string' ? item['id'] : fallbackId;
    if (id === undefined) continue;
    if (changeType === 'deleted') ctx.delete('audioRoutingGroups', id);
    else ctx.set('audioRoutingGroups', id, { ...(ctx.next.audioRoutingGroups[id] ?? {}), ...item, id });
  }
}

export function applyTimer(ctx: Ctx, entry: TimerEntry): void {
  ctx.set('timers', entry.timer, entry.at);
  if (entry.timer === 'operationTimeout' && entry.operationId !== undefined) {
    const id = canonicalId(entry.operationId);
    const op = ctx.next.operations[id];
    // the operation is edited in place: a copy, unless it already says so
    if (op && !isOperationOver(op) && op['timedOut'] !== true) {
      ctx.set('operations', id, { ...op, timedOut: true });
    }
  }
}

function stripOdata(item: JsonObject): JsonObject {
  if (!('@odata.type' in item)) return item;
  const { ['@odata.type']: _type, ...rest } = item;
  return rest;
}
