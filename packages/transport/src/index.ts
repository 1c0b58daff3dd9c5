export * from './graph/index.js';
export * from './recording/index.js';
export * from './webhook/index.js';
