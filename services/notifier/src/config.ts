import { commonEnv, loadEnv, port, type RedisTarget, redisTargetFrom } from '@parking-realtime/runtime';
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
  /** Bytes allowed to wait unsent on one socket; past it the socket is closed (4008). Default 1 MiB. */
  WS_MAX_BUFFERED_BYTES: Type.Integer({ default: 1_048_576, minimum: 1024, maximum: 268_435_456 }),
  /** Server ping interval; a socket silent for two intervals is dropped (4009). Default 30000 ms. */
  HEARTBEAT_INTERVAL_MS: Type.Integer({ default: 30_000, minimum: 50, maximum: 600_000 }),
  /**
   * Browser origins allowed to open a socket, comma-separated, or `*`. Default:
   * none besides the page's own (Origin matching Host); requests without an Origin (not browsers) pass.
   */
  ALLOWED_ORIGINS: Type.String({ default: '', pattern: '^(\\*|(https?://[^,\\s]+(,https?://[^,\\s]+)*)?)$' }),
  /** Frames a client may send per second; past it: an error frame, then close 1008. Default 20. */
  WS_MAX_FRAMES_PER_SECOND: Type.Integer({ default: 20, minimum: 1, maximum: 10_000 }),
  /** Sockets one user may hold on one notifier; a new one past it closes the oldest (4011). Default 10. */
  WS_MAX_SOCKETS_PER_USER: Type.Integer({ default: 10, minimum: 1, maximum: 1000 }),
  /** Resume never replays history entries older than this; set it to the same value as event-ingest's. Default 86400 s. */
  HISTORY_MAX_AGE_SECONDS: Type.Integer({ default: 86_400, minimum: 1, maximum: 30 * 86_400 }),
  /**
   * Most notifications replayed from one stream on one resume; a client further behind gets
   * `resume_gap`. Sized to event-ingest's HISTORY_MAX_ENTRIES, so that a resume within the
   * history window replays it all. The replay is paced, so its size costs time, not memory. Default 30000.
   */
  REPLAY_MAX_FRAMES: Type.Integer({ default: 30_000, minimum: 1, maximum: 1_000_000 }),
};

export interface NotifierConfig {
  host: string;
  port: number;
  logLevel: string;
  redis: RedisTarget;
  maxFrameBytes: number;
  shutdownSpreadMs: number;
  maxBufferedBytes: number;
  heartbeatIntervalMs: number;
  /** `*`, or the exact origins allowed besides the page's own. */
  allowedOrigins: '*' | ReadonlySet<string>;
  maxFramesPerSecond: number;
  maxSocketsPerUser: number;
  /** A resume replays no history entry older than this, and reports a gap when `last_id` is older. */
  historyMaxAgeSeconds: number;
  /** Most frames replayed from one stream on one resume; past it, a gap. */
  replayMaxFrames: number;
}

export function loadNotifierConfig(env: NodeJS.ProcessEnv = process.env): NotifierConfig {
  const e = loadEnv(notifierEnv, env);
  return {
    host: e.HOST,
    port: e.PORT,
    logLevel: e.LOG_LEVEL,
    redis: redisTargetFrom(e),
    maxFrameBytes: e.WS_MAX_FRAME_BYTES,
    shutdownSpreadMs: e.SHUTDOWN_SPREAD_MS,
    maxBufferedBytes: e.WS_MAX_BUFFERED_BYTES,
    heartbeatIntervalMs: e.HEARTBEAT_INTERVAL_MS,
    allowedOrigins: e.ALLOWED_ORIGINS === '*' ? '*' : new Set(e.ALLOWED_ORIGINS.split(',').filter(Boolean)),
    maxFramesPerSecond: e.WS_MAX_FRAMES_PER_SECOND,
    maxSocketsPerUser: e.WS_MAX_SOCKETS_PER_USER,
    historyMaxAgeSeconds: e.HISTORY_MAX_AGE_SECONDS,
    replayMaxFrames: e.REPLAY_MAX_FRAMES,
  };
}
