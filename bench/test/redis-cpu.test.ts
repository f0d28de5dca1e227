import { startRedis, startRedisCluster } from '@parking-realtime/testing';
import { Cluster, Redis } from 'ioredis';
import t from 'tap';
import { RedisCpuMeter } from '../src/redis-cpu.js';

const WRITES = 5000;
// `args` (even none) makes startRedis run a redis-server child, on 127.0.0.1 where the meter reads it.

t.test('one Redis: its CPU per write is counted on the one master', async (t) => {
  const redis = await startRedis({ args: [] });
  const client = new Redis(redis.port, '127.0.0.1');
  const meter = await RedisCpuMeter.open([redis.port]);
  t.teardown(async () => {
    await meter.close();
    client.disconnect();
    await redis.stop();
  });

  const { cpu } = await meter.measure(
    () => Promise.all(Array.from({ length: WRITES }, (_, i) => client.set(`k${i}`, 'v'))),
    () => WRITES,
  );
  t.equal(cpu.nodes.length, 1);
  t.equal(cpu.nodes[0]!.role, 'master');
  t.ok(cpu.total > 0, `some CPU per write (${cpu.total} µs)`);
  t.equal(cpu.masters, cpu.total, 'all of it on the master');
  t.equal(cpu.replicas, 0);
  t.ok(cpu.busiestPercent > 0 && cpu.busiestPercent <= 100, `busy ${cpu.busiestPercent}% of a core`);
  const set = cpu.commands.find((c) => c.command === 'set');
  t.equal(cpu.commands[0]?.command, 'set', 'SET is where the time went');
  t.equal(set?.calls, 1, 'one SET per write');
  t.ok(set!.us > 0 && set!.us <= cpu.total, `inside it, part of the CPU per write (${set?.us} of ${cpu.total} µs)`);
});

t.test('a cluster: writes spread over every master, and the replicas pay to follow', async (t) => {
  const cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1 });
  const ports = cluster.nodes.map((n) => n.port);
  const client = new Cluster([{ host: '127.0.0.1', port: ports[0]! }]);
  const meter = await RedisCpuMeter.open(ports);
  t.teardown(async () => {
    await meter.close();
    client.disconnect();
    await cluster.stop();
  });

  const { cpu } = await meter.measure(
    () => Promise.all(Array.from({ length: WRITES }, (_, i) => client.set(`k${i}`, 'x'.repeat(100)))),
    () => WRITES,
  );
  const masters = cpu.nodes.filter((n) => n.role === 'master');
  const replicas = cpu.nodes.filter((n) => n.role === 'replica');
  t.equal(masters.length, 3, 'three masters');
  t.equal(replicas.length, 3, 'three replicas');
  for (const m of masters) t.ok(m.us > 0, `master ${m.port} did some of the writes (${m.us} µs each)`);
  t.ok(cpu.replicas > 0, `the replicas used CPU (${cpu.replicas} µs per write)`);
  t.ok(Math.abs(cpu.total - (cpu.masters + cpu.replicas)) < 0.5, 'the total is masters plus replicas');
});

t.test('an idle window is read per second of wall time', async (t) => {
  const redis = await startRedis({ args: [] });
  const meter = await RedisCpuMeter.open([redis.port]);
  t.teardown(async () => {
    await meter.close();
    await redis.stop();
  });
  const idle = await meter.idle(300);
  t.ok(idle.total >= 0 && idle.total < 200_000, `an idle Redis uses little (${idle.total} µs/s)`);
});
