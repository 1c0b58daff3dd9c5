import { describe, expect, it } from 'vitest';
import { InMemoryEventStore, type LogEntry } from '@switchboard/core';
import { DOCUMENTED_TRANSITIONS } from '@switchboard/core/machine';
import { replay } from '@switchboard/core/replay';
import { createInspector, renderMachineSvg, renderReplayHtml, type Inspector } from '@switchboard/inspector';
import { appendAll, HOSTILE, hostileCall, rosterHeavyCall } from './support/calls.js';

const LOCAL = { remoteAddress: '127.0.0.1' };

async function get(inspector: Inspector, path: string): Promise<{ status: number; body: string; type: string | null }> {
  const res = await inspector.fetch(new Request(`http://127.0.0.1${path}`), LOCAL);
  return { status: res.status, body: await res.text(), type: res.headers.get('content-type') };
}

async function consoleOn(entries: readonly LogEntry[]): Promise<Inspector> {
  const store = new InMemoryEventStore();
  await appendAll(store, entries);
  return createInspector({ store });
}

/** Elements a page may hold; anything else came from the log unescaped. */
const ALLOWED = new Set([
  'html',
  'head',
  'meta',
  'title',
  'link',
  'script',
  'style',
  'body',
  'header',
  'main',
  'section',
  'h1',
  'h2',
  'h3',
  'p',
  'span',
  'code',
  'a',
  'dl',
  'dt',
  'dd',
  'table',
  'thead',
  'tbody',
  'tr',
  'th',
  'td',
  'ol',
  'ul',
  'li',
  'br',
  'div',
  'details',
  'summary',
  'pre',
  'figure',
  'figcaption',
  'form',
  'label',
  'select',
  'option',
  'input',
  'button',
  'svg',
  'g',
  'rect',
  'path',
  'text',
]);
/** Every tag with its quoted attribute values blanked: what is left is markup the page wrote. */
const tagsBare = (html: string) => [...html.matchAll(/<[a-z][^>]*>/gi)].map((m) => m[0].replace(/"[^"]*"/g, '""'));
const tagsOf = (html: string) => [...html.matchAll(/<\/?([A-Za-z][A-Za-z0-9-]*)/g)].map((m) => m[1]!.toLowerCase());

/** Checks a page holds no markup from the log: only known elements, one script (the console's own, by src), no handlers. */
function expectInert(html: string): void {
  for (const tag of tagsOf(html)) expect(ALLOWED.has(tag), `unexpected <${tag}>`).toBe(true);
  const scripts = [...html.matchAll(/<script\b[^>]*>/g)].map((m) => m[0]);
  expect(
    scripts.every((s) => /^<script src="(?:\.\.\/)?assets\/inspector\.js" defer>$/.test(s)),
    scripts.join(' '),
  ).toBe(true);
  // no element from the log, no event handler or script URL in any tag (the log's text, escaped, may say anything)
  expect(html).not.toMatch(/<img|<svg onload/i);
  for (const tag of tagsBare(html)) expect(tag, tag).not.toMatch(/\son[a-z]+=|javascript:|'/i);
  for (const value of html.matchAll(/\s(?:href|src)="([^"]*)"/g)) expect(value[1]).not.toMatch(/^\s*javascript:/i);
  // every attribute value is quoted and holds no raw quote or angle bracket from the log
  expect(html).not.toMatch(/<[a-z]+[^>]*="[^"]*<[^>]*>/i);
}

describe('the console with hostile content', () => {
  const entries = hostileCall();

  it('escapes ids, names, states, operations and Graph answers on the list and the call page', async () => {
    const inspector = await consoleOn(entries);
    const list = await get(inspector, '/');
    expect(list.status).toBe(200);
    expectInert(list.body);
    expect(list.body).toContain('&quot;&gt;&lt;img src=x onerror=alert(1)&gt;&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(list.body).toContain('&lt;/td&gt;&lt;/tr&gt;&lt;/table&gt;&lt;script&gt;alert(2)&lt;/script&gt;');
    // the link to the call carries the id percent-encoded
    expect(list.body).toContain(`href="calls/${encodeURIComponent(HOSTILE.callId).replace(/'/g, '&#39;')}"`);

    const page = await get(inspector, `/calls/${encodeURIComponent(HOSTILE.callId)}`);
    expect(page.status).toBe(200);
    expectInert(page.body);
    for (const text of Object.values(HOSTILE)) {
      const escaped = text
        .replace(/&/g, '&amp;')
        .replace(/</g, '&lt;')
        .replace(/>/g, '&gt;')
        .replace(/"/g, '&quot;')
        .replace(/'/g, '&#39;');
      expect(page.body, text).toContain(escaped);
    }
    expect(page.body).toMatch(/<tr class="stale">/);
    // the fragment the live update swaps in is as inert
    const fragment = await get(inspector, `/calls/${encodeURIComponent(HOSTILE.callId)}?fragment=1`);
    expectInert(fragment.body);
    await inspector.close();
  });

  it('serves an entry and the exchange log as data, never as a page', async () => {
    const inspector = await consoleOn(entries);
    const json = await get(inspector, `/calls/${encodeURIComponent(HOSTILE.callId)}/entries/4.json`);
    expect(json.type).toBe('application/json; charset=utf-8');
    expect(JSON.parse(json.body)).toMatchObject({ kind: 'notification', position: 4 });
    const log = await get(inspector, `/calls/${encodeURIComponent(HOSTILE.callId)}/exchange.jsonl`);
    expect(log.type).toBe('application/x-ndjson; charset=utf-8');
    expect(
      log.body
        .trim()
        .split('\n')
        .every((line) => typeof JSON.parse(line).kind === 'string'),
    ).toBe(true);
    await inspector.close();
  });

  it('replay --html of the same call is as inert', () => {
    const html = renderReplayHtml(replay(entries), { logName: HOSTILE.name, entries });
    for (const tag of tagsOf(html)) expect(ALLOWED.has(tag) && tag !== 'script' && tag !== 'link', `unexpected <${tag}>`).toBe(true);
    expect(html).not.toMatch(/<img/i);
    for (const tag of tagsBare(html)) expect(tag, tag).not.toMatch(/\son[a-z]+=/i);
  });
});

describe('a call with 1,000 roster changes', () => {
  const BOUND = 256 * 1024;

  it('gives a call page under 256 KiB, with the roster over time and the latest entries', async () => {
    const entries = rosterHeavyCall('roster-1000', 1_000);
    const inspector = await consoleOn(entries);
    const page = await get(inspector, '/calls/roster-1000');
    expect(page.status).toBe(200);
    expect(page.body.length).toBeLessThan(BOUND);
    expect(page.body).toContain('<figure class="roster-chart">');
    expect(page.body).toMatch(/entries 754-1,003 of 1,003/);
    expect(page.body).toContain('final roster: 11 present');
    // earlier entries are a link away
    const first = await get(inspector, '/calls/roster-1000?from=0');
    expect(first.body).toMatch(/entries 1-250 of 1,003/);
    expect(first.body).toContain('entered lobby');
    await inspector.close();
  });

  it('stays under the same bound at 3,000 changes: the page shows a window of the log', async () => {
    const inspector = await consoleOn(rosterHeavyCall('roster-3000', 3_000));
    const page = await get(inspector, '/calls/roster-3000');
    expect(page.body).toMatch(/entries 2,754-3,003 of 3,003/);
    expect(page.body.length).toBeLessThan(BOUND);
    await inspector.close();
  });

  it('gives replay --html a page that grows with the log, under 1 KiB an entry', () => {
    const entries = rosterHeavyCall('roster-1000', 1_000);
    const html = renderReplayHtml(replay(entries), { logName: 'roster.jsonl', entries });
    expect(html.length).toBeLessThan(entries.length * 1024);
    expect(html.match(/<tr class="r-/g)?.length).toBeGreaterThanOrEqual(1_000);
  });
});

describe('the machine picture', () => {
  const t = (step: number, from: string, to: string) => ({ step, from, to, summary: '', entryId: `e${step}` }) as never;

  it('draws every documented transition, and the path over it', () => {
    const svg = renderMachineSvg({
      transitions: [
        t(1, 'pending', 'incoming'),
        t(2, 'incoming', 'establishing'),
        t(5, 'establishing', 'established'),
        t(9, 'established', 'terminated'),
      ],
      final: 'terminated',
    });
    const documented = Object.entries(DOCUMENTED_TRANSITIONS).flatMap(([from, tos]) => tos.map((to) => `${from}>${to}`));
    const drawn = [...svg.matchAll(/data-from="(\w+)" data-to="(\w+)"/g)].map((m) => `${m[1]}>${m[2]}`);
    for (const edge of documented) expect(drawn, edge).toContain(edge);
    const visited = [...svg.matchAll(/<g class="m-node[^"]*visited[^"]*" data-state="(\w+)"/g)].map((m) => m[1]);
    expect(visited.sort()).toEqual(['established', 'establishing', 'incoming', 'pending', 'terminated']);
    expect(svg).toMatch(/<g class="m-node visited final" data-state="terminated">/);
    expect(svg).toMatch(/<g class="m-taken" data-from="incoming" data-to="establishing" data-count="1">/);
  });

  it('marks a move the table has no direct edge for, and keeps its size when a call goes round many times', () => {
    const skip = renderMachineSvg({ transitions: [t(1, 'pending', 'incoming'), t(2, 'incoming', 'established')], final: 'established' });
    expect(skip).toMatch(/<g class="m-taken skipped" data-from="incoming" data-to="established"/);
    const few = renderMachineSvg({
      transitions: [t(1, 'pending', 'established'), t(2, 'established', 'hold'), t(3, 'hold', 'established')],
      final: 'established',
    });
    const many: ReturnType<typeof t>[] = [t(1, 'pending', 'established')];
    for (let i = 0; i < 500; i++) many.push(t(2 + 2 * i, 'established', 'hold'), t(3 + 2 * i, 'hold', 'established'));
    const round = renderMachineSvg({ transitions: many, final: 'established' });
    expect(round).toContain('data-count="500"');
    expect(round.length).toBeLessThan(few.length + 200);
  });
});
