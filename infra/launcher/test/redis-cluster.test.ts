import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import t from 'tap';
import { startRedisCluster } from '../src/redis-cluster.js';

const [ephemeralLow] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);

t.test('a local cluster: each node has its cluster bus on a free port of its own, below the ephemeral range, and the cluster is ok', async (t) => {
  const cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 0 });
  t.teardown(() => cluster.stop());
  for (const node of cluster.nodes) {
    const redis = new Redis(node.port, '127.0.0.1');
    const [, bus] = (await redis.config('GET', 'cluster-port')) as [string, string];
    t.not(Number(bus), node.port + 10_000, `node ${node.port}: not the default bus port`);
    t.ok(Number(bus) >= 10_000 && Number(bus) < ephemeralLow!, `node ${node.port}: bus ${bus} below the ephemeral range`);
    t.match(await redis.cluster('INFO'), /cluster_state:ok/);
    redis.disconnect();
  }
});
