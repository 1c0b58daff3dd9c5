import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exchangeToEntries, parseExchangeLog, replay } from '@switchboard/core/replay';
import { main } from '../main.js';
import { escapeHtml } from './html.js';

const ROOT = join(import.meta.dirname, '..', '..', '..', '..');
const RECORDED = join(ROOT, 'test/fixtures/graph/recorded');
const SIMPLE = join(RECORDED, 'sambetts-graph-calling-bots--p2p-simpletest.jsonl');

async function run(...argv: string[]) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = await main(argv, { stdout: (t) => stdout.push(t), stderr: (t) => stderr.push(t) });
  return { code, stdout: stdout.join('\n'), stderr: stderr.join('\n') };
}

/** The only elements the page may contain: anything else came from the log unescaped. */
const ALLOWED_TAGS = new Set([
  'html',
  'head',
  'meta',
  'title',
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
  // the call machine picture and the roster chart (inline SVG, no references)
  'svg',
  'g',
  'rect',
  'path',
  'text',
]);

function tagsOf(html: string): string[] {
  return [...html.matchAll(/<\/?([A-Za-z][A-Za-z0-9-]*)/g)].map((m) => m[1]!.toLowerCase());
}

/** The `<li>` texts of each call's state path, in page order. */
function pathsOf(html: string): string[][] {
  return [...html.matchAll(/<ol class="path"[^>]*>(.*?)<\/ol>/g)].map((m) =>
    [...m[1]!.matchAll(/<li><span[^>]*>([^<]*)<\/span><\/li>/g)].map((li) => li[1]!),
  );
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'switchboard-html-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const fixtures = (await readdir(RECORDED)).filter((f) => f.endsWith('.jsonl')).sort();

describe('replay --html on the recorded fixtures', () => {
  for (const name of fixtures) {
    it(`${name}: writes a self-contained page with every call id and every state in order`, async () => {
      const file = join(RECORDED, name);
      const out = join(dir, `${name}.html`);
      const r = await run('replay', file, '--html', out);
      expect(r.code).toBe(0);
      expect(r.stderr).toBe(`wrote ${out}`);
      expect(r.stdout).toContain('calls:'); // the text timeline is still printed
      const html = await readFile(out, 'utf8');
      expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
      expect(html).toContain(escapeHtml(file));
      // self-contained: no scripts, no external resources
      expect(html).not.toMatch(/<script|<link|<img|<iframe|@import|url\(|src=|https?:\/\/[^"<\s]*"/i);
      expect(new Set(tagsOf(html)).size).toBeGreaterThan(0);
      for (const tag of tagsOf(html)) expect(ALLOWED_TAGS.has(tag), `unexpected <${tag}>`).toBe(true);

      const result = replay(exchangeToEntries(parseExchangeLog(await readFile(file, 'utf8'))));
      const ids = Object.keys(result.calls);
      for (const id of ids) expect(html).toContain(`<code>${escapeHtml(id)}</code>`);
      // the header lists every call with its final state
      for (const id of ids)
        expect(html).toMatch(new RegExp(`<code>${id}</code></a></td><td><span class="state [^"]*">${result.calls[id]!.state}</span>`));
      // each call's states, in order
      const expected = ids.map((id) => {
        const changes = result.timeline.filter((r) => r.callId === id && !r.duplicate && r.before !== r.after).map((r) => r.after);
        return changes.length > 0 ? changes : [result.calls[id]!.state];
      });
      expect(pathsOf(html)).toEqual(expected);
      // one timeline row per entry
      expect(html.match(/<tr(?: class="[^"]*")?><td>\d+<\/td><td>(?:\d+|&ndash;)<\/td><td>/g)).toHaveLength(result.timeline.length);
    });
  }

  it('shows operations with type, status and result', async () => {
    const out = join(dir, 'ops.html');
    expect((await run('replay', SIMPLE, '--html', out)).code).toBe(0);
    const html = await readFile(out, 'utf8');
    expect(html).toContain(
      '<tr><td><code>11cccef9-7eeb-4910-9189-977c0f0eae85</code></td><td>playPromptOperation</td><td>completed</td><td>200/0: Action completed successfully.; completedSuccessfully</td><td>',
    );
    expect(pathsOf(html)).toEqual([['establishing', 'established', 'terminated']]);
  });

  it('shows roster changes with participant names', async () => {
    const out = join(dir, 'roster.html');
    expect((await run('replay', join(RECORDED, 'sambetts-graph-calling-bots--groupcall.jsonl'), '--html', out)).code).toBe(0);
    const html = await readFile(out, 'utf8');
    expect(html).toMatch(/<td>joined<\/td><td><code>[^<]+<\/code><\/td><td>Sam2<\/td>/);
    expect(html).toContain('final roster: 2 present');
  });

  it('is deterministic, marks duplicates and combines with --json and --shuffle', async () => {
    const a = join(dir, 'a.html');
    const b = join(dir, 'b.html');
    const r = await run('replay', SIMPLE, '--json', '--shuffle', '2', '--duplicate', '1', '--html', a);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).calls['6f1f5c00-8c1b-47f1-be9d-660c501041a9'].state).toBe('terminated');
    await run('replay', SIMPLE, '--json', '--shuffle', '2', '--duplicate', '1', '--html', b);
    const html = await readFile(a, 'utf8');
    expect(html).toBe(await readFile(b, 'utf8'));
    expect(html).toContain('shuffled (seed 2), duplicates 1 (seed 2)');
    // each notification once more: 3 of the 6 redeliveries of the last body (dropped), 3 repeats after a different one (applied)
    expect(html.match(/<tr class="duplicate">/g)).toHaveLength(3);
    expect(html).toContain('duplicate, dropped');
  });

  it('combines with --mermaid: the page is written, stdout is the diagram', async () => {
    const out = join(dir, 'm.html');
    const r = await run('replay', SIMPLE, '--mermaid', '--html', out);
    expect(r.code).toBe(0);
    expect(r.stdout.startsWith('stateDiagram-v2\n')).toBe(true);
    expect(r.stderr).toBe(`wrote ${out}`);
    expect(await readFile(out, 'utf8')).toContain('6f1f5c00-8c1b-47f1-be9d-660c501041a9');
  });
});

describe('replay --html with a hostile log', () => {
  const callId = '<script>alert(1)</script>';
  const notification = (resource: string, changeType: string, resourceData: unknown) =>
    JSON.stringify({
      kind: 'notification',
      method: 'POST',
      path: null,
      status: null,
      body: { value: [{ changeType, resource, resourceUrl: resource, resourceData }] },
    });
  const base = `/communications/calls/${encodeURIComponent(callId)}`;
  const lines = [
    notification(base, 'updated', { '@odata.type': '#microsoft.graph.call', state: 'established' }),
    // an unknown state: recorded as stale, with the raw value in its detail
    notification(base, 'updated', { '@odata.type': '#microsoft.graph.call', state: '<img src=x onerror=alert(2)>' }),
    notification(`${base}/participants`, 'updated', [
      {
        '@odata.type': '#microsoft.graph.participant',
        id: 'p"><script>alert(3)</script>',
        info: { identity: { user: { id: 'u1', displayName: '</td></tr></table><script>alert(4)</script>' } } },
        isMuted: false,
        isInLobby: false,
      },
    ]),
    notification(`${base}/operations/${encodeURIComponent('op<b>1')}`, 'deleted', {
      '@odata.type': '#microsoft.graph.playPromptOperation',
      id: 'op<b>1',
      status: 'completed',
      resultInfo: { code: 200, subcode: 0, message: '<script>alert(5)</script>&amp;' },
    }),
  ];

  it('escapes every piece of text from the log', async () => {
    const log = join(dir, 'evil<script>alert(0)&.jsonl');
    await writeFile(log, lines.join('\n'));
    const out = join(dir, 'evil.html');
    const r = await run('replay', log, '--html', out);
    expect(r.code, r.stderr).toBe(0);
    const html = await readFile(out, 'utf8');
    // nothing hostile survives as markup
    expect(html).not.toMatch(/<script|<img|<b>|p"|<\/td><\/tr><\/table><script/i);
    for (const tag of tagsOf(html)) expect(ALLOWED_TAGS.has(tag), `unexpected <${tag}>`).toBe(true);
    // ... but all of it is there, as text
    expect(html).toContain('evil&lt;script&gt;alert(0)&amp;.jsonl'); // the log's file name
    expect(html).toContain(`<code>&lt;script&gt;alert(1)&lt;/script&gt;</code>`); // the call id
    expect(html).toContain('&lt;img src=x onerror=alert(2)&gt;'); // a stale entry's detail
    expect(html).toContain('&lt;/td&gt;&lt;/tr&gt;&lt;/table&gt;&lt;script&gt;alert(4)&lt;/script&gt;'); // a display name
    expect(html).toContain('&lt;script&gt;alert(5)&lt;/script&gt;&amp;amp;'); // an operation result
    expect(html).toContain('op&lt;b&gt;1');
    expect(html).toMatch(/<tr class="stale">/);
  });

  it('escapeHtml escapes the five characters and control characters', () => {
    expect(escapeHtml(`<a href="x" title='y'>&amp;</a>`)).toBe('&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;');
    expect(escapeHtml('a\u0000b\nc')).toBe('a\ufffdb\nc');
  });
});

describe('replay --html usage and exit codes', () => {
  it('exit 2 for an empty path or a path that would overwrite the log', async () => {
    expect((await run('replay', SIMPLE, '--html', '')).code).toBe(2);
    const same = await run('replay', SIMPLE, '--html', SIMPLE);
    expect(same.code).toBe(2);
    expect(same.stderr).toContain('would overwrite the log');
    expect(await readFile(SIMPLE, 'utf8')).toMatch(/^\{"kind"/);
    expect((await run('replay', SIMPLE, '--html')).code).toBe(2); // missing value
  });

  it('exit 3 when the page cannot be written, with nothing on stdout', async () => {
    const r = await run('replay', SIMPLE, '--html', join(dir, 'no/such/dir/out.html'));
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('cannot write');
    expect(r.stderr).toContain('ENOENT');
    expect(r.stdout).toBe('');
  });

  it('exit 3 for an unreadable log, and no page is written', async () => {
    const out = join(dir, 'never.html');
    expect((await run('replay', join(dir, 'missing.jsonl'), '--html', out)).code).toBe(3);
    await expect(readFile(out, 'utf8')).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('--help documents --mermaid, --html and their combinations', async () => {
    const r = await run('replay', '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--mermaid');
    expect(r.stdout).toContain('--html <out.html>');
    expect(r.stdout).toContain('--json and --mermaid both replace the timeline on stdout');
  });
});
