export * from './management.js';
export * from './metrics.js';
export * from './logger.js';
