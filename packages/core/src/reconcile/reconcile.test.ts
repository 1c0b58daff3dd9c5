import { describe, expect, it } from 'vitest';
import { decodeNotifications } from '../decode/decode.js';
import type { LogEntry, StoredEntry } from '../log/entries.js';
import { replay } from '../replay/replay.js';
import {
  callStateBody,
  contentSharingBody,
  notificationBody,
  operationBody,
  participantResource,
  rosterBody,
  toneBody,
  type ParticipantSpec,
} from '../testing/scenarios.js';
import { foldEntries, startCall } from '../fold/fold.js';
import { restoreCallSnapshot, toCallSnapshot } from '../fold/snapshot.js';
import { viewOf } from '../project/view.js';
import type { CallView } from '../project/view.js';

const CALL = 'c1';

/** Given these deliveries (bodies or entries), in this order, then the call looks like ... */
function given(...deliveries: Array<Record<string, unknown> | LogEntry>): CallView {
  const entries = deliveries.flatMap((d, i) =>
    'kind' in d && typeof d['kind'] === 'string' ? [d as LogEntry] : decodeNotifications(d, { receivedAt: i }),
  );
  const view = replay(entries).calls[CALL];
  if (!view) throw new Error('no call');
  return view;
}

const failure = { resultInfo: { code: 500, subcode: 7000, message: 'transfer failed' } };

describe('call state rank', () => {
  it('applies notifications in lifecycle order', () => {
    expect(given(callStateBody(CALL, 'establishing'), callStateBody(CALL, 'established')).state).toBe('established');
  });

  it('records a notification that would move the call back as stale, and keeps its new facts', () => {
    const view = given(callStateBody(CALL, 'established'), callStateBody(CALL, 'establishing', { callChainId: 'chain' }));
    expect(view.state).toBe('established');
    expect(view.stale).toEqual([{ position: 2, entryId: expect.any(String), reason: 'lower-rank', detail: 'established -> establishing' }]);
    expect(view.callChainId).toBe('chain');
  });

  it('lets a newer notification overwrite properties, a stale one only fill gaps', () => {
    const view = given(
      callStateBody(CALL, 'established', { mediaState: { audio: 'inactive' } }),
      callStateBody(CALL, 'establishing', { mediaState: { audio: 'active' } }),
    );
    expect(view.mediaState).toEqual({ audio: 'inactive' });
  });

  it('accepts skipped states (lost notifications) along documented edges', () => {
    expect(given(callStateBody(CALL, 'incoming'), callStateBody(CALL, 'established')).state).toBe('established');
  });

  it('flags an impossible forward move and asks for a resync instead of applying it', () => {
    const view = given(callStateBody(CALL, 'establishing'), callStateBody(CALL, 'redirecting'));
    expect(view.state).toBe('establishing');
    expect(view.stale[0]?.reason).toBe('impossible-transition');
    expect(view.resyncNeeded).toEqual({ reason: 'impossible-transition: establishing -> redirecting', position: 2 });
  });

  it('treats established and hold as one rank: arrival order decides, and Graph is asked', () => {
    const held = given(callStateBody(CALL, 'established'), callStateBody(CALL, 'hold'));
    expect(held.state).toBe('hold');
    // the same two bodies the other way round look just the same: only a GET can tell
    expect(held.resyncNeeded).toEqual({ reason: "established -> hold: Graph's notifications do not order these two states", position: 2 });
    const back = given(callStateBody(CALL, 'hold'), callStateBody(CALL, 'established', { mediaState: {} }));
    expect(back.state).toBe('established');
    expect(back.resyncNeeded).not.toBeNull();
  });

  it('accepts states in any casing and keeps unknown ones as stale, never throwing', () => {
    expect(given(callStateBody(CALL, 'establishing'), notificationBody(CALL, 'updated', '', { state: 'Established' })).state).toBe(
      'established',
    );
    const view = given(callStateBody(CALL, 'established'), notificationBody(CALL, 'updated', '', { state: 'teleporting', x: 1 }));
    expect(view.state).toBe('established');
    expect(view.stale[0]?.reason).toBe('unknown-state');
    expect(view['x']).toBe(1);
  });
});

describe('terminated absorbs', () => {
  it('ignores every state after terminated', () => {
    const view = given(callStateBody(CALL, 'terminated'), callStateBody(CALL, 'established'), callStateBody(CALL, 'hold'));
    expect(view.state).toBe('terminated');
    expect(view.stale.map((s) => s.reason)).toEqual(['after-terminated', 'after-terminated']);
  });

  it('still files late sub-resource updates, which are ordered by their own rules', () => {
    const view = given(callStateBody(CALL, 'terminated'), operationBody(CALL, 'op', 'playPromptOperation', 'completed'));
    expect(view.operations['op']?.status).toBe('completed');
  });
});

describe('failed transfer', () => {
  it('returns to established on a failure resultInfo (documented backward move)', () => {
    const view = given(
      callStateBody(CALL, 'established'),
      callStateBody(CALL, 'transferring'),
      callStateBody(CALL, 'established', failure),
    );
    expect(view.state).toBe('established');
    expect(view.resultInfo).toEqual(failure.resultInfo);
  });

  it('does not return without the proof', () => {
    const view = given(callStateBody(CALL, 'transferring'), callStateBody(CALL, 'established'));
    expect(view.state).toBe('transferring');
    expect(view.stale[0]?.reason).toBe('lower-rank');
  });

  it('treats a late transferring after the failure as stale, and asks Graph', () => {
    const view = given(callStateBody(CALL, 'established', failure), callStateBody(CALL, 'transferring'));
    expect(view.state).toBe('established');
    expect(view.stale[0]?.reason).toBe('transfer-already-failed');
    expect(view.resyncNeeded?.reason).toMatch(/transfer-already-failed/);
  });

  it('lets a new transfer command open a new attempt', () => {
    const view = given(
      callStateBody(CALL, 'established', failure),
      { kind: 'command', id: 'cmd-1', callId: CALL, at: 5, command: 'transfer' },
      callStateBody(CALL, 'transferring'),
    );
    expect(view.state).toBe('transferring');
  });
});

describe('roster', () => {
  const bot = { id: 'bot', displayName: 'Bot' };
  const alice = { id: 'alice', displayName: 'Alice' };

  it('orders sequenced rosters by rosterSequenceNumber: an older roster cannot undo a newer one', () => {
    const view = given(rosterBody(CALL, [bot, { ...alice, isMuted: true }], 3), rosterBody(CALL, [bot, alice], 2));
    expect(view.participants['alice']?.isMuted).toBe(true);
    expect(view.stale.map((s) => s.reason)).toEqual(['older-roster', 'older-roster']);
  });

  it('keeps a removed participant removed when an older update arrives late (tombstone)', () => {
    const view = given(rosterBody(CALL, [bot, alice], 1), rosterBody(CALL, [bot], 3), rosterBody(CALL, [bot, alice], 2));
    expect(Object.keys(view.participants)).toEqual(['bot']);
    expect(view.removedParticipants['alice']).toEqual({ position: 2, rosterSequenceNumber: 3 });
  });

  it('knows a participant missing from a newer roster had left, even if it first hears of them later', () => {
    const view = given(rosterBody(CALL, [bot], 3), rosterBody(CALL, [bot, alice], 2));
    expect(Object.keys(view.participants)).toEqual(['bot']);
    expect(Object.keys(view.removedParticipants)).toEqual(['alice']);
  });

  it('models lobby admission as isInLobby true -> false, one way', () => {
    const view = given(
      rosterBody(CALL, [bot, { ...alice, isInLobby: true }]),
      rosterBody(CALL, [bot, { ...alice, isInLobby: false }]),
      rosterBody(CALL, [bot, { ...alice, isInLobby: true }]),
    );
    expect(view.participants['alice']?.isInLobby).toBe(false);
  });

  it('without sequence numbers, follows arrival order and never resurrects a removed id', () => {
    // (the third roster differs from the first: an identical body would be a redelivery, dropped by id)
    const view = given(rosterBody(CALL, [bot, alice]), rosterBody(CALL, [bot]), rosterBody(CALL, [bot, { ...alice, isMuted: true }]));
    expect(Object.keys(view.participants)).toEqual(['bot']);
    expect(view.stale.at(-1)?.reason).toBe('participant-removed');
  });

  it('applies deleted participant notifications as removals', () => {
    const view = given(rosterBody(CALL, [bot, alice]), notificationBody(CALL, 'deleted', 'participants', [participantResource(alice)]));
    expect(Object.keys(view.participants)).toEqual(['bot']);
  });

  it('in delta roster mode, absence from an update means nothing', () => {
    const entries = [rosterBody(CALL, [bot, alice]), rosterBody(CALL, [bot])].flatMap((b, i) => decodeNotifications(b, { receivedAt: i }));
    const view = replay(entries, { rosterMode: 'delta' }).calls[CALL]!;
    expect(Object.keys(view.participants).sort()).toEqual(['alice', 'bot']);
  });
});

describe('delta rosters (deltaParticipants, beta)', () => {
  // https://learn.microsoft.com/en-us/graph/api/resources/deltaparticipants?view=graph-rest-beta:
  // a sequenceNumber and only the participants that changed since the last roster update
  const delta = (changeType: 'updated' | 'deleted', sequenceNumber: number, people: ParticipantSpec[]) =>
    notificationBody(CALL, changeType, 'participants', {
      '@odata.type': '#microsoft.graph.deltaParticipants',
      sequenceNumber,
      participants: people.map((p) => participantResource(p)),
    });
  const bot = { id: 'bot', displayName: 'Bot' };
  const carol = { id: 'carol', displayName: 'Carol' };

  it('adds and updates the participants listed; absence means nothing', () => {
    const view = given(delta('updated', 1, [bot, carol]), delta('updated', 2, [{ ...carol, isMuted: true }]));
    expect(Object.keys(view.participants).sort()).toEqual(['bot', 'carol']);
    expect(view.participants['carol']).toMatchObject({ isMuted: true, rosterSequenceNumber: 2 });
  });

  it('orders by sequenceNumber: an older delta cannot undo a newer one', () => {
    const view = given(delta('updated', 2, [{ ...carol, isMuted: true }]), delta('updated', 1, [bot, carol]));
    expect(view.participants['carol']).toMatchObject({ isMuted: true });
    expect(view.stale.map((x) => x.reason)).toEqual(['older-roster']);
  });

  it('decodes as a roster: a bad sequenceNumber or participant is a DecodeError naming its path', () => {
    const bad = notificationBody(CALL, 'updated', 'participants', {
      '@odata.type': '#microsoft.graph.deltaParticipants',
      sequenceNumber: 'soon',
      participants: [],
    });
    expect(() => decodeNotifications(bad, { receivedAt: 0 })).toThrow(
      expect.objectContaining({ code: 'SWB_DECODE', path: '$.value[0].resourceData.sequenceNumber' }),
    );
    const nobody = notificationBody(CALL, 'updated', 'participants', [
      { '@odata.type': '#microsoft.graph.deltaParticipants', sequenceNumber: 1, participants: [{ isMuted: true }] },
    ]);
    expect(() => decodeNotifications(nobody, { receivedAt: 0 })).toThrow(
      expect.objectContaining({ path: '$.value[0].resourceData[0].participants[0].id' }),
    );
  });

  it('removes the participants of a deleted delta, a tombstone an older delta cannot undo', () => {
    const view = given(delta('deleted', 3, [carol]), delta('updated', 1, [bot, carol]));
    expect(Object.keys(view.participants)).toEqual(['bot']);
    expect(Object.keys(view.removedParticipants)).toEqual(['carol']);
    // a newer one can (a rejoin under the same id)
    expect(Object.keys(given(delta('deleted', 3, [carol]), delta('updated', 4, [carol])).participants)).toEqual(['carol']);
  });
});

describe('operations', () => {
  it('follow notStarted < running < completed | failed; terminal absorbs', () => {
    const view = given(
      operationBody(CALL, 'op', 'playPromptOperation', 'completed'),
      operationBody(CALL, 'op', 'playPromptOperation', 'running', { clientContext: 'ctx' }),
    );
    expect(view.operations['op']).toMatchObject({ status: 'completed', clientContext: 'ctx', type: 'playPromptOperation' });
    expect(view.stale[0]?.reason).toBe('older-operation-status');
  });

  it('accepts PascalCase statuses as some type packages send them', () => {
    expect(given(operationBody(CALL, 'op', 'recordOperation', 'Running')).operations['op']?.status).toBe('running');
  });

  it('keeps the first of two different terminal statuses and asks for a resync', () => {
    const view = given(
      operationBody(CALL, 'op', 'playPromptOperation', 'completed'),
      operationBody(CALL, 'op', 'playPromptOperation', 'failed'),
    );
    expect(view.operations['op']?.status).toBe('completed');
    expect(view.resyncNeeded?.reason).toMatch(/completed and failed/);
  });
});

describe('an operation Graph deletes without a status', () => {
  // microsoft-graph-comms-samples issue 795: an invite ends as `deleted` on /operations/{id}
  const deleted = (id: string, extra: Record<string, unknown> = {}) =>
    notificationBody(CALL, 'deleted', `operations/${id}`, { '@odata.type': '#microsoft.graph.inviteParticipantsOperation', id, ...extra });

  it('is over, its outcome unknown: status ended, settled', () => {
    const entries = [operationBody(CALL, 'op', 'inviteParticipantsOperation', 'running'), deleted('op')].flatMap((b, i) =>
      decodeNotifications(b, { receivedAt: i }),
    );
    const { calls, timeline } = replay(entries);
    expect(calls[CALL]!.operations['op']).toMatchObject({ id: 'op', status: 'ended', type: 'inviteParticipantsOperation' });
    expect(calls[CALL]!.stale).toEqual([]);
    expect(timeline[1]!.events.map((e) => e.type)).toEqual(['operationSettled']);
  });

  it('with no resource data at all', () => {
    const body = notificationBody(CALL, 'deleted', 'operations/op', undefined);
    delete (body['value'] as Record<string, unknown>[])[0]!['resourceData'];
    expect(given(body).operations['op']).toMatchObject({ id: 'op', status: 'ended' });
  });

  it('a known outcome, before or after it, wins', () => {
    const completed = operationBody(CALL, 'op', 'inviteParticipantsOperation', 'completed');
    expect(given(deleted('op'), completed).operations['op']?.status).toBe('completed');
    const view = given(completed, deleted('op'));
    expect(view.operations['op']?.status).toBe('completed');
    expect(view.stale).toEqual([]);
  });

  it('a late running cannot reopen it', () => {
    const view = given(deleted('op'), operationBody(CALL, 'op', 'inviteParticipantsOperation', 'running'));
    expect(view.operations['op']?.status).toBe('ended');
    expect(view.stale[0]?.reason).toBe('older-operation-status');
  });
});

describe('tones and content sharing', () => {
  it('orders tones by sequenceId, each once', () => {
    const view = given(toneBody(CALL, 2, 'tone2'), toneBody(CALL, 1, 'tone1'), toneBody(CALL, 2, 'tone2'), toneBody(CALL, 3, 'pound'));
    expect(view.tones.map((t) => [t.sequenceId, t.tone])).toEqual([
      [1, 'tone1'],
      [2, 'tone2'],
      [3, 'pound'],
    ]);
    expect(view.toneInfo).toMatchObject({ sequenceId: 3, tone: 'pound' });
  });

  it('lets a deleted content-sharing session absorb later updates', () => {
    const view = given(contentSharingBody(CALL, 'deleted', 's'), contentSharingBody(CALL, 'created', 's'));
    expect(view.contentSharingSessions['s']?.deleted).toBe(true);
    expect(view.stale[0]?.reason).toBe('session-deleted');
  });
});

describe('the end of a call', () => {
  // https://learn.microsoft.com/en-us/graph/api/call-reject (example 2, "Notification - deleted")
  const bare = { '@odata.type': '#microsoft.graph.call', '@odata.id': `/communications/calls/${CALL}` };
  const incoming = callStateBody(CALL, 'incoming', { direction: 'incoming' });

  it('a deleted call notification carrying no state ends the call', () => {
    const view = given(incoming, notificationBody(CALL, 'deleted', '', bare));
    expect(view.state).toBe('terminated');
    expect(view.stale).toEqual([]);
  });

  it('a deleted call notification with no resource data at all ends the call', () => {
    const body = notificationBody(CALL, 'deleted', '', undefined);
    delete (body['value'] as Record<string, unknown>[])[0]!['resourceData'];
    const view = given(incoming, body);
    expect(view.state).toBe('terminated');
  });

  it('a deleted call notification ends the call whatever state it names', () => {
    const view = given(callStateBody(CALL, 'established'), notificationBody(CALL, 'deleted', '', { ...bare, state: 'established' }));
    expect(view.state).toBe('terminated');
  });

  it("says why: 'deleted', or 'not-found' for a 404", () => {
    const deleted = replay(decodeNotifications(notificationBody(CALL, 'deleted', '', bare), { receivedAt: 1 })).timeline[0]!;
    expect(deleted.events.find((e) => e.type === 'stateChanged')).toMatchObject({ to: 'terminated', reason: 'deleted' });
    const gone = replay([{ kind: 'resync', id: 'rs', callId: CALL, at: 9, call: null }]).timeline[0]!;
    expect(gone.events.find((e) => e.type === 'stateChanged')).toMatchObject({ to: 'terminated', reason: 'not-found' });
  });

  for (const command of ['keepAlive', 'get', 'delete'] as const) {
    it(`a 404 to ${command} ends the call (Graph no longer knows it)`, () => {
      const view = given(callStateBody(CALL, 'established'), {
        kind: 'commandResult',
        id: 'r1',
        callId: CALL,
        at: 3,
        commandId: 'k1',
        command,
        outcome: 'failed',
        status: 404,
      });
      expect(view.state).toBe('terminated');
      expect(view.commands['k1']).toMatchObject({ outcome: 'failed', status: 404 });
    });
  }

  it('a 404 to a participant command does not end the call', () => {
    const view = given(callStateBody(CALL, 'established'), {
      kind: 'commandResult',
      id: 'r1',
      callId: CALL,
      at: 3,
      commandId: 'k1',
      command: 'muteParticipant',
      outcome: 'failed',
      status: 404,
    });
    expect(view.state).toBe('established');
  });
});

describe('resync', () => {
  it('is authoritative: sets state and roster, clears resyncNeeded', () => {
    const view = given(
      callStateBody(CALL, 'establishing'),
      callStateBody(CALL, 'redirecting'),
      rosterBody(CALL, [
        { id: 'bot', displayName: 'Bot' },
        { id: 'ghost', displayName: 'Ghost' },
      ]),
      {
        kind: 'resync',
        id: 'rs',
        callId: CALL,
        at: 9,
        call: { state: 'established', subject: 's' },
        participants: [participantResource({ id: 'bot', displayName: 'Bot' })],
      },
    );
    expect(view.state).toBe('established');
    expect(view.subject).toBe('s');
    expect(Object.keys(view.participants)).toEqual(['bot']);
    expect(view.resyncNeeded).toBeNull();
  });

  it('ends the call when Graph no longer knows it (404)', () => {
    expect(given(callStateBody(CALL, 'established'), { kind: 'resync', id: 'rs', callId: CALL, at: 9, call: null }).state).toBe(
      'terminated',
    );
  });

  it('asks for a resync after an ambiguous command result', () => {
    const view = given(callStateBody(CALL, 'incoming'), {
      kind: 'commandResult',
      id: 'r1',
      callId: CALL,
      at: 3,
      commandId: 'c1',
      command: 'answer',
      outcome: 'ambiguous',
    });
    expect(view.resyncNeeded?.reason).toMatch(/answer may or may not/);
  });
});

describe('unknown notifications', () => {
  it('are kept and listed, never thrown on', () => {
    const view = given(notificationBody(CALL, 'updated', 'somethingNew', { a: 1 }));
    expect(view.unknown).toEqual([{ position: 1, entryId: expect.any(String), reason: "unrecognised sub-resource 'somethingNew'" }]);
  });
});

describe("ids that name Object.prototype's members are ids like any other", () => {
  const bot = { id: 'bot', displayName: 'Bot' };
  const NAMES = ['toString', 'constructor', 'hasOwnProperty', 'valueOf', '__proto__'];

  for (const id of NAMES) {
    it(`a participant '${id}' joins, is listed, and leaves`, () => {
      const joined = given(rosterBody(CALL, [bot, { id, displayName: 'Odd' }]));
      expect(Object.hasOwn(joined.participants, id)).toBe(true);
      expect(joined.participants[id]?.id).toBe(id);
      expect(Object.keys(joined.removedParticipants)).toEqual([]);
      expect(joined.stale).toEqual([]);
      const left = given(rosterBody(CALL, [bot, { id, displayName: 'Odd' }]), rosterBody(CALL, [bot]));
      expect(Object.keys(left.participants)).toEqual(['bot']);
      expect(Object.keys(left.removedParticipants)).toEqual([id]);
    });
  }

  it("an operation '__proto__' is kept, and a later operation is stored as itself", () => {
    const view = given(
      operationBody(CALL, '__proto__', 'playPromptOperation', 'running'),
      operationBody(CALL, 'op-2', 'recordOperation', 'completed'),
    );
    expect(Object.keys(view.operations).sort()).toEqual(['__proto__', 'op-2']);
    expect(Object.hasOwn(view.operations, '__proto__')).toBe(true);
    // biome-ignore lint/suspicious/noProto: the id under test is '__proto__', read as an own key
    expect(view.operations['__proto__']?.status).toBe('running');
    expect(view.operations['op-2']).toMatchObject({ id: 'op-2', status: 'completed' });
    expect(Object.getPrototypeOf(view.operations['op-2'])).toBe(Object.prototype);
  });

  it("a content-sharing session '__proto__' is kept", () => {
    const view = given(contentSharingBody(CALL, 'created', '__proto__'));
    expect(Object.hasOwn(view.contentSharingSessions, '__proto__')).toBe(true);
    // biome-ignore lint/suspicious/noProto: the id under test is '__proto__', read as an own key
    expect(view.contentSharingSessions['__proto__']).toMatchObject({ id: '__proto__', deleted: false });
  });

  it('an operation status named like a prototype member is not a status', () => {
    const view = given(operationBody(CALL, 'op', 'playPromptOperation', 'constructor'));
    expect(view.operations['op']?.status).toBe('constructor');
  });

  it('a snapshot of such a call, through JSON or structuredClone, restores to the same view', () => {
    const entries = [
      rosterBody(
        CALL,
        NAMES.filter((id) => id !== 'constructor').map((id) => ({ id, displayName: id })),
      ),
      rosterBody(CALL, [bot]),
      rosterBody(CALL, [bot, { id: 'valueOf', displayName: 'back' }]),
      operationBody(CALL, '__proto__', 'playPromptOperation', 'running'),
      contentSharingBody(CALL, 'created', '__proto__'),
    ].flatMap((b, i) => decodeNotifications(b, { receivedAt: i }));
    const stored = entries.map((e, i) => ({ ...e, position: i + 1 }) as StoredEntry);
    const full = foldEntries(startCall({ callId: CALL }), stored);
    for (const copy of [(s: unknown) => JSON.parse(JSON.stringify(s)), (s: unknown) => structuredClone(s)]) {
      const restored = restoreCallSnapshot(CALL, copy(toCallSnapshot(foldEntries(startCall({ callId: CALL }), stored.slice(0, 3)))));
      expect(restored).toBeDefined();
      const resumed = foldEntries(restored!, stored.slice(3));
      expect(JSON.stringify(viewOf(resumed))).toBe(JSON.stringify(viewOf(full)));
      expect(Object.getPrototypeOf(viewOf(resumed).participants)).toBe(Object.getPrototypeOf(viewOf(full).participants));
      for (const view of [viewOf(resumed), viewOf(full)]) {
        for (const record of [view.participants, view.removedParticipants, view.operations, view.contentSharingSessions, view.commands]) {
          // biome-ignore lint/suspicious/noPrototypeBuiltins: asks whether Object.prototype is in the record's chain
          expect(Object.prototype.isPrototypeOf(record)).toBe(false);
          expect(Object.isFrozen(record)).toBe(true);
        }
      }
      expect(Object.hasOwn(viewOf(resumed).operations, '__proto__')).toBe(true);
      // and a later participant named like a prototype member still joins after the restore
      const later = foldEntries(
        resumed,
        decodeNotifications(rosterBody(CALL, [bot, { id: 'constructor', displayName: 'later' }], 9), { receivedAt: 9 }).map(
          (e) => ({ ...e, position: 99 }) as StoredEntry,
        ),
      );
      expect(viewOf(later).participants['constructor']?.id).toBe('constructor');
    }
  });
});
