export * from './event-validation.js';
export * from './notification-producer.js';
export * from './queue-options.js';
