export * from './errors.js';
export * from './rpc.js';
export * from './duration.js';
export * from './common.js';
export * from './secrets.js';
export * from './accounts.js';
export * from './tokens.js';
export * from './audit.js';
