import type { NotificationType } from '@parking-realtime/protocol';
import { freePort, startNodeProcess, startRedis } from '@parking-realtime/testing';
import { io, type Socket } from 'socket.io-client';
import type { CorePlan } from '../cores.js';
import type { ClientToServerEvents, ServerToClientEvents } from '../socketio/types.js';
import { benchServiceJwt, eventPoster, fetchWsToken, JWT_SECRET, SERVICE_JWT_SECRET } from './http.js';
import type { StartOptions } from './ours.js';
import type { BenchConnection, BenchPayload, SystemUnderTest } from './system.js';

/** Redis and the Socket.IO server (bench/src/socketio) on the system-under-test core. */
export async function startSocketIo(cores: CorePlan, options: StartOptions = {}): Promise<SystemUnderTest> {
  const redis = await startRedis({ wrapper: cores.sutWrapper });
  const port = await freePort();
  const server = await startNodeProcess({
    name: 'socketio',
    script: 'bench/src/socketio/main.ts',
    env: { NODE_ENV: 'production', LOG_LEVEL: 'warn', PORT: String(port), REDIS_URL: redis.url, JWT_SECRET, SERVICE_JWT_SECRET },
    wrapper: cores.sutWrapper,
    nodeArgs: options.socketHolderNodeArgs ?? [],
    readyWhen: { port, path: '/healthz' },
    timeoutMs: 30_000,
  });

  return {
    name: 'socketio',
    socketHolderPid: server.pid,
    postEvent: eventPoster(server.url, benchServiceJwt()),
    async connect(userId: string, types: NotificationType[], onPayload: (payload: BenchPayload) => void): Promise<BenchConnection> {
      const token = await fetchWsToken(server.url, userId);
      const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io(server.url, {
        transports: ['websocket'],
        auth: { token },
        reconnection: false,
        forceNew: true,
      });
      socket.on('notification', (frame) => onPayload(frame.data as unknown as BenchPayload));
      await new Promise<void>((resolve, reject) => {
        socket.once('connect_error', reject);
        socket.once('connect', () => {
          socket.emit('subscribe', { notification_types: types }, (ack) => {
            if (ack.type === 'subscribed') resolve();
            else reject(new Error(`subscribe refused: ${JSON.stringify(ack)}`));
          });
        });
      });
      return { close: () => socket.disconnect() };
    },
    async stop() {
      await server.kill('SIGTERM');
      await redis.stop();
    },
  };
}
