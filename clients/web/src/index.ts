export * from './backoff.js';
export * from './client-error.js';
export * from './notification-client.js';
export * from './urls.js';
export type { ReadonlyStreamPositions, ResumeFields } from './resume-state.js';
