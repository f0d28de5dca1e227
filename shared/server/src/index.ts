export * from './health-routes.js';
export * from './http-errors.js';
export * from './http-security.js';
export * from './http-tracing.js';
export * from './jwt-auth.js';
export * from './metrics.js';
export * from './openapi.js';
export * from './run-service.js';
