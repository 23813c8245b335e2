export * from './eventually.js';
export * from './ports.js';
export * from './nats.js';
export * from './database.js';
export * from './secrets.js';
