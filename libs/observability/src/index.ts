export * from './management.js';
export * from './metrics.js';
