import { ConfigError } from '@parking-realtime/server';
import { type ServiceProcess, startRedis, startService, type TestRedis } from '@parking-realtime/testing';
import { loadStackConfig } from './stack-config.js';

/**
 * `npm start`: Redis (a redis-server child unless REDIS_URL is set),
 * auth-token, the notifiers and event-ingest, each its own process, with the
 * caller's environment passed to every service. Ctrl-C or SIGTERM stops all of it.
 */
let config: ReturnType<typeof loadStackConfig>;
try {
  config = loadStackConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(1);
  }
  throw err;
}

const children: ServiceProcess[] = [];
let redis: TestRedis | undefined;
let stopping = false;

async function stop(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    console.error('\nstopping the stack…');
    await Promise.all(children.map((c) => c.kill('SIGTERM')));
    await redis?.stop();
  }
  process.exit(code);
}
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

try {
  if (!process.env.JWT_SECRET || !process.env.SERVICE_JWT_SECRET) {
    console.error('JWT_SECRET or SERVICE_JWT_SECRET not set: the services use development secrets (refused with NODE_ENV=production).');
  }
  let redisUrl = config.redisUrl;
  if (!redisUrl) {
    redis = await startRedis({ appendonly: true });
    redisUrl = redis.url;
  }
  const passThrough = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined));
  const env = (port: number) => ({ ...passThrough, REDIS_URL: redisUrl!, PORT: String(port), HOST: '127.0.0.1', NODE_ENV: process.env.NODE_ENV ?? 'development' });
  const started = await Promise.all([
    startService('auth-token', env(config.authTokenPort), 30_000, true),
    ...config.notifierPorts.map((p) => startService('notifier', env(p), 30_000, true)),
    startService('event-ingest', env(config.eventIngestPort), 30_000, true),
  ]);
  children.push(...started);
  for (const child of started) {
    void child.exited.then(({ code, signal }) => {
      if (stopping) return;
      console.error(`${child.name} on :${child.port} exited (${code ?? signal}); stopping the stack`);
      void stop(1);
    });
  }
  console.error(
    [
      '',
      'parking-realtime is running:',
      `  Redis              ${redisUrl}${redis ? ' (redis-server child)' : ''}`,
      `  auth-token         http://127.0.0.1:${config.authTokenPort}/api/user/ws-token/`,
      ...started
        .filter((c) => c.name === 'notifier')
        .map((c) => `  notifier           ws://127.0.0.1:${c.port}/ws/notifications/?token=<ws_token>`),
      `  event-ingest       http://127.0.0.1:${config.eventIngestPort}/api/events/`,
      'Ctrl-C stops everything.',
      '',
    ].join('\n'),
  );
} catch (err) {
  console.error(`the stack could not start: ${(err as Error).message}`);
  await stop(1);
}
