// tier: e2e (Chromium)
/**
 * `switchboard inspect` in a real browser (headless Chromium), against the runtime fed by the
 * simulator: the console reads the runtime's SQLite log through a second store opened
 * read-only, as `switchboard inspect --store sqlite:...` does.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { InMemoryEventStore } from '@switchboard/core';
import { SqliteEventStore } from '@switchboard/adapters';
import { createSwitchboard, type Call, type GraphPort, type Switchboard } from '@switchboard/runtime';
import { main } from '@switchboard/cli';
import { createInspector, type Inspector } from '@switchboard/inspector';
import { createSimulator, type Simulator } from '@switchboard/simulator';
import { createGraphClient } from '@switchboard/transport';
import { startWebhook } from './support/bot.js';
import { ARTIFACTS, launchChromium } from './support/browser.js';
import { appendAll, HOSTILE, hostileCall, rosterHeavyCall } from './support/calls.js';

const APP = { appId: 'b0t00000-0000-4000-8000-0000000000b8', tenantId: 'tenant-1', clientSecret: 'secret-1' };
const SCALE = 0.05;
const SERVICE_MEDIA = { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' } as const;
const prompt = {
  '@odata.type': '#microsoft.graph.mediaPrompt',
  mediaInfo: { uri: 'https://cdn.contoso.com/hello.wav', resourceId: 'hello' },
};

function graphPort(url: string): GraphPort {
  return createGraphClient({
    baseUrl: url,
    auth: { tenantId: APP.tenantId, clientId: APP.appId, clientSecret: APP.clientSecret, authorityHost: url },
    allowInsecureCallback: true,
  });
}

async function serve(inspector: Inspector): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => void inspector.node(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Marks the page's window: the mark survives a live update, a reload or a navigation drops it. */
async function mark(page: Page): Promise<void> {
  await page.evaluate(() => ((globalThis as unknown as { __sameDocument: boolean }).__sameDocument = true));
}
async function sameDocument(page: Page): Promise<boolean> {
  return page.evaluate(() => (globalThis as unknown as { __sameDocument?: boolean }).__sameDocument === true);
}

let browser: Browser;
beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});

describe('the console in Chromium, against the runtime and the simulator', () => {
  let dir: string;
  let sim: Simulator;
  let sw: Switchboard;
  let writer: SqliteEventStore;
  let reader: SqliteEventStore;
  let webhook: { url: string; close(): Promise<void> };
  let inspector: Inspector;
  let site: { url: string; close(): Promise<void> };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'swb-inspect-browser-'));
    const path = join(dir, 'calls.db');
    writer = new SqliteEventStore({ path });
    webhook = await startWebhook((d) => sw.sink(d), { appId: APP.appId, simulatorUrl: () => sim.url });
    // an incoming call rings for 10 minutes of Graph time (30 s here): the test answers it
    sim = createSimulator({
      apps: [{ ...APP, callbackUri: webhook.url }],
      seed: 18,
      timeScale: SCALE,
      timings: { incomingAnswerMs: 600_000 },
    });
    const { url } = await sim.start();
    sw = createSwitchboard({
      graph: graphPort(url),
      store: writer,
      answerDeadlineMs: 60_000,
      onAnswerDeadline: { action: 'none' },
      operationTimeoutMs: 10_000,
    });
    reader = new SqliteEventStore({ path, readOnly: true });
    inspector = createInspector({ store: reader, title: 'the runtime under test', pollMs: 50 });
    site = await serve(inspector);
  });

  afterAll(async () => {
    await inspector?.close();
    await site?.close();
    await sw?.stop();
    await sim?.stop();
    await webhook?.close();
    await reader?.close();
    await writer?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows a call appear and change state live, draws its path, and downloads it for replay', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const dialogs: string[] = [];
    page.on('dialog', (d) => void d.dismiss().then(() => dialogs.push(d.message())));
    await page.goto(site.url);
    await page.waitForSelector('#live.on'); // the event stream is open
    await expect(page.textContent('#no-live')).resolves.toBe('no live calls');
    await mark(page);

    // a call comes in: its row appears, ringing, without a reload
    const incoming = new Promise<Call>((resolve) => sw.once('incomingCall', (call) => resolve(call)));
    const { callId } = sim.placeIncomingCall({ appId: APP.appId, from: '+14255550188' });
    const call = await incoming;
    expect(call.id).toBe(callId);
    const row = `#live-calls tr[data-call="${callId}"]`;
    await page.waitForSelector(`${row}[data-state="incoming"]`, { timeout: 15_000 });
    expect(await page.textContent(`${row} td:nth-child(4)`)).toBe('+14255550188');
    expect(await sameDocument(page)).toBe(true);

    // the bot answers: the row moves to established, still the same document
    await call.answer({ callbackUri: webhook.url, acceptedModalities: ['audio'], mediaConfig: SERVICE_MEDIA });
    await call.waitFor('established', { timeoutMs: 10_000 });
    await page.waitForSelector(`${row}[data-state="established"]`, { timeout: 15_000 });
    expect(await sameDocument(page)).toBe(true);
    await page.screenshot({ path: join(ARTIFACTS, 'inspector-list.png'), fullPage: true });

    // the call's page: it follows the call while the bot plays a prompt and hangs up
    await page.click(`${row} a`);
    await page.waitForSelector(`section.call[data-call="${callId}"][data-state="established"]`);
    await page.waitForSelector('#live.on');
    await mark(page);
    const op = await call.playPrompt({ prompts: [prompt], clientContext: 'hello' });
    await op.completed;
    await page.waitForFunction(
      () =>
        (globalThis as unknown as { document: { querySelector(s: string): { textContent: string | null } | null } }).document
          .querySelector('table.operations')
          ?.textContent?.includes('completed') === true,
      undefined,
      { timeout: 15_000 },
    );
    await call.hangUp();
    await call.waitFor('terminated', { timeoutMs: 10_000 });
    await page.waitForSelector(`section.call[data-state="terminated"]`, { timeout: 15_000 });
    expect(await sameDocument(page)).toBe(true);

    // the picture shows every state the call passed, and the edges it took
    const visited = await page.$$eval('svg.machine g.m-node.visited', (nodes) => nodes.map((n) => n.getAttribute('data-state')));
    expect(visited.sort()).toEqual(['established', 'establishing', 'incoming', 'pending', 'terminated']);
    const path = await page.$$eval('ol.path li', (items) => items.map((li) => li.textContent));
    expect(path).toEqual(['incoming', 'establishing', 'established', 'terminated']);
    const edges = await page.$$eval('svg.machine g.m-taken', (gs) =>
      gs.map((g) => `${g.getAttribute('data-from')}>${g.getAttribute('data-to')}`),
    );
    expect(edges).toEqual(['pending>incoming', 'incoming>establishing', 'establishing>established', 'established>terminated']);
    // the picture is drawn: it has a size on the screen
    const box = await page.locator('svg.machine').boundingBox();
    expect(box!.width).toBeGreaterThan(600);
    expect(box!.height).toBeGreaterThan(100);
    expect(await page.textContent('table.commands')).toContain('playPrompt');
    await page.screenshot({ path: join(ARTIFACTS, 'inspector-call.png'), fullPage: true });

    // the download is an exchange log replay reads, to the same end
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('a.button[download]')]);
    const saved = join(dir, 'download.jsonl');
    await download.saveAs(saved);
    expect(readFileSync(saved, 'utf8')).not.toMatch(/ey[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\./);
    const out: string[] = [];
    expect(await main(['replay', saved, '--json'], { stdout: (t) => out.push(t), stderr: () => undefined })).toBe(0);
    expect(JSON.parse(out.join('\n')).calls[callId].state).toBe('terminated');

    expect(dialogs).toEqual([]);
    await page.close();
  });
});

describe('the console in Chromium, on made-up calls', () => {
  let site: { url: string; close(): Promise<void> };
  let inspector: Inspector;

  beforeAll(async () => {
    const store = new InMemoryEventStore();
    await appendAll(store, hostileCall());
    await appendAll(store, rosterHeavyCall('roster-1000', 1_000));
    inspector = createInspector({ store });
    site = await serve(inspector);
  });
  afterAll(async () => {
    await inspector?.close();
    await site?.close();
  });

  it('runs nothing a hostile log holds: no dialog, no element from it, its text shown as text', async () => {
    const page = await browser.newPage();
    const dialogs: string[] = [];
    page.on('dialog', (d) => void d.dismiss().then(() => dialogs.push(d.message())));
    for (const path of ['', `calls/${encodeURIComponent(HOSTILE.callId)}`]) {
      await page.goto(`${site.url}${path}`);
      await page.waitForLoadState('load');
      expect(await page.$$eval('script', (s) => s.map((e) => e.getAttribute('src')))).toEqual([
        path === '' ? 'assets/inspector.js' : '../assets/inspector.js',
      ]);
      expect(await page.$$('main img, main b, main svg[onload]')).toHaveLength(0);
      const text = (await page.textContent('main')) ?? '';
      expect(text).toContain(HOSTILE.callId);
      expect(text).toContain(HOSTILE.name);
    }
    expect(await page.textContent('section.call')).toContain(HOSTILE.operationId);
    expect(dialogs).toEqual([]);
    await page.close();
  });

  it('lays out a call with 1,000 roster changes', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${site.url}calls/roster-1000`);
    await page.waitForLoadState('load');
    expect(await page.locator('table.timeline tbody tr').count()).toBe(250);
    const chart = await page.locator('figure.roster-chart svg').boundingBox();
    expect(chart!.width).toBeGreaterThan(300);
    await page.screenshot({ path: join(ARTIFACTS, 'inspector-roster-1000.png') });
    await page.close();
  });
});
