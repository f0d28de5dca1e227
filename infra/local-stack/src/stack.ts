import { type ServiceProcess, startRedis, startService, type TestRedis } from '@parking-realtime/testing';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type NginxProcess, startNginx } from './nginx-process.js';
import type { NginxLimits } from './nginx-config.js';

/** The built demo page, served at / when it exists (`npm run build` makes it). */
export const DEMO_DIST = fileURLToPath(new URL('../../../clients/demo/dist/', import.meta.url));

export interface StackOptions {
  /** Use this Redis instead of starting a redis-server child. */
  redisUrl?: string | undefined;
  authTokenPort: number;
  notifierPorts: number[];
  eventIngestPort: number;
  nginxPort: number;
  /** Environment for every service (the caller's, in `npm start`). */
  env: Record<string, string>;
  /** nginx's per-address limits, where a test needs them small. */
  nginxLimits?: Partial<NginxLimits>;
  /** Copy the services' logs to this process' output. */
  echo?: boolean;
  /** Called when a service exits while the stack is up. */
  onServiceExit?: (service: ServiceProcess, code: number | null, signal: NodeJS.Signals | null) => void;
}

export interface Stack {
  redisUrl: string;
  url: string;
  authToken: ServiceProcess;
  notifiers: ServiceProcess[];
  eventIngest: ServiceProcess;
  nginx: NginxProcess;
  stop(): Promise<void>;
}

/**
 * The deployed topology as local processes: Redis, auth-token, the notifiers,
 * event-ingest, and nginx in front on one port. `stop()` ends all of it.
 */
export async function startStack(options: StackOptions): Promise<Stack> {
  let redis: TestRedis | undefined;
  const services: ServiceProcess[] = [];
  let nginx: NginxProcess | undefined;
  let stopping = false;
  const stop = async () => {
    stopping = true;
    await nginx?.stop();
    await Promise.all(services.map((s) => s.kill('SIGTERM')));
    await redis?.stop();
  };
  try {
    let redisUrl = options.redisUrl;
    if (!redisUrl) {
      redis = await startRedis({ appendonly: true });
      redisUrl = redis.url;
    }
    const env = (port: number) => ({
      ...options.env,
      REDIS_URL: redisUrl!,
      PORT: String(port),
      HOST: '127.0.0.1',
      NODE_ENV: options.env.NODE_ENV ?? 'development',
      // nginx is the one proxy in front: auth-token's rate limits count the address it forwards.
      TRUST_PROXY_HOPS: options.env.TRUST_PROXY_HOPS ?? '1',
    });
    const echo = options.echo ?? false;
    const started = await Promise.all([
      startService('auth-token', env(options.authTokenPort), 30_000, echo),
      startService('event-ingest', env(options.eventIngestPort), 30_000, echo),
      ...options.notifierPorts.map((p) => startService('notifier', env(p), 30_000, echo)),
    ]);
    for (const service of started) services.push(service);
    const [authToken, eventIngest, ...notifiers] = started as [ServiceProcess, ServiceProcess, ...ServiceProcess[]];
    for (const service of started) {
      void service.exited.then(({ code, signal }) => {
        if (!stopping) options.onServiceExit?.(service, code, signal);
      });
    }
    nginx = await startNginx({
      port: options.nginxPort,
      authToken: [authToken.port],
      eventIngest: [eventIngest.port],
      notifiers: notifiers.map((n) => n.port),
      ...(existsSync(`${DEMO_DIST}index.html`) ? { demoRoot: DEMO_DIST } : {}),
      ...(options.nginxLimits ? { limits: options.nginxLimits } : {}),
    });
    return { redisUrl, url: nginx.url, authToken, notifiers, eventIngest, nginx, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
