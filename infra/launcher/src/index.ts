export * from './free-port.js';
export * from './jwt.js';
export * from './redis-cluster.js';
export * from './redis-server.js';
export * from './service-process.js';
export * from './topology.js';
export * from './wait-for.js';
