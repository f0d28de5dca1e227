// Browser-safe: only schemas, types and constants. Nothing here may import a Node module.
export * from './client-frames.js';
export * from './error-codes.js';
export * from './events.js';
export * from './json-depth.js';
export * from './http.js';
export * from './notification-types.js';
export * from './server-frames.js';
export * from './notification-id.js';
export * from './close-codes.js';
export * from './streams.js';
export * from './notification-frame.js';
