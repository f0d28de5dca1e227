import type { NotificationType } from '@parking-realtime/protocol';
import { createNotificationProducer } from '@parking-realtime/server';
import { type ServiceName, startRedis } from '@parking-realtime/testing';
import WebSocket from 'ws';
import { type CorePlan, startPinned } from '../cores.js';
import { benchServiceJwt, eventPoster, fetchWsToken, JWT_SECRET, SERVICE_JWT_SECRET } from './http.js';
import { readPayload } from './payload-reader.js';
import type { BenchConnection, BenchPayload, SystemUnderTest } from './system.js';

export interface StartOptions {
  /** Node flags for every process of the system, e.g. `--cpu-prof`. */
  nodeArgs?: string[];
}

/** Redis, auth-token, one notifier and event-ingest, each a real process on the system-under-test core. */
export async function startOurs(cores: CorePlan, options: StartOptions = {}): Promise<SystemUnderTest> {
  const redis = await startRedis({ wrapper: cores.sutWrapper });
  const env = {
    NODE_ENV: 'production',
    // Production logging: warnings only, as the Socket.IO server logs nothing per request.
    LOG_LEVEL: 'warn',
    REDIS_URL: redis.url,
    JWT_SECRET,
    SERVICE_JWT_SECRET,
    // One load generator address opens every connection: the limits would be the thing measured.
    TOKEN_RATE_LIMIT_PER_IP: '1000000000',
    TOKEN_RATE_LIMIT_PER_USER: '1000000000',
    // Stopped with SIGTERM (so a --cpu-prof profile is written): no need to spread the closes.
    SHUTDOWN_SPREAD_MS: '0',
  };
  const start = (name: ServiceName) => startPinned(cores, name, `services/${name}/src/main.ts`, env, options.nodeArgs);
  const [auth, notifier, ingest] = await Promise.all([start('auth-token'), start('notifier'), start('event-ingest')]);
  const producer = createNotificationProducer({ connection: redis.url });
  const wsBase = `${notifier!.url.replace('http', 'ws')}/ws/notifications/`;

  return {
    name: 'ours',
    socketHolderPid: notifier!.pid,
    postEvent: eventPoster(ingest!.url, benchServiceJwt()),
    produceEvent: async (event) => {
      await producer.send(event);
    },
    async connect(userId: string, types: NotificationType[], onPayload: (payload: BenchPayload) => void): Promise<BenchConnection> {
      const token = await fetchWsToken(auth!.url, userId);
      const ws = new WebSocket(`${wsBase}?token=${token}`, { perMessageDeflate: false });
      await new Promise<void>((resolve, reject) => {
        ws.once('error', reject);
        ws.once('open', () => {
          ws.send(JSON.stringify({ type: 'subscribe', notification_types: types }));
        });
        ws.on('message', (data) => {
          const text = data.toString();
          if (text.startsWith('{"type":"notification"')) {
            const payload = readPayload(text);
            if (payload) onPayload(payload);
          } else if (text.startsWith('{"type":"subscribed"')) {
            resolve();
          }
        });
      });
      ws.on('error', () => {});
      return { close: () => ws.terminate() };
    },
    async stop() {
      await producer.close();
      await Promise.all([auth!, notifier!, ingest!].map((p) => p.kill('SIGTERM')));
      await redis.stop();
    },
  };
}
