export * from './contract.pipe.js';
export * from './rpc-error.filter.js';
export * from './rpc.client.js';
export * from './nats.js';
export * from './management.js';
export * from './logging.js';
export * from './tokens.js';
export * from './nats-client.module.js';
