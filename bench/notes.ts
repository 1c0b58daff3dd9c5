import { readFileSync } from 'node:fs';

/**
 * What docs/benchmarks.md says under the table: bench/notes.md, kept by hand (how the benchmarks
 * measure, what the run in the table met, where the time goes in the misses). `pnpm bench`
 * rewrites docs/benchmarks.md as the table followed by this text, so edit bench/notes.md, not
 * the generated file.
 */
export const NOTES: readonly string[] = readFileSync(new URL('./notes.md', import.meta.url), 'utf8')
  .trimEnd()
  .split('\n');
