import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliverySchedule, exchangeToEntries, parseExchangeLog, replay, type ReplayResult } from '@switchboard/core/replay';
import { main } from '../main.js';
import { callDiagram, mermaidLabel } from './mermaid.js';
import { callPaths } from '@switchboard/inspector';

const ROOT = join(import.meta.dirname, '..', '..', '..', '..');
const RECORDED = join(ROOT, 'test/fixtures/graph/recorded');

async function run(...argv: string[]) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = await main(argv, { stdout: (t) => stdout.push(t), stderr: (t) => stderr.push(t) });
  return { code, stdout: stdout.join('\n'), stderr: stderr.join('\n') };
}

// ---------------------------------------------------------------------------------------------
// A structural check of the Mermaid subset `--mermaid` promises to emit. Every line must match
// one of these productions; anything else (a raw ':' or ';' in a label, a stray statement, a
// state id with a hyphen) fails the check.

const ID = '[A-Za-z][A-Za-z0-9_]*';
/** Label text: safe characters, or Mermaid entity codes `#<digits>;`. No raw ':', ';', '#', '<', '%', '{'. */
const LABEL = "(?:[A-Za-z0-9 _.,=/()+'!?*@-]|#\\d+;)+";
const LINE = {
  comment: /^ {4}%% [^{}\n]*$/,
  classDef: /^ {4}classDef final [a-z-]+:[^\s;]+(?:,[a-z-]+:[^\s;]+)*$/,
  declare: new RegExp(`^ {4}(${ID})$`),
  transition: new RegExp(`^ {4}(\\[\\*\\]|${ID}) --> (\\[\\*\\]|${ID})(?: : (${LABEL}))?$`),
  cls: new RegExp(`^ {4}class (${ID}) final$`),
};

interface Diagram {
  declared: string[];
  edges: { from: string; to: string; label: string | undefined }[];
  final: string;
}

/** Parses one diagram of the subset; throws on any line outside the grammar or any dangling reference. */
function parseDiagram(text: string): Diagram {
  const lines = text.split('\n');
  if (lines[0] !== 'stateDiagram-v2') throw new Error(`does not begin with stateDiagram-v2: ${lines[0]}`);
  const declared: string[] = [];
  const edges: Diagram['edges'] = [];
  let final: string | undefined;
  for (const line of lines.slice(1)) {
    let m: RegExpExecArray | null;
    if (LINE.comment.test(line) || LINE.classDef.test(line)) continue;
    if ((m = LINE.declare.exec(line))) {
      if (['class', 'classDef', 'state', 'note', 'direction'].includes(m[1]!)) throw new Error(`keyword as state: ${line}`);
      declared.push(m[1]!);
    } else if ((m = LINE.transition.exec(line))) edges.push({ from: m[1]!, to: m[2]!, label: m[3] });
    else if ((m = LINE.cls.exec(line))) {
      if (final !== undefined) throw new Error('two final states');
      final = m[1]!;
    } else throw new Error(`line outside the grammar: ${JSON.stringify(line)}`);
  }
  for (const e of edges) {
    for (const s of [e.from, e.to]) if (s !== '[*]' && !declared.includes(s)) throw new Error(`undeclared state ${s}`);
  }
  if (final === undefined || !declared.includes(final)) throw new Error('no declared final state');
  if (edges.filter((e) => e.from === '[*]').length !== 1) throw new Error('not exactly one start');
  const ends = edges.filter((e) => e.to === '[*]');
  if (ends.length > (final === 'terminated' ? 1 : 0) || (final === 'terminated' && ends[0]?.from !== 'terminated')) {
    throw new Error('--> [*] must end exactly the terminated state');
  }
  return { declared, edges, final };
}

/** The ordered (step, from, to) list the diagram's labels spell out; `[*]` reads as `pending`. */
function stepsOf(d: Diagram): [number, string, string][] {
  const steps: [number, string, string][] = [];
  for (const e of d.edges) {
    if (e.to === '[*]' || e.label === undefined) continue;
    for (const m of e.label.matchAll(/(?:^| \/ )(\d+(?:, \d+)*)\. /g)) {
      for (const n of m[1]!.split(', ')) steps.push([Number(n), e.from === '[*]' ? 'pending' : e.from, e.to]);
    }
    const count = /\(x(\d+)\)$/.exec(e.label);
    const taken = steps.filter(([, f, t]) => (e.from === '[*]' ? 'pending' : e.from) === f && e.to === t).length;
    if (count ? Number(count[1]) !== taken : taken !== 1) throw new Error(`count in '${e.label}' does not match its steps`);
  }
  return steps.sort((a, b) => a[0] - b[0]);
}

/** What the replay says, computed here straight from the timeline. */
function expectedSteps(result: ReplayResult, callId: string): [number, string, string][] {
  return result.timeline
    .filter((r) => r.callId === callId && !r.duplicate && r.before !== r.after)
    .map((r) => [r.index + 1, r.before, r.after]);
}

/** Undoes mermaidLabel's entity codes. */
function decodeEntities(label: string): string {
  return label.replace(/#(\d+);/g, (_, n: string) => String.fromCodePoint(Number(n)));
}

function diagramsOf(stdout: string): string[] {
  return stdout.split(/\n\n(?=stateDiagram-v2\n)/);
}

const fixtures = (await readdir(RECORDED)).filter((f) => f.endsWith('.jsonl')).sort();

describe('replay --mermaid on the recorded fixtures', () => {
  it('finds the fixtures', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(4);
  });

  for (const name of fixtures) {
    it(`${name}: one well-formed state diagram per call, tracing the replay's states in order`, async () => {
      const file = join(RECORDED, name);
      const r = await run('replay', file, '--mermaid');
      expect(r.code).toBe(0);
      expect(r.stdout.startsWith('stateDiagram-v2\n')).toBe(true);
      const result = replay(exchangeToEntries(parseExchangeLog(await readFile(file, 'utf8'))));
      const ids = Object.keys(result.calls);
      const diagrams = diagramsOf(r.stdout);
      expect(diagrams).toHaveLength(ids.length);
      diagrams.forEach((text, i) => {
        const callId = ids[i]!;
        const d = parseDiagram(text);
        const final = result.calls[callId]!.state;
        expect(d.final).toBe(final);
        expect(d.declared).toContain(final);
        expect(text).toContain(`%% call ${callId}: final state ${final}`);
        expect(stepsOf(d)).toEqual(expectedSteps(result, callId));
        expect(text.includes('terminated --> [*]')).toBe(final === 'terminated');
      });
    });
  }

  it('prints the simple P2P call exactly', async () => {
    const r = await run('replay', join(RECORDED, 'sambetts-graph-calling-bots--p2p-simpletest.jsonl'), '--mermaid');
    expect(r.stdout).toBe(
      [
        'stateDiagram-v2',
        '    %% call 6f1f5c00-8c1b-47f1-be9d-660c501041a9: final state terminated, 6 entries',
        '    classDef final font-weight:bold,stroke-width:3px',
        '    establishing',
        '    established',
        '    terminated',
        '    [*] --> establishing : 1. updated call state=establishing',
        '    establishing --> established : 2. updated call state=established',
        '    established --> terminated : 6. deleted call state=terminated',
        '    terminated --> [*]',
        '    class terminated final',
      ].join('\n'),
    );
    expect(r.stderr).toBe('');
  });

  it('a call that is still up has no end transition', async () => {
    const r = await run('replay', join(RECORDED, 'sambetts-graph-calling-bots--p2p-callupdates.jsonl'), '--mermaid');
    const d = parseDiagram(r.stdout);
    expect(d.final).toBe('established');
    expect(d.edges.some((e) => e.to === '[*]')).toBe(false);
  });

  it('works with --shuffle and --duplicate: the path is the one taken under that delivery', async () => {
    for (const name of fixtures) {
      const file = join(RECORDED, name);
      for (const seed of [1, 2, 3]) {
        const r = await run('replay', file, '--mermaid', '--shuffle', String(seed), '--duplicate', '0.5');
        expect(r.code).toBe(0);
        const entries = deliverySchedule(exchangeToEntries(parseExchangeLog(await readFile(file, 'utf8'))), {
          seed,
          shuffle: true,
          duplicate: 0.5,
        });
        const result = replay(entries);
        diagramsOf(r.stdout).forEach((text, i) => {
          const callId = Object.keys(result.calls)[i]!;
          const d = parseDiagram(text);
          expect(d.final).toBe(result.calls[callId]!.state);
          expect(stepsOf(d)).toEqual(expectedSteps(result, callId));
        });
      }
    }
  });
});

describe('replay --mermaid on synthetic logs', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'switchboard-mermaid-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const notification = (callId: string, state: string, n: number, extra: Record<string, unknown> = {}) =>
    JSON.stringify({
      kind: 'notification',
      method: 'POST',
      path: null,
      status: null,
      ...extra,
      body: {
        value: [
          {
            changeType: state === 'terminated' ? 'deleted' : 'updated',
            resource: `/app/calls/${callId}`,
            resourceUrl: `/communications/calls/${callId}`,
            // `n` keeps otherwise equal notifications from being the same entry.
            resourceData: { '@odata.type': '#microsoft.graph.call', state, n },
          },
        ],
      },
    });

  it('a transition taken twice is drawn once, with both steps and its count', async () => {
    const states = ['establishing', 'established', 'hold', 'established', 'hold', 'established', 'terminated'];
    const file = join(dir, 'hold.jsonl');
    await writeFile(file, states.map((s, i) => notification('c1', s, i)).join('\n'));
    const r = await run('replay', file, '--mermaid');
    expect(r.code).toBe(0);
    const d = parseDiagram(r.stdout);
    expect(d.edges.map((e) => `${e.from} ${e.to} ${e.label ?? ''}`)).toEqual([
      '[*] establishing 1. updated call state=establishing',
      'establishing established 2. updated call state=established',
      'established hold 3, 5. updated call state=hold (x2)',
      'hold established 4, 6. updated call state=established (x2)',
      'established terminated 7. deleted call state=terminated',
      'terminated [*] ',
    ]);
    expect(stepsOf(d).map(([, , to]) => to)).toEqual(states.slice(0)); // every state, in order
  });

  it('stdout stays pure Mermaid: the note about alternatives goes to stderr', async () => {
    const file = join(dir, 'alt.jsonl');
    await writeFile(
      file,
      [notification('c2', 'establishing', 0, { alt: 'ok' }), notification('c2', 'terminated', 1, { alt: 'fail' })].join('\n'),
    );
    const r = await run('replay', file, '--mermaid', '--alt', 'fail');
    expect(r.code).toBe(0);
    expect(parseDiagram(r.stdout).final).toBe('terminated');
    expect(r.stderr).toContain('alternatives in this log: ok, fail (replaying fail)');
  });

  it('a call that never got a state starts and stays in pending', () => {
    const text = callDiagram({ callId: 'x', transitions: [], final: 'pending', rows: [], staleCount: 0, duplicateCount: 0 });
    const d = parseDiagram(text);
    expect(d.edges).toEqual([{ from: '[*]', to: 'pending', label: undefined }]);
    expect(d.final).toBe('pending');
  });

  it('hostile text in call ids and summaries cannot break out of its comment or label', () => {
    const hostile = 'a:b;c#d<e>f"g{h}%%{init: {"theme":"dark"}}%%\n[*] --> evil : x\r\u2028 #58; 漢 😀 -->';
    const result: ReplayResult = {
      calls: {},
      quarantined: [],
      timeline: [
        {
          index: 0,
          callId: hostile,
          entryId: 'e1',
          kind: 'notification',
          summary: hostile,
          duplicate: false,
          position: 1,
          before: 'pending',
          after: 'establishing',
          stale: [],
          events: [],
        },
        {
          index: 1,
          callId: hostile,
          entryId: 'e2',
          kind: 'notification',
          summary: 'deleted;x',
          duplicate: false,
          position: 2,
          before: 'establishing',
          after: 'terminated',
          stale: [],
          events: [],
        },
      ],
    };
    const [path] = callPaths(result);
    const text = callDiagram(path!);
    const d = parseDiagram(text); // throws on any injected line
    expect(d.declared).toEqual(['establishing', 'terminated']);
    expect(d.edges).toHaveLength(3);
    expect(text).not.toContain('evil\n');
    expect(text).not.toMatch(/%%\{/);
    // the label renders as the original text (control characters as spaces)
    const label = d.edges[0]!.label!;
    expect(decodeEntities(label)).toBe(`1. ${hostile.replace(/[\n\r\u2028]/g, ' ')}`);
    expect(d.edges[1]!.label).toBe('2. deleted#59;x');
  });

  it('mermaidLabel keeps safe text, encodes the rest, and cuts very long text', () => {
    expect(mermaidLabel('updated call state=established')).toBe('updated call state=established');
    expect(mermaidLabel('a:b')).toBe('a#58;b');
    expect(mermaidLabel('tone=tone1#6')).toBe('tone=tone1#35;6');
    expect(mermaidLabel('')).toBe('#32;');
    const long = mermaidLabel('x'.repeat(1000));
    expect(long.length).toBeLessThanOrEqual(160);
    expect(long.endsWith('...')).toBe(true);
  });

  it('--json and --mermaid are mutually exclusive (exit 2)', async () => {
    const r = await run('replay', join(RECORDED, 'sambetts-graph-calling-bots--failed-p2p.jsonl'), '--json', '--mermaid');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--json and --mermaid');
    expect(r.stdout).toBe('');
  });
});
