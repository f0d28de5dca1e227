import type { NotificationType } from '@parking-realtime/protocol';
import { createNotificationProducer } from '@parking-realtime/producer';
import { startTopology } from '@parking-realtime/launcher';
import { type CorePlan, SUT_READY_TIMEOUT_MS } from '../cores.js';
import { benchServiceJwt, eventPoster, fetchWsToken, JWT_SECRET, SERVICE_JWT_SECRET } from './http.js';
import { LightSocket } from './light-socket.js';
import { readPayload } from './payload-reader.js';
import type { BenchConnection, BenchPayload, SystemUnderTest } from './system.js';

export interface StartOptions {
  /** Node flags for every process of the system, e.g. `--cpu-prof`. */
  nodeArgs?: string[];
  /** Run on a local Redis Cluster of this many masters, a replica each (as deployed), instead of one Redis. Ours only. */
  clusterMasters?: number;
}

/**
 * Redis (one, or a cluster), auth-token, one notifier and event-ingest (the
 * launcher's topology), each a real process on the system-under-test core.
 */
export async function startOurs(cores: CorePlan, options: StartOptions = {}): Promise<SystemUnderTest> {
  const clusterMasters = options.clusterMasters;
  const system = await startTopology({
    redis:
      clusterMasters === undefined
        ? { server: { wrapper: cores.sutWrapper } }
        : { cluster: { masters: clusterMasters, replicasPerMaster: 1, wrapper: cores.sutWrapper } },
    notifierPorts: [0],
    env: {
      NODE_ENV: 'production',
      // Production logging: warnings only, as the Socket.IO server logs nothing per request.
      LOG_LEVEL: 'warn',
      JWT_SECRET,
      SERVICE_JWT_SECRET,
      // One load generator address opens every connection: the limits would be the thing measured.
      TOKEN_RATE_LIMIT_PER_IP: '1000000000',
      TOKEN_RATE_LIMIT_PER_USER: '1000000000',
      // Stopped with SIGTERM (so a --cpu-prof profile is written): no need to spread the closes.
      SHUTDOWN_SPREAD_MS: '0',
    },
    wrapper: cores.sutWrapper,
    ...(options.nodeArgs ? { nodeArgs: options.nodeArgs } : {}),
    readyTimeoutMs: SUT_READY_TIMEOUT_MS,
  });
  const { authToken: auth, eventIngest: ingest } = system;
  const notifier = system.notifiers[0]!;
  const redisNodes = system.redisCluster?.nodes ?? [system.redisServer!];
  const producer = createNotificationProducer({
    connection: system.redisCluster ? { clusterNodes: redisNodes.map((n) => ({ host: '127.0.0.1', port: n.port })) } : system.redisUrl!,
  });
  const wsBase = `${notifier.url.replace('http', 'ws')}/ws/notifications/`;

  return {
    name: 'ours',
    socketHolderPid: notifier.pid,
    redis: clusterMasters === undefined ? 'single' : `cluster-${clusterMasters}m`,
    redisPorts: redisNodes.map((n) => n.port),
    postEvent: eventPoster(ingest.url, benchServiceJwt()),
    produceEvent: async (event) => {
      await producer.send(event);
    },
    async connect(userId: string, types: NotificationType[], onPayload: (payload: BenchPayload) => void): Promise<BenchConnection> {
      const token = await fetchWsToken(auth.url, userId);
      let subscribed: () => void = () => {};
      let refused: (err: Error) => void = () => {};
      const acknowledged = new Promise<void>((resolve, reject) => {
        subscribed = resolve;
        refused = reject;
      });
      const socket = await LightSocket.open(`${wsBase}?token=${token}`, (text) => {
        if (text.startsWith('{"type":"notification"')) {
          const payload = readPayload(text);
          if (payload) onPayload(payload);
        } else if (text.startsWith('{"type":"subscribed"')) {
          subscribed();
        }
      }, () => refused(new Error('closed before subscribed')));
      socket.sendText(JSON.stringify({ type: 'subscribe', notification_types: types }));
      await acknowledged;
      return { close: () => socket.terminate() };
    },
    async stop() {
      await producer.close();
      await system.stop();
    },
  };
}
