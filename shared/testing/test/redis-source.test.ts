import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import t from 'tap';
import { REPO_ROOT } from '../src/processes.js';
import { redisSource, startRedis, upstreamRedisImage } from '../src/redis-server.js';

// startRedis gives what TEST_REDIS asks for: `container` a testcontainers Redis (CI runs the core
// suites that way on the engine `npm run containers:prepare` starts), otherwise, with no engine,
// or for a suite that needs the process itself, a redis-server child. Never the machine's 6379.

/** The command line of whatever process listens on `port` on this host, if one does. */
function listenerCommand(port: number): string | undefined {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const inodes = new Set(
    ['/proc/net/tcp', '/proc/net/tcp6'].flatMap((file) =>
      readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .slice(1)
        .map((line) => line.trim().split(/\s+/))
        .filter((f) => f[3] === '0A' && f[1]!.endsWith(`:${hexPort}`))
        .map((f) => f[9]!),
    ),
  );
  for (const pid of execFileSync('ls', ['/proc']).toString().split('\n').filter((p) => /^\d+$/.test(p))) {
    try {
      const fds = execFileSync('ls', ['-l', `/proc/${pid}/fd`], { stdio: ['ignore', 'pipe', 'ignore'] }).toString();
      if ([...inodes].some((inode) => fds.includes(`socket:[${inode}]`))) return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
    } catch {
      // a process that ended meanwhile
    }
  }
  return undefined;
}

async function pong(url: string): Promise<string> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await client.connect();
    return await client.ping();
  } finally {
    client.disconnect();
  }
}

const wanted = redisSource();
const asked = process.env.TEST_REDIS;
// TEST_REDIS decides when set; unset, a reachable engine does.
t.equal(wanted, asked === 'container' || asked === 'process' ? asked : process.env.DOCKER_HOST || existsSync('/var/run/docker.sock') ? 'container' : 'process');

t.test(`with TEST_REDIS=${asked ?? '(unset)'}, startRedis() gives a ${wanted} Redis that answers`, async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  t.not(redis.port, 6379, 'never the shared Redis');
  t.equal(await pong(redis.url), 'PONG');
  const listener = listenerCommand(redis.port) ?? '';
  if (wanted === 'container') t.match(listener, /docker-proxy/, `its port is published by the engine (${listener})`);
  else t.match(listener, /^redis-server /, `its port is a redis-server child's (${listener})`);
});

t.test('a suite that signals its Redis always gets a redis-server child', async (t) => {
  const redis = await startRedis({ signals: true });
  t.teardown(() => redis.stop());
  t.match(listenerCommand(redis.port) ?? '', /^redis-server /);
  await redis.kill();
  await redis.restart();
  t.equal(await pong(redis.url), 'PONG', 'killed and restarted');
});

t.test("a container Redis's default image is the one infra/containers/lib.sh gives containers:prepare", async (t) => {
  const sourced = execFileSync('bash', ['-c', '. infra/containers/lib.sh && printf %s "$UPSTREAM_REDIS_IMAGE"'], { cwd: REPO_ROOT }).toString();
  t.match(sourced, /^redis:\S+$/, `lib.sh names a Redis image (${sourced})`);
  t.equal(upstreamRedisImage(), sourced, 'and startRedis reads that same name');
});
