export * from './graph/index.js';
export * from './webhook/index.js';
