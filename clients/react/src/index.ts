export * from './notification-center.js';
export * from './status-label.js';
export * from './use-notifications.js';
