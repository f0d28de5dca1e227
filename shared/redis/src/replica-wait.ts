import type { Redis } from 'ioredis';
import { isCluster, type RedisClient } from './redis.js';
import { slotOf } from './redis-names.js';

/** How long a count of attached replicas is trusted before INFO is asked again. */
const ATTACHED_TTL_MS = 1000;

/**
 * Waits, after a write to `key`, until up to `replicas` replicas have it
 * (WAIT on the connection that wrote it: on a cluster, the node connection
 * serving the key's slot). It waits for as many as the master has attached:
 * a master left without replicas (its own replica was promoted in a
 * failover and none replaced it) is not waited on, where WAIT would block
 * for its whole timeout on every write. Resolves with [acknowledged, waited for].
 */
export class ReplicaWait {
  private readonly attached = new Map<Redis, { at: number; count: Promise<number> }>();

  constructor(
    private readonly redis: RedisClient,
    private readonly replicas: number,
    private readonly timeoutMs: number,
  ) {}

  async afterWriteTo(key: string): Promise<[acknowledged: number, wanted: number]> {
    const node = this.nodeOf(key);
    const wanted = Math.min(this.replicas, await this.attachedTo(node));
    if (wanted === 0) return [0, 0];
    return [await node.wait(wanted, this.timeoutMs), wanted];
  }

  private nodeOf(key: string): Redis {
    const redis = this.redis;
    if (!isCluster(redis)) return redis;
    const master = redis.slots[slotOf(key)]?.[0];
    const node = redis.nodes('master').find((n) => `${n.options.host}:${n.options.port}` === master);
    if (!node) throw new Error(`no master known for the slot of ${key}`);
    return node;
  }

  private attachedTo(node: Redis): Promise<number> {
    const now = Date.now();
    const cached = this.attached.get(node);
    if (cached && now - cached.at < ATTACHED_TTL_MS) return cached.count;
    const count = node.info('replication').then((info) => Number(/connected_slaves:(\d+)/.exec(info)?.[1] ?? 0));
    this.attached.set(node, { at: now, count });
    count.catch(() => this.attached.delete(node));
    return count;
  }
}
