import type { NotificationType } from '@parking-realtime/protocol';
import { startRedisServer } from '@parking-realtime/launcher';
import { type CorePlan, startPinned } from '../cores.js';
import { benchServiceJwt, eventPoster, fetchWsToken, JWT_SECRET, SERVICE_JWT_SECRET } from './http.js';
import type { StartOptions } from './ours.js';
import { LightSocket } from './light-socket.js';
import { readPayload } from './payload-reader.js';
import type { BenchConnection, BenchPayload, SystemUnderTest } from './system.js';

/** Redis and the Socket.IO server (bench/src/socketio) on the system-under-test core. */
export async function startSocketIo(cores: CorePlan, options: StartOptions = {}): Promise<SystemUnderTest> {
  const redis = await startRedisServer({ wrapper: cores.sutWrapper });
  const server = await startPinned(
    cores,
    'socketio',
    'bench/src/socketio/main.ts',
    { NODE_ENV: 'production', LOG_LEVEL: 'warn', REDIS_URL: redis.url, JWT_SECRET, SERVICE_JWT_SECRET },
    options.nodeArgs,
  );

  return {
    name: 'socketio',
    socketHolderPid: server.pid,
    redis: 'single',
    redisPorts: [redis.port],
    postEvent: eventPoster(server.url, benchServiceJwt()),
    async connect(userId: string, types: NotificationType[], onPayload: (payload: BenchPayload) => void): Promise<BenchConnection> {
      const token = await fetchWsToken(server.url, userId);
      return connectEngineIo(server.url, token, types, onPayload);
    },
    async stop() {
      await server.kill('SIGTERM');
      await redis.stop();
    },
  };
}

/**
 * A Socket.IO client speaking the wire protocol (Engine.IO 4 over the same
 * light WebSocket client as ours) with no parsing beyond what the load generator needs. The server
 * does the same work as for socket.io-client (bench/test/socketio-server.test.ts
 * uses that); the load generator's core is spared the client library's parsing,
 * as ours is spared JSON.parse. Packets: `0` open, `40{auth}` connect, `420[…]`
 * event with ack id 0, `430[…]` its ack, `2`/`3` ping/pong, `42[…]` events.
 */
async function connectEngineIo(baseUrl: string, token: string, types: NotificationType[], onPayload: (payload: BenchPayload) => void): Promise<BenchConnection> {
  let subscribed: () => void = () => {};
  let refused: (err: Error) => void = () => {};
  const acknowledged = new Promise<void>((resolve, reject) => {
    subscribed = resolve;
    refused = reject;
  });
  const socket: LightSocket = await LightSocket.open(
    `${baseUrl.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`,
    (text) => {
      if (text.startsWith('42["notification"')) {
        const payload = readPayload(text);
        if (payload) onPayload(payload);
      } else if (text === '2') {
        socket.sendText('3');
      } else if (text.startsWith('0{')) {
        socket.sendText(`40${JSON.stringify({ token })}`);
      } else if (text.startsWith('40{')) {
        socket.sendText(`420${JSON.stringify(['subscribe', { notification_types: types }])}`);
      } else if (text.startsWith('430[')) {
        if (text.includes('"subscribed"')) subscribed();
        else refused(new Error(`subscribe refused: ${text}`));
      } else if (text.startsWith('44')) {
        refused(new Error(`connect refused: ${text}`));
      }
    },
    () => refused(new Error('closed before subscribed')),
  );
  await acknowledged;
  return { close: () => socket.terminate() };
}
