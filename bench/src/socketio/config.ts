export interface SocketIoConfig {
  host: string;
  port: number;
  redisUrl: string;
  jwtSecret: string;
  serviceJwtSecret: string;
  logLevel: string;
}

function required(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
}

/** Reads the environment; throws an error naming the first bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): SocketIoConfig {
  const port = Number(env.PORT ?? '3000');
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new Error(`PORT must be an integer 0-65535, got "${env.PORT}"`);
  return {
    host: env.HOST || '127.0.0.1',
    port,
    redisUrl: required(env, 'REDIS_URL'),
    jwtSecret: required(env, 'JWT_SECRET'),
    serviceJwtSecret: required(env, 'SERVICE_JWT_SECRET'),
    logLevel: env.LOG_LEVEL || 'info',
  };
}
