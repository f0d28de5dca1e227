export * from './config.js';
export * from './field-errors.js';
export * from './logger.js';
export * from './tracing.js';
export * from './turn-batch.js';
