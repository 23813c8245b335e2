export * from './verify.js';
export * from './middleware.js';
