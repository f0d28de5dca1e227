import { loadEnv, port } from '@parking-realtime/server';
import { Type } from 'typebox';

/** Variables of the local stack itself; the services' own variables pass through to them. */
export const stackEnv = {
  /** Use this Redis instead of starting a redis-server child. */
  REDIS_URL: Type.Optional(Type.String({ pattern: '^rediss?://' })),
  /** Port of auth-token. Default 8001. */
  AUTH_TOKEN_PORT: port(8001),
  /** Ports of the notifiers, comma-separated; one notifier per port. Default 8002,8004. */
  NOTIFIER_PORTS: Type.String({ default: '8002,8004', pattern: '^\\d{1,5}(,\\d{1,5})*$' }),
  /** Port of event-ingest. Default 8003. */
  EVENT_INGEST_PORT: port(8003),
  /** Port of nginx, the one entry point. Default 8000. */
  NGINX_PORT: port(8000),
};

export interface StackConfig {
  redisUrl: string | undefined;
  authTokenPort: number;
  notifierPorts: number[];
  eventIngestPort: number;
  nginxPort: number;
}

export function loadStackConfig(env: NodeJS.ProcessEnv = process.env): StackConfig {
  const e = loadEnv(stackEnv, env);
  return {
    redisUrl: e.REDIS_URL,
    authTokenPort: e.AUTH_TOKEN_PORT,
    notifierPorts: e.NOTIFIER_PORTS.split(',').map(Number),
    eventIngestPort: e.EVENT_INGEST_PORT,
    nginxPort: e.NGINX_PORT,
  };
}
