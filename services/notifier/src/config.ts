import { commonEnv, loadEnv, port, redisUrlFrom } from '@parking-realtime/server';
import { Type } from 'typebox';

/** Every variable the notifier reads; the README lists them with these defaults. */
export const notifierEnv = {
  ...commonEnv,
  /** Default 8002. */
  PORT: port(8002),
  /** Largest client frame answered normally; bigger ones get a `frame_too_large` error frame. Default 4096. */
  WS_MAX_FRAME_BYTES: Type.Integer({ default: 4096, minimum: 256, maximum: 1_048_576 }),
  /** On SIGTERM, sockets are closed (1012) at random moments within this window. Default 2000 ms. */
  SHUTDOWN_SPREAD_MS: Type.Integer({ default: 2000, minimum: 0, maximum: 60_000 }),
};

export interface NotifierConfig {
  host: string;
  port: number;
  logLevel: string;
  redisUrl: string;
  maxFrameBytes: number;
  shutdownSpreadMs: number;
}

export function loadNotifierConfig(env: NodeJS.ProcessEnv = process.env): NotifierConfig {
  const e = loadEnv(notifierEnv, env);
  return {
    host: e.HOST,
    port: e.PORT,
    logLevel: e.LOG_LEVEL,
    redisUrl: redisUrlFrom(e),
    maxFrameBytes: e.WS_MAX_FRAME_BYTES,
    shutdownSpreadMs: e.SHUTDOWN_SPREAD_MS,
  };
}
