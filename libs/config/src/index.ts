export * from './env.js';
export * from './nats.js';
