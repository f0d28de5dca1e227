import { type RedisCluster, startTopology, type Topology } from '@parking-realtime/launcher';
import { compareNotificationIds } from '@parking-realtime/protocol';
import { createNotificationProducer, type NotificationProducer } from '@parking-realtime/producer';
import {
  type Frame,
  ReconnectingClient,
  type ServiceProcess,
  serviceJwt,
  simpleJwtAccessToken,
  startRedis,
  type TestRedis,
  type TestRedisOptions,
  TestSocket,
} from '@parking-realtime/testing';

const JWT_SECRET = 'fault-jwt-secret-that-is-long-enough-0123';
const SERVICE_JWT_SECRET = 'fault-service-secret-long-enough-01234567';

export interface ClusterOptions {
  notifiers: number;
  redis?: TestRedisOptions;
  /** Run on a local Redis Cluster (3 masters, 3 replicas) instead of one Redis. */
  redisCluster?: boolean;
  /** Extra environment for every service. */
  env?: Record<string, string>;
  /** Extra environment for event-ingest only. */
  ingestEnv?: Record<string, string>;
}

/** Redis and every service as real processes (the launcher's topology), for fault tests. */
export class Cluster {
  readonly producer: NotificationProducer;
  private constructor(
    private readonly single: TestRedis | undefined,
    private readonly topology: Topology,
    public ingest: ServiceProcess,
  ) {
    const redisCluster = topology.redisCluster;
    this.producer = createNotificationProducer({
      connection: redisCluster ? { clusterNodes: redisCluster.nodes.map((n) => ({ host: '127.0.0.1', port: n.port })) } : single!.url,
    });
  }

  /** The one Redis, when not on a Redis Cluster. */
  get redis(): TestRedis {
    if (!this.single) throw new Error('this stack runs on a Redis Cluster: use redisCluster');
    return this.single;
  }

  /** The local Redis Cluster (3 masters, 3 replicas), when on one. */
  get redisCluster(): RedisCluster | undefined {
    return this.topology.redisCluster;
  }

  get auth(): ServiceProcess {
    return this.topology.authToken;
  }

  get notifiers(): ServiceProcess[] {
    return this.topology.notifiers;
  }

  static async start(options: ClusterOptions): Promise<Cluster> {
    // The one Redis is the test's (a container when TEST_REDIS=container); a cluster is the topology's own.
    const single = options.redisCluster ? undefined : await startRedis(options.redis);
    try {
      const topology = await startTopology({
        redis: single ? { url: single.url } : { cluster: {} },
        notifierPorts: Array.from({ length: options.notifiers }, () => 0),
        // Hundreds of test clients fetch tokens from 127.0.0.1: one address, far past the per-address limit.
        env: { JWT_SECRET, SERVICE_JWT_SECRET, TOKEN_RATE_LIMIT_PER_IP: '100000', ...options.env },
        serviceEnv: { 'event-ingest': options.ingestEnv ?? {} },
      });
      return new Cluster(single, topology, topology.eventIngest);
    } catch (err) {
      await single?.stop();
      throw err;
    }
  }

  /** Replaces event-ingest (stopping the running one, if any) with one of this environment. */
  async restartIngest(extraEnv: Record<string, string> = {}): Promise<ServiceProcess> {
    if (!this.ingest.hasExited()) await this.ingest.kill('SIGTERM');
    this.ingest = await this.topology.startService('event-ingest', extraEnv);
    return this.ingest;
  }

  /** Another event-ingest beside the first, with its own worker, as a scaled deployment runs them; stopped with the cluster. */
  startExtraIngest(extraEnv: Record<string, string> = {}): Promise<ServiceProcess> {
    return this.topology.startService('event-ingest', extraEnv);
  }

  alive(): ServiceProcess[] {
    return this.notifiers.filter((n) => !n.hasExited());
  }

  async wsToken(userId: string): Promise<string> {
    const res = await fetch(`${this.auth.url}/api/user/ws-token/`, {
      headers: { authorization: `Bearer ${simpleJwtAccessToken(JWT_SECRET, userId)}` },
    });
    if (res.status !== 200) throw new Error(`token endpoint answered ${res.status}`);
    return ((await res.json()) as { ws_token: string }).ws_token;
  }

  /** A client of `userId` that starts on notifier `first` and, when cut off, reconnects to any notifier still alive. */
  client(userId: string, first = 0): ReconnectingClient {
    let attempt = 0;
    return new ReconnectingClient(async (resume) => {
      const live = this.alive();
      const notifier = attempt === 0 ? this.notifiers[first]! : live[attempt % live.length]!;
      attempt += 1;
      const token = await this.wsToken(userId);
      const socket = await TestSocket.connect(`${notifier.url.replace('http', 'ws')}/ws/notifications/?token=${token}`);
      await socket.subscribe(['reservation', 'parking_lot'], resume);
      return socket;
    });
  }

  /** POST /api/events/ (to `ingest`, by default the first); resolves with the HTTP status (never throws for a refusal). */
  async post(event: Record<string, unknown>, ingest: ServiceProcess = this.ingest): Promise<number> {
    try {
      const res = await fetch(`${ingest.url}/api/events/`, {
        method: 'POST',
        headers: { authorization: `Bearer ${serviceJwt(SERVICE_JWT_SECRET)}`, 'content-type': 'application/json' },
        body: JSON.stringify(event),
      });
      await res.arrayBuffer();
      return res.status;
    } catch {
      return 0; // no answer at all
    }
  }

  async stop(): Promise<void> {
    await this.producer.close();
    await this.topology.stop();
    await this.single?.stop();
  }
}

export interface DeliveryFigures {
  clients: number;
  sent: number;
  acknowledged: number;
  due: number;
  delivered: number;
  lost: number;
  duplicated: number;
  outOfOrder: number;
}

/**
 * Compares what each client received with what it was due (by a sequence
 * number in `data.seq`), counting lost, duplicated and out-of-order
 * deliveries (ids must rise within each stream; streams have no common order).
 */
export function deliveryFigures(
  clients: Array<{ client: ReconnectingClient; due: Set<number> }>,
  sent: number,
  acknowledged: number,
  tag: string,
): DeliveryFigures {
  let due = 0;
  let delivered = 0;
  let lost = 0;
  let duplicated = 0;
  let outOfOrder = 0;
  for (const { client, due: expected } of clients) {
    const mine = client.notifications.filter((n: Frame) => (n.data as { tag?: string }).tag === tag);
    const seqs = mine.map((n) => (n.data as { seq: number }).seq);
    const unique = new Set(seqs);
    due += expected.size;
    delivered += mine.length;
    duplicated += seqs.length - unique.size;
    for (const seq of expected) if (!unique.has(seq)) lost += 1;
    const last = new Map<unknown, string>();
    for (const n of mine) {
      const previous = last.get(n.stream);
      if (previous !== undefined && compareNotificationIds(previous, n.id as string) >= 0) outOfOrder += 1;
      last.set(n.stream, n.id as string);
    }
  }
  return { clients: clients.length, sent, acknowledged, due, delivered, lost, duplicated, outOfOrder };
}

/** Resolves once every client holds (at least once) each sequence number it is due under `tag`. */
export async function waitForDue(clients: Array<{ client: ReconnectingClient; due: Set<number> }>, tag: string, timeoutMs: number): Promise<void> {
  const seqsOf = (c: ReconnectingClient) =>
    new Set(c.notifications.filter((n) => (n.data as { tag?: string }).tag === tag).map((n) => (n.data as { seq: number }).seq));
  for (const { client, due } of clients) await client.waitUntil((c) => seqsOf(c).size >= due.size, timeoutMs, `every event due under ${tag}`);
}

/** Prints the figures as one JSON line (collected into docs/reliability.md). */
export function printFigures(name: string, figures: object): void {
  console.log(`FIGURES ${JSON.stringify({ test: name, ...figures })}`);
}
