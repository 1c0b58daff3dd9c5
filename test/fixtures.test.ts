import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeNotifications, type CallView } from '@switchboard/core';
import { deliverySchedule, exchangeToEntries, parseExchangeLog, replay } from '@switchboard/core/replay';

const DIR = join(import.meta.dirname, 'fixtures', 'graph');

function entriesOf(relative: string, alt?: string) {
  return exchangeToEntries(parseExchangeLog(readFileSync(join(DIR, relative), 'utf8')), alt === undefined ? {} : { alt });
}

function replayFile(relative: string) {
  return replay(entriesOf(relative)).calls;
}

interface Expect {
  state?: string;
  /** Ids of the participants present (instead of, or beside, their number). */
  participantIds?: string[];
  participants?: number;
  inLobby?: number;
  operations?: string[];
  tones?: string[];
  sessionsDeleted?: boolean[];
}

function check(view: CallView | undefined, want: Expect) {
  expect(view).toBeDefined();
  const v = view!;
  if (want.state) expect(v.state).toBe(want.state);
  if (want.participants !== undefined) expect(Object.keys(v.participants)).toHaveLength(want.participants);
  if (want.participantIds) expect(Object.keys(v.participants).sort()).toEqual([...want.participantIds].sort());
  if (want.inLobby !== undefined) expect(Object.values(v.participants).filter((p) => p.isInLobby).length).toBe(want.inLobby);
  if (want.operations) expect(Object.values(v.operations).map((o) => o.status)).toEqual(want.operations);
  if (want.tones) expect(v.tones.map((t) => t.tone)).toEqual(want.tones);
  if (want.sessionsDeleted) expect(Object.values(v.contentSharingSessions).map((s) => s.deleted)).toEqual(want.sessionsDeleted);
  expect(v.stale).toEqual([]);
}

// What each page or recording describes, call by call (the docs reuse and mix call ids).
const EXPECTED: Record<string, Record<string, Expect>> = {
  'recorded/sambetts-graph-calling-bots--failed-p2p.jsonl': { '6c1f5e00-76e1-4d4a-9a16-dc2b92a449dd': { state: 'terminated' } },
  'recorded/sambetts-graph-calling-bots--p2p-simpletest.jsonl': {
    '6f1f5c00-8c1b-47f1-be9d-660c501041a9': { state: 'terminated', operations: ['completed'], tones: ['tone1'] },
  },
  'recorded/sambetts-graph-calling-bots--p2p-callupdates.jsonl': {
    '701f5b00-c1c1-43ef-9bdf-3dc7ef9d3e97': { state: 'established', participants: 2 },
  },
  'recorded/sambetts-graph-calling-bots--groupcall.jsonl': {
    '631f6000-766a-4c6f-9da3-8755ebe44d19': { state: 'terminated', participants: 2 },
  },
  'docs/beta-application-post-calls--example-1-create-peer-to-peer-voip-call-with-service-hosted-media.jsonl': {
    '2e1a0b00-2db4-4022-9570-243709c565ab': { state: 'establishing' },
    '2e1a0b00-b3c5-4b0f-99b3-c133bc1e6116': { state: 'established' },
    '421f4c00-4436-4c3a-9d9a-c4924cf98e67': { sessionsDeleted: [true] },
  },
  'docs/beta-application-post-calls--example-5-join-scheduled-meeting-with-service-hosted-media.jsonl': {
    '2f1a1100-b174-40a0-aba7-0b405e01ed92': { state: 'established', participants: 2, inLobby: 0 },
  },
  'docs/beta-application-post-calls--example-10-join-channel-meeting-as-a-guest-with-service-hosted-media.jsonl': {
    '2f1a1100-726f-4705-a071-30fb8f6b568f': { participants: 1, inLobby: 1 },
  },
  'docs/v1.0-concept-cloud-communications-identifylargegalleryview--example-roster-example-with-large-gallery-view-participant.jsonl': {
    '5f201300-df95-4800-bd3a-75b0af63dd2b': { participants: 6 },
  },
  'docs/v1.0-participant-invite-zhcn2022--example-1-invite-one-participant-to-an-existing-call.jsonl': {
    'ab6233a5-20b7-4c5e-bea2-ce56c9776429': { operations: ['completed'], participants: 1 },
  },
  'docs/v1.0-participant-invite-zhcn2022--example-2-invite-multiple-participants-to-an-existing-group-call.jsonl': {
    '7531d31f-d10d-44de-802f-c569dbca451c': { participants: 2 },
  },
  'docs/v1.0-participant-invite-zhcn2022--example-3-invite-participants-to-an-existing-group-call-replacing-an-existing-peer-to-peer-call.jsonl':
    {
      'ab6233a5-20b7-4c5e-bea2-ce56c9776429': { operations: ['completed'] },
      'a7ebfb2d-871e-419c-87af-27290b22e8db': { participants: 1 },
    },
  'docs/v1.0-participant-invite-zhcn2022--example-4-invite-one-pstn-participant-to-an-existing-call.jsonl': {
    'ab6233a5-20b7-4c5e-bea2-ce56c9776429': { operations: ['completed'], participants: 1 },
  },
  'docs/v1.0-participant-invite-zhcn2022--example-5-move-one-participant-from-one-meeting-to-another.jsonl': {
    'ab6233a5-20b7-4c5e-bea2-ce56c9776429': { operations: ['completed'], participants: 1 },
  },
  // the call's notifications spell its id 57DAB8B1894C409AB240BD8BEAE78896: one call, under its
  // identity key; the content sharing notifications (no resourceData at all) name another call
  'docs/v1.0-call-answer--example-2-answer-voip-call-with-application-hosted-media.jsonl': {
    '57dab8b1-894c-409a-b240-bd8beae78896': { state: 'established' },
    '421f4c00-4436-4c3a-9d9a-c4924cf98e67': { sessionsDeleted: [true] },
  },
  // the request spells the call 57dab8b1-894c-409a-b240-bd8beae78896, the notification 57DAB8B1894C409AB240BD8BEAE78896
  'docs/v1.0-call-playprompt--example.jsonl': { '57dab8b1-894c-409a-b240-bd8beae78896': {} },
  // resourceUrl without its leading slash
  'docs/v1.0-participant-startholdmusic--example.jsonl': { 'e141b67c-90fd-455d-858b-b48a40b9cc8d': { operations: ['completed'] } },
  'docs/v1.0-participant-stopholdmusic--example.jsonl': { 'e141b67c-90fd-455d-858b-b48a40b9cc8d': { operations: ['completed'] } },
  // real traffic from public threads (see fixtures/graph/README.md)
  'threads/microsoft-graph-comms-samples-95--2019-resource-only.jsonl': {
    '441f1100-ccbf-4b11-8469-7ccb5b03d033': { state: 'establishing' },
  },
  'threads/microsoft-graph-comms-samples-632--capitalised-updated-establishing.jsonl': {
    '671f6600-14dc-4bb2-924e-24226a414f9d': { state: 'establishing' },
  },
  'threads/microsoft-graph-comms-samples-700--capitalised-established-active.jsonl': {
    '811f5c00-0e32-48ce-9f27-8d77b9892453': { state: 'established' },
  },
  'threads/microsoft-graph-comms-samples-77--2019-roster-participant-without-id.jsonl': {
    '451f0a00-ea04-4c8f-90d8-cddf1ac603d5': { participants: 1 },
  },
  'threads/microsoft-graph-docs-contrib-5241--envelope-without-odata-type.jsonl': { '821f2f00-531f-46ba-929e-c0da30b': {} },
};

// Graph pages and public threads whose calls end, or settle, in ways Graph does not say plainly
// (test/fixtures/graph/README.md names each source). Each replays to what its source says.
const ENDINGS: Record<string, Record<string, Expect>> = {
  'docs/v1.0-call-reject--example-2-reject-an-incoming-call-with-none-reason.jsonl': {
    '57dab8b1-894c-409a-b240-bd8beae78896': { state: 'terminated' },
  },
  'threads/comms-samples-725--establishing-then-terminated-500-3002.jsonl': {
    '5e1f5600-e6c7-4abb-be5b-b01b857e05ff': { state: 'terminated' },
  },
  'threads/comms-samples-632--establishing-then-terminated-500-3003.jsonl': {
    '671f6600-14dc-4bb2-924e-24226a414f9d': { state: 'terminated' },
  },
  'threads/comms-samples-433--establishing-then-terminated-400-2203.jsonl': {
    'b21f0300-1d20-4186-9778-3716efefd300': { state: 'terminated' },
  },
  'threads/comms-samples-750--a-minute-establishing-then-terminated-500-7117.jsonl': {
    'a71f5d00-4f80-4cda-9276-8512e98056c1': { state: 'terminated' },
  },
  'threads/comms-samples-742--mid-call-terminated-500-1999.jsonl': { 'b3003a80-a430-4663-93f2-22042469c49f': { state: 'terminated' } },
  'threads/graph-docs-16376--mid-call-terminated-410-301005.jsonl': { '4d1f3a00-6b0e-4f55-9a2b-2b8c3a1e5d77': { state: 'terminated' } },
  'threads/comms-samples-77--organizer-ends-meeting-roster-only-then-keepalive-404.jsonl': {
    '451f0a00-ea04-4c8f-90d8-cddf1ac603d5': { state: 'terminated', participants: 1 },
  },
  'threads/comms-samples-442--never-deleted-then-get-404.jsonl': { '452f0a00-ea04-4c8f-90d8-cddf1ac603d5': { state: 'terminated' } },
  'threads/comms-samples-795--invite-operation-deleted-without-status.jsonl': {
    '09005280-1a9b-4920-b36a-41120f8d11c9': { state: 'established', operations: ['ended'] },
  },
  'docs/beta-deltaparticipants--a-meeting-roster-as-delta-rosters.jsonl': {
    '2f1a1100-b174-40a0-aba7-0b405e01ed92': {
      state: 'established',
      participantIds: ['0d1f0f00-e0b0-4d0b-9b0b-0b0b0b0b0b0b', '6c3f1e2d-1d6a-4b52-9a4e-0f6c1e7c2b11-participant'],
      inLobby: 0,
    },
  },
  // the completed alternative (the default, first); the failed one is checked below
  'docs/v1.0-call-transfer--example-2-consultative-transfer-from-a-peer-to-peer-call.jsonl': {
    '341a0500-d4bf-4224-8b19-1581168d328b': { state: 'terminated' },
  },
};
Object.assign(EXPECTED, ENDINGS);

/** What must not depend on delivery order: each call's state, its operations' statuses, who is present, in the lobby, muted. */
function outcome(calls: Record<string, CallView>) {
  return Object.fromEntries(
    Object.entries(calls).map(([id, v]) => [
      id,
      {
        state: v.state,
        operations: Object.fromEntries(Object.entries(v.operations).map(([op, o]) => [op, o.status])),
        participants: Object.fromEntries(Object.entries(v.participants).map(([p, x]) => [p, [x.isInLobby ?? false, x.isMuted ?? false]])),
      },
    ]),
  );
}

describe('the endings Graph does not say plainly, in order and under causal shuffles with duplicates', () => {
  const SEEDS = [1, 2, 3, 4, 5, 6, 7, 8];
  for (const [file, want] of [
    ...Object.entries(ENDINGS),
    [
      'docs/v1.0-call-transfer--example-2-consultative-transfer-from-a-peer-to-peer-call.jsonl#failed',
      { '341a0500-d4bf-4224-8b19-1581168d328b': { state: 'established' } },
    ] as const,
  ]) {
    it(file, () => {
      const [path, alt] = file.split('#') as [string, string | undefined];
      const entries = entriesOf(path, alt);
      const inOrder = replay(entries).calls;
      for (const [id, expectation] of Object.entries(want)) check(inOrder[id], expectation);
      for (const seed of SEEDS) {
        const shuffled = replay(deliverySchedule(entries, { seed, shuffle: true, duplicate: 0.3 })).calls;
        expect(outcome(shuffled), `seed ${seed}`).toEqual(outcome(inOrder));
      }
    });
  }
});

describe('every fixture replays to the state its source describes', () => {
  const files = ['recorded', 'docs', 'threads'].flatMap((d) => readdirSync(join(DIR, d)).map((f) => `${d}/${f}`));

  it('has an expectation, or is a create-call page whose 201 leaves the call establishing', () => {
    for (const file of files) {
      const calls = replayFile(file);
      const want = EXPECTED[file];
      if (want) {
        for (const [id, expectation] of Object.entries(want)) check(calls[id], expectation);
      } else {
        expect(file).toMatch(/application-post-calls/);
        const views = Object.values(calls);
        expect(views.length).toBeGreaterThan(0);
        for (const v of views) check(v, { state: 'establishing' });
      }
    }
    expect(files.length).toBe(43);
  });

  it('one GUID spelled two ways is one call, shown as Graph first spelled it (call: answer and call: playPrompt pages)', () => {
    const answer = replayFile('docs/v1.0-call-answer--example-2-answer-voip-call-with-application-hosted-media.jsonl');
    expect(Object.keys(answer).sort()).toEqual(['421f4c00-4436-4c3a-9d9a-c4924cf98e67', '57dab8b1-894c-409a-b240-bd8beae78896']);
    expect(answer['57dab8b1-894c-409a-b240-bd8beae78896']!.graphId).toBe('57DAB8B1894C409AB240BD8BEAE78896');
    const prompt = replayFile('docs/v1.0-call-playprompt--example.jsonl');
    expect(Object.keys(prompt)).toEqual(['57dab8b1-894c-409a-b240-bd8beae78896']);
    // the operation too: answered as 0fe0623f-d628-..., notified as 0FE0623FD628...: one operation, settled
    const operations = Object.values(prompt['57dab8b1-894c-409a-b240-bd8beae78896']!.operations);
    expect(operations.map((op) => [op.id, op.status])).toEqual([['0fe0623f-d628-42ed-b4bd-8ac290072cc5', 'completed']]);
  });
});

describe('shapes from real traffic (public threads, see fixtures/graph/README.md)', () => {
  it("C# SDK logs' capitalised values: Updated, Established, Active (microsoft-graph-comms-samples #700)", () => {
    const view = replayFile('threads/microsoft-graph-comms-samples-700--capitalised-established-active.jsonl')[
      '811f5c00-0e32-48ce-9f27-8d77b9892453'
    ]!;
    expect(view.state).toBe('established');
    expect(view['mediaState']).toEqual({ '@odata.type': '#microsoft.graph.callMediaState', audio: 'Active' }); // passed through as sent
  });

  it('C# SDK logs: Updated, Establishing (microsoft-graph-comms-samples #632)', () => {
    expect(
      replayFile('threads/microsoft-graph-comms-samples-632--capitalised-updated-establishing.jsonl')[
        '671f6600-14dc-4bb2-924e-24226a414f9d'
      ]!.state,
    ).toBe('establishing');
  });

  it('2019 traffic with resource (/app/calls/...) and no resourceUrl (microsoft-graph-comms-samples #95)', () => {
    const view = replayFile('threads/microsoft-graph-comms-samples-95--2019-resource-only.jsonl')['441f1100-ccbf-4b11-8469-7ccb5b03d033']!;
    expect([view.state, view.graphId]).toEqual(['establishing', '441f1100-ccbf-4b11-8469-7ccb5b03d033']);
  });

  it('a 2019 roster participant with no id, keyed by its identity (microsoft-graph-comms-samples #77)', () => {
    const view = replayFile('threads/microsoft-graph-comms-samples-77--2019-roster-participant-without-id.jsonl')[
      '451f0a00-ea04-4c8f-90d8-cddf1ac603d5'
    ]!;
    expect(Object.keys(view.participants)).toEqual(['identity:application:xxxx']);
  });

  it('an envelope with no @odata.type (#odata.type keys), a created call with no resource data (microsoft-graph-docs-contrib #5241)', () => {
    const calls = replayFile('threads/microsoft-graph-docs-contrib-5241--envelope-without-odata-type.jsonl');
    expect(Object.keys(calls)).toEqual(['821f2f00-531f-46ba-929e-c0da30b']);
    expect(calls['821f2f00-531f-46ba-929e-c0da30b']!.state).toBe('pending');
  });
});

/** The `#### Notification - <what>` examples of a reference page, with their JSON bodies. */
function notificationExamples(page: string): Array<{ heading: string; body: unknown }> {
  const out: Array<{ heading: string; body: unknown }> = [];
  const re = /#+ Notification - ([^\n]+)\n[\s\S]*?```json\n([\s\S]*?)\n```/g;
  for (let m = re.exec(page); m; m = re.exec(page)) out.push({ heading: m[1]!.trim(), body: JSON.parse(m[2]!) });
  return out;
}

describe('every notification example in the create-call pages', () => {
  for (const page of ['seed-v1.0-create-call.md', 'seed-beta-create-call.md']) {
    const examples = notificationExamples(readFileSync(join(DIR, page), 'utf8'));

    it(`${page}: ${examples.length} examples decode and replay to what their heading says`, () => {
      expect(examples.length).toBeGreaterThanOrEqual(6);
      for (const { heading, body } of examples) {
        const entries = decodeNotifications(body, { receivedAt: 0 });
        const calls = replay(entries).calls;
        const view = Object.values(calls)[0]!;
        const h = heading.toLowerCase();
        if (h === 'establishing' || h === 'established') expect(view.state, heading).toBe(h);
        else if (h === 'roster') expect(Object.keys(view.participants).length, heading).toBeGreaterThan(0);
        else if (h.startsWith('content sharing')) {
          expect(Object.values(view.contentSharingSessions)[0]?.deleted, heading).toBe(h.endsWith('ended'));
        } else throw new Error(`unexpected example '${heading}'`);
      }
    });
  }

  it('the beta guest join example lands the bot in the lobby', () => {
    const examples = notificationExamples(readFileSync(join(DIR, 'seed-beta-create-call.md'), 'utf8'));
    const lobby = examples
      .filter((e) => e.heading.toLowerCase() === 'roster')
      .map((e) => replay(decodeNotifications(e.body, { receivedAt: 0 })).calls);
    const inLobby = lobby.flatMap((calls) => Object.values(calls).flatMap((v) => Object.values(v.participants))).filter((p) => p.isInLobby);
    expect(inLobby.length).toBe(1);
  });
});
