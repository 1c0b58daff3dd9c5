// A CommonJS consumer: `import` in a .cts file compiles to require(). Under `nodenext`,
// TypeScript (5.8 and later) lets CommonJS require these ESM packages, and Node (20.19 and
// later, 22.12 and later) loads them, as none has a top-level await.
import { canonicalId, DECODE_LIMITS } from '@switchboard/core';
import { GRAPH_CLIENT_DEFAULTS } from '@switchboard/transport';

const id: string = canonicalId('57DAB8B1894C409AB240BD8BEAE78896');
console.log(`require: ${id}, ${DECODE_LIMITS.maxBatch} notifications a batch, ${GRAPH_CLIENT_DEFAULTS.maxAttempts} attempts`);
