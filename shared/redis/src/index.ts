export * from './lua-script.js';
export * from './redis-names.js';
export * from './redis.js';
export * from './replica-wait.js';
export * from './stream-reader.js';
export * from './token-store.js';
export * from './user-disconnect.js';
