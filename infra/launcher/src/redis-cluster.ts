import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { type RedisServer, startRedisServer } from './redis-server.js';
import { waitFor } from './wait-for.js';

const run = promisify(execFile);

export interface RedisCluster {
  /** Every node, masters first as they were created. */
  nodes: RedisServer[];
  /** `host:port,host:port,...` of every node, as `REDIS_CLUSTER_NODES` takes them. */
  seeds: string;
  /** The node serving `slot` as master now (after any failover). */
  masterOf(slot: number): Promise<RedisServer>;
  /** Resolves once every live node reports the cluster healthy and every slot has a live master. */
  healthy(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export interface RedisClusterOptions {
  masters?: number;
  replicasPerMaster?: number;
  /**
   * How long a master may be unreachable before its replica takes over. Low, so
   * a fault test's failover takes seconds, not the default 15.
   */
  nodeTimeoutMs?: number;
  /** Run every node under this command, such as `['taskset', '-c', '0']`. */
  wrapper?: string[];
}

/**
 * A local Redis Cluster of `redis-server` children on free ports (3 masters
 * and 3 replicas by default), created with `redis-cli --cluster create` as an
 * operator would; resolves once it is healthy and every replica is in sync.
 */
export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisCluster> {
  const masters = options.masters ?? 3;
  const replicas = options.replicasPerMaster ?? 1;
  const args = [
    '--cluster-enabled', 'yes',
    '--cluster-config-file', 'nodes.conf',
    '--cluster-node-timeout', String(options.nodeTimeoutMs ?? 1000),
    // A replica may take over however long it was cut off: a test kills masters on purpose.
    '--cluster-replica-validity-factor', '0',
  ];
  const nodes = await Promise.all(Array.from({ length: masters * (1 + replicas) }, () => startRedisServer({ args, wrapper: options.wrapper, clusterBus: true })));
  const addresses = nodes.map((n) => `127.0.0.1:${n.port}`);
  try {
    await run('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', String(replicas), '--cluster-yes']);
  } catch (err) {
    await Promise.all(nodes.map((n) => n.stop()));
    throw err;
  }

  const ask = async <T>(node: RedisServer, fn: (r: Redis) => Promise<T>): Promise<T> => {
    const r = new Redis(node.port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    r.on('error', () => {});
    try {
      await r.connect();
      return await fn(r);
    } finally {
      r.disconnect();
    }
  };
  const alive = async (node: RedisServer) => ask(node, (r) => r.ping()).then(() => true, () => false);
  /** Slot ranges with their master's port, as a live node sees them. */
  const slotMap = async (): Promise<Array<[number, number, number]>> => {
    for (const node of nodes) {
      const slots = await ask(node, (r) => r.cluster('SLOTS')).catch(() => undefined);
      if (slots) return slots.map(([from, to, master]) => [from, to, master?.[1] ?? 0]);
    }
    throw new Error('no cluster node answers');
  };

  const cluster: RedisCluster = {
    nodes,
    seeds: addresses.join(','),
    async masterOf(slot) {
      const range = (await slotMap()).find(([from, to]) => slot >= from && slot <= to);
      const node = nodes.find((n) => n.port === range?.[2]);
      if (!node) throw new Error(`no master serves slot ${slot}`);
      return node;
    },
    async healthy(timeoutMs = 30_000) {
      await waitFor(
        async () => {
          const live = (await Promise.all(nodes.map(async (n) => ((await alive(n)) ? n : undefined)))).filter((n) => n !== undefined);
          const states = await Promise.all(live.map((n) => ask(n, (r) => r.cluster('INFO') as Promise<string>).catch(() => '')));
          if (!states.every((s) => s.includes('cluster_state:ok'))) return false;
          const map = await slotMap();
          const covered = map.reduce((sum, [from, to]) => sum + (to - from + 1), 0);
          return covered === 16384 && map.every(([, , port]) => live.some((n) => n.port === port));
        },
        timeoutMs,
        'the Redis Cluster to be healthy',
      );
    },
    async stop() {
      await Promise.all(nodes.map((n) => n.stop()));
    },
  };
  try {
    await cluster.healthy();
    // Replicas sync after the slots are assigned; until their links are online, WAIT counts none.
    await waitFor(
      async () => {
        const infos = await Promise.all(nodes.map((n) => ask(n, (r) => r.info('replication'))));
        const ofMasters = infos.filter((info) => info.includes('role:master'));
        return ofMasters.length === masters && ofMasters.every((info) => (info.match(/state=online/g) ?? []).length >= replicas);
      },
      30_000,
      'every replica to be in sync',
    );
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}
