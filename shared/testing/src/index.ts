export * from './free-port.js';
export * from './jwt.js';
export * from './redis-server.js';
export * from './service-process.js';
export * from './test-socket.js';
export * from './wait-for.js';
export * from './reconnecting-client.js';
export * from './metric-value.js';
