import type { FastifyInstance } from 'fastify';
import { ConfigError, describeRedisTarget, type RedisTarget } from '@parking-realtime/runtime';
import { createLogger } from '@parking-realtime/runtime';

export interface RunningService {
  app: FastifyInstance;
  /** Called after the HTTP server closed: release connections, finish work in hand. */
  close(): Promise<void>;
}

/**
 * What every service's main does: load the config (exit 1 naming the bad
 * variable), build, listen, and shut down cleanly on SIGTERM or SIGINT.
 */
export async function runService<C extends { host: string; port: number; logLevel: string; redis: RedisTarget }>(
  name: string,
  loadConfig: () => C,
  build: (config: C) => Promise<RunningService>,
): Promise<void> {
  let config: C;
  try {
    config = loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    createLogger(name, 'info').fatal({ code: 'invalid_config' }, err.message);
    process.exit(1);
  }
  const service = await build(config);
  const { app } = service;
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      app.log.error('shutdown took too long; exiting');
      process.exit(1);
    }, 15_000);
    force.unref();
    try {
      await app.close();
      await service.close();
    } finally {
      process.exit(0);
    }
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
  await app.listen({ host: config.host, port: config.port });
  app.log.info({ redis: describeRedisTarget(config.redis) }, `${name} ready`);
}
