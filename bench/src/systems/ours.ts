import type { NotificationType } from '@parking-realtime/protocol';
import { createNotificationProducer } from '@parking-realtime/server';
import { type ServiceName, startRedis, startRedisCluster } from '@parking-realtime/testing';
import { Redis } from 'ioredis';
import { type CorePlan, pinToSystemCore, startPinned } from '../cores.js';
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

/** Where our services' Redis is: what they are told, and what to stop. */
interface OurRedis {
  label: string;
  ports: number[];
  env: Record<string, string>;
  producerConnection: string | { clusterNodes: Array<{ host: string; port: number }> };
  stop(): Promise<void>;
}

async function startOurRedis(cores: CorePlan, clusterMasters: number | undefined): Promise<OurRedis> {
  if (clusterMasters === undefined) {
    const redis = await startRedis({ wrapper: cores.sutWrapper });
    return { label: 'single', ports: [redis.port], env: { REDIS_URL: redis.url }, producerConnection: redis.url, stop: () => redis.stop() };
  }
  const cluster = await startRedisCluster({ masters: clusterMasters, replicasPerMaster: 1 });
  // startRedisCluster takes no wrapper: its nodes inherited this process' core, so move them.
  await Promise.all(cluster.nodes.map(async (node) => pinToSystemCore(cores, await redisPid(node.port))));
  return {
    label: `cluster-${clusterMasters}m`,
    ports: cluster.nodes.map((n) => n.port),
    env: { REDIS_CLUSTER_NODES: cluster.seeds },
    producerConnection: { clusterNodes: cluster.nodes.map((n) => ({ host: '127.0.0.1', port: n.port })) },
    stop: () => cluster.stop(),
  };
}

async function redisPid(port: number): Promise<number> {
  const redis = new Redis(port, '127.0.0.1');
  try {
    const pid = Number(/^process_id:(\d+)/m.exec(await redis.info('server'))?.[1]);
    if (!pid) throw new Error(`no process_id in INFO server of port ${port}`);
    return pid;
  } finally {
    redis.disconnect();
  }
}

/** Redis (one, or a cluster), auth-token, one notifier and event-ingest, each a real process on the system-under-test core. */
export async function startOurs(cores: CorePlan, options: StartOptions = {}): Promise<SystemUnderTest> {
  const redis = await startOurRedis(cores, options.clusterMasters);
  const env = {
    NODE_ENV: 'production',
    // Production logging: warnings only, as the Socket.IO server logs nothing per request.
    LOG_LEVEL: 'warn',
    ...redis.env,
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
  const producer = createNotificationProducer({ connection: redis.producerConnection });
  const wsBase = `${notifier!.url.replace('http', 'ws')}/ws/notifications/`;

  return {
    name: 'ours',
    socketHolderPid: notifier!.pid,
    redis: redis.label,
    redisPorts: redis.ports,
    postEvent: eventPoster(ingest!.url, benchServiceJwt()),
    produceEvent: async (event) => {
      await producer.send(event);
    },
    async connect(userId: string, types: NotificationType[], onPayload: (payload: BenchPayload) => void): Promise<BenchConnection> {
      const token = await fetchWsToken(auth!.url, userId);
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
      await Promise.all([auth!, notifier!, ingest!].map((p) => p.kill('SIGTERM')));
      await redis.stop();
    },
  };
}
