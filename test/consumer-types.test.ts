import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkConsumer, emitDeclarations } from './support/declarations.js';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('a consumer compiling against the built packages', () => {
  // The declarations are emitted in memory, as `pnpm build` writes them, and stand in for each
  // package's dist/; test/consumer/bot.ts imports every package's root and compiles with
  // strict, exactOptionalPropertyTypes and skipLibCheck off, as a bot author's project may.
  it('compiles with strict, exactOptionalPropertyTypes and no skipLibCheck', () => {
    const { files, problems } = emitDeclarations(root);
    expect(problems).toEqual([]);
    expect([...files.keys()].some((f) => f.endsWith('/packages/core/dist/index.d.ts'))).toBe(true);
    // (XState's own declarations do not compile under these settings: no public type may load them)
    expect(checkConsumer(root, `${root}test/consumer/tsconfig.json`, files)).toEqual([]);
  }, 300_000); // six packages type-checked for their declarations: about 30 s of CPU
});
