import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { loadConfig, type SocketIoConfig } from './config.js';
import { createSocketIoServer } from './server.js';

let config: SocketIoConfig;
try {
  config = loadConfig();
} catch (err) {
  pino({ base: { service: 'socketio' } }).fatal({ code: 'invalid_config' }, (err as Error).message);
  process.exit(1);
}

const logger = pino({ level: config.logLevel, base: { service: 'socketio' } });
const server = await createSocketIoServer(config, logger).catch((err: unknown) => {
  logger.fatal({ err }, 'start-up failed');
  process.exit(1);
});

let stopping = false;
async function stop(signal: NodeJS.Signals): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'shutting down');
  // A client that never lets go must not keep the process alive forever.
  setTimeout(() => process.exit(1), 10_000).unref();
  await server.close();
  process.exit(0);
}
process.once('SIGTERM', (signal) => void stop(signal));
process.once('SIGINT', (signal) => void stop(signal));

server.httpServer.listen(config.port, config.host, () => {
  const { address, port } = server.httpServer.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  // The benchmark harness waits for exactly this line, as Fastify prints it for the real services.
  logger.info(`Server listening at http://${host}:${port}`);
});
