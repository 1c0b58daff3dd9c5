import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

// Packages import each other by name; the "@switchboard/source" export condition points
// those imports at src/, so tests need no build step.
// (Vite's server defaults after it; no 'import': Node gets these for externals, and with
// 'import' a require() inside pg picks pg-pool's ESM build.)
const conditions = ['@switchboard/source', 'module', 'node', 'development|production'];

// Test tiers, by what a test file needs (CONTRIBUTING.md, "Tests"):
//   unit         Node alone: a package's own tests (packages/*/src), in-process, loopback
//                sockets and temporary files at most
//   integration  PostgreSQL at 127.0.0.1:5432 (database `test`, user `postgres`), and the
//                cross-package tests in test/ that run in one process
//   e2e          child processes (SIGKILLed bots, the CLI), Chromium, compiled consumers,
//                and PostgreSQL where they use it
// A file says its tier in a line of its own, `// tier: integration` or `// tier: e2e`;
// without one, a package's test is a unit test and a test/ file an integration test. A unit
// test that uses PostgreSQL, child processes or a browser stops the run here, so that
// `pnpm test:unit` stays runnable on any machine with Node.
const roots = ['packages', 'test'];
const files = roots.flatMap((root) =>
  readdirSync(root, { recursive: true, encoding: 'utf8' })
    .map((file) => join(root, file).replaceAll('\\', '/'))
    .filter((file) => file.endsWith('.test.ts') && !file.includes('node_modules/') && !file.includes('/dist/'))
    .filter((file) => file.startsWith('test/') || /^packages\/[^/]+\/src\//.test(file)),
);
const tiers = { unit: [] as string[], integration: [] as string[], e2e: [] as string[] };
const usesPostgres = /TEST_DATABASE_URL|postgres\/test-db|PgEventStore|loadPg|support\/pg-appender/;
const usesProcesses = /node:child_process|support\/(bot-process|browser)/;
for (const file of files.sort()) {
  const text = readFileSync(file, 'utf8');
  const marked = /^\/\/ tier: (integration|e2e)\b/m.exec(text)?.[1] as 'integration' | 'e2e' | undefined;
  const tier = marked ?? (file.startsWith('test/') ? 'integration' : 'unit');
  if (tier !== 'e2e' && usesProcesses.test(text)) {
    throw new Error(`${file} starts child processes or a browser: mark it \`// tier: e2e\``);
  }
  if (tier === 'unit' && usesPostgres.test(text)) {
    throw new Error(`${file} uses PostgreSQL: mark it \`// tier: integration\``);
  }
  tiers[tier].push(file);
}

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['@switchboard/source'] } },
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // `pnpm test` runs every project; `pnpm test:unit` (and :integration, :e2e) one of them
    // The unit tier shares one module graph per worker (isolate: false): its files hold no
    // global state, mocks or fake timers, and re-importing core, XState and fast-check per file
    // was most of that tier's time (CONTRIBUTING.md, "Tests", has the figures).
    projects: Object.entries(tiers).map(([name, include]) => ({
      extends: true,
      test: { name, include, ...(name === 'unit' ? { isolate: false } : {}) },
    })),
    // expect.poll passes as soon as its condition holds; the bound is for a machine under load
    // (vitest's default, 1 s, failed a CLI test that waits for a child's first line at load 14)
    expect: { poll: { timeout: 20_000 } },
    // CI adds a JSON report, and beside it (x.json -> x.run.json) the errors vitest caught
    // outside any test and the tests a dead worker left unfinished, which the JSON report
    // leaves out; .ci/summarize.mjs reads both into the closing "N passed, N failed" line.
    reporters: process.env['CI'] ? ['default', 'json', './.ci/run-reporter.mjs'] : ['default'],
  },
});
