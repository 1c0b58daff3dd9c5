import { defineConfig } from 'vitest/config';

// Packages import each other by name; the "@switchboard/source" export condition points
// those imports at src/, so tests need no build step.
// (Vite's server defaults after it; no 'import': Node gets these for externals, and with
// 'import' a require() inside pg picks pg-pool's ESM build.)
const conditions = ['@switchboard/source', 'module', 'node', 'development|production'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['@switchboard/source'] } },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // expect.poll passes as soon as its condition holds; the bound is for a machine under load
    // (vitest's default, 1 s, failed a CLI test that waits for a child's first line at load 14)
    expect: { poll: { timeout: 20_000 } },
    // CI adds a JSON report, and beside it (x.json -> x.run.json) the errors vitest caught
    // outside any test and the tests a dead worker left unfinished, which the JSON report
    // leaves out; .ci/summarize.mjs reads both into the closing "N passed, N failed" line.
    reporters: process.env['CI'] ? ['default', 'json', './.ci/run-reporter.mjs'] : ['default'],
  },
});
