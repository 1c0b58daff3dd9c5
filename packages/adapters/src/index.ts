export * from './stores/index.js';
export * from './runtime/index.js';
