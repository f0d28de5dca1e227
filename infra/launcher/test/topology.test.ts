import { readdirSync, readFileSync } from 'node:fs';
import { type AddressInfo, connect, createServer, type Server } from 'node:net';
import { Redis } from 'ioredis';
import t from 'tap';
import { freePort } from '../src/free-port.js';
import { startRedisServer } from '../src/redis-server.js';
import { startService } from '../src/service-process.js';
import { startTopology } from '../src/topology.js';
import { waitFor } from '../src/wait-for.js';

// The topology `npm start`, the e2e tests and the bench run: real redis-server and service
// processes, each ready on its /readyz, and after stop() not one of them left.

const env = {
  JWT_SECRET: 'launcher-jwt-secret-that-is-long-enough-0123',
  SERVICE_JWT_SECRET: 'launcher-service-secret-long-enough-012345',
  // A Redis left in the caller's environment must not send a service elsewhere.
  REDIS_URL: 'redis://127.0.0.1:1',
};

/** Whether a process with this pid runs. */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function readyz(url: string): Promise<number> {
  const res = await fetch(`${url}/readyz`);
  await res.arrayBuffer();
  return res.status;
}

async function redisPid(url: string): Promise<number> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    return Number(/^process_id:(\d+)/m.exec(await redis.info('server'))?.[1]);
  } finally {
    redis.disconnect();
  }
}

t.test('a redis-server child and the three services come up ready on it, and stop() leaves no process', async (t) => {
  const authTokenPort = await freePort();
  const topology = await startTopology({ authTokenPort, notifierPorts: [0, 0], env, serviceEnv: { notifier: { HEARTBEAT_INTERVAL_MS: '600000' } } });
  let stopped = false;
  t.teardown(() => (stopped ? undefined : topology.stop()));

  t.ok(topology.redisServer, 'a redis-server child was started');
  t.equal(topology.redisUrl, topology.redisServer?.url, 'the services are on it');
  t.equal(topology.env.REDIS_URL, topology.redisUrl, "the caller's REDIS_URL was replaced");
  t.equal(topology.authToken.port, authTokenPort, 'a port asked for is kept');
  t.equal(topology.notifiers.length, 2, 'one notifier per port');
  const services = [topology.authToken, topology.eventIngest, ...topology.notifiers];
  t.same(
    services.map((s) => s.name),
    ['auth-token', 'event-ingest', 'notifier', 'notifier'],
  );
  for (const service of services) t.equal(await readyz(service.url), 200, `${service.name} on :${service.port} is ready`);
  const environ = (pid: number) => readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
  t.ok(topology.notifiers.every((n) => environ(n.pid).includes('HEARTBEAT_INTERVAL_MS=600000')), "a notifier's own env reaches the notifiers");
  t.notOk(environ(topology.authToken.pid).includes('HEARTBEAT_INTERVAL_MS=600000'), 'and no other service');

  const extra = await topology.startService('event-ingest', { LOG_LEVEL: 'warn' });
  t.equal(await readyz(extra.url), 200, 'another event-ingest, ready on a port of its own');
  t.not(extra.port, topology.eventIngest.port);

  const pids = [...services, extra].map((s) => s.pid);
  pids.push(await redisPid(topology.redisUrl!));
  t.ok(pids.every(running), 'every process runs');
  await topology.stop();
  stopped = true;
  t.same(pids.filter(running), [], 'no process is left');
  await t.rejects(fetch(`${topology.authToken.url}/readyz`), 'nothing answers on their ports');
});

/** The live processes this test process started (its children). */
function children(): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return state !== 'Z' && Number(ppid) === process.pid;
      } catch {
        return false; // gone
      }
    })
    .map(Number);
}

t.test('a service that cannot start fails the start, and whatever had started is stopped', async (t) => {
  const before = children();
  await t.rejects(
    startTopology({ notifierPorts: [0], env, serviceEnv: { 'event-ingest': { LOG_LEVEL: 'chatty' } } }),
    /event-ingest exited \(1\) before it was ready/,
  );
  t.same(children(), before, 'no redis-server or service process is left');
});

t.test('a port already taken fails the start, naming it', async (t) => {
  const taken: Server = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => taken.close(() => resolve())));
  const port = (taken.address() as { port: number }).port;
  await t.rejects(startTopology({ eventIngestPort: port, notifierPorts: [0], env }), new RegExp(`event-ingest: port ${port} is in use`));
});

t.test('given a Redis by URL, the topology starts none and leaves it running at stop()', async (t) => {
  const redis = await startRedisServer();
  t.teardown(() => redis.stop());
  const topology = await startTopology({ redis: { url: redis.url }, notifierPorts: [0], env });
  t.equal(topology.redisServer, undefined);
  t.equal(topology.env.REDIS_URL, redis.url);
  t.equal(await readyz(topology.notifiers[0]!.url), 200);
  await topology.stop();
  t.equal(await redisPid(redis.url).then(running), true, 'the given Redis still runs');
});

t.test('startService resolves once the service answers 200 on /readyz, not when it listens', async (t) => {
  const redis = await startRedisServer();
  // Redis behind a gate that refuses connections until it opens: the service listens, unready.
  let open = false;
  const gate = createServer((client) => {
    if (!open) return client.destroy();
    const upstream = connect(redis.port, '127.0.0.1');
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => gate.listen(0, '127.0.0.1', resolve));
  const port = await freePort();
  let started = false;
  const starting = startService('auth-token', { ...env, REDIS_URL: `redis://127.0.0.1:${(gate.address() as AddressInfo).port}`, PORT: String(port) });
  void starting.then(() => {
    started = true;
  });
  t.teardown(async () => {
    await (await starting.catch(() => undefined))?.kill();
    gate.close();
    await redis.stop();
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(() => readyz(url).then((status) => status === 503, () => false), 15_000, 'auth-token to listen, unready');
  t.equal(started, false, 'listening and answering 503 is not started');
  open = true;
  const service = await starting;
  t.equal(await readyz(service.url), 200, 'started: ready');
});
