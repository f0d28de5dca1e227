import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, type RedisServer, type RedisServerOptions, startRedisServer } from '@parking-realtime/launcher';

/** A test's Redis: a container's has no process to signal, and its kill, restart, pause and resume throw. */
export type TestRedis = RedisServer;

/** The launcher's redis-server options (they always give a child), and `signals`. */
export interface TestRedisOptions extends RedisServerOptions {
  /** The test kills, restarts or pauses this Redis: a `redis-server` child, whose process it can signal. */
  signals?: boolean;
}

/** True when a container engine is reachable, so testcontainers can be used. */
function containerEngineReachable(): boolean {
  if (process.env.TEST_REDIS === 'process') return false;
  if (process.env.TEST_REDIS === 'container') return true;
  return Boolean(process.env.DOCKER_HOST) || existsSync('/var/run/docker.sock');
}

/**
 * What `npm run containers:prepare` recorded for this machine (`KEY=value`
 * lines): the images it built where upstream ones cannot be pulled, and the
 * testcontainers settings that go with them (Ryuk off where its image cannot
 * be pulled). The environment wins over the file.
 */
function preparedContainerSettings(): Record<string, string> {
  const file = join(REPO_ROOT, '.containers', 'images.env');
  if (!existsSync(file)) return {};
  const settings: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const match = /^\s*([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (match) settings[match[1]!] = match[2]!.trim().replace(/^(["'])(.*)\1$/, '$2');
  }
  return settings;
}

/**
 * A throwaway Redis for one test suite: testcontainers' Redis when a container
 * engine is reachable (or TEST_REDIS=container), otherwise a `redis-server`
 * child on a free port (or TEST_REDIS=process). Suites that need the process
 * itself (append-only files, cluster arguments, signals) always get a child.
 * Never the machine's shared Redis.
 */
export async function startRedis(options: TestRedisOptions = {}): Promise<TestRedis> {
  return redisSource(options) === 'container' ? startContainerRedis() : startRedisServer(options);
}

/** Where startRedis(options) takes its Redis from, here and now. */
export function redisSource(options: TestRedisOptions = {}): 'container' | 'process' {
  const needsProcess = options.appendonly || options.wrapper || options.args || options.signals;
  return containerEngineReachable() && !needsProcess ? 'container' : 'process';
}

/**
 * The upstream Redis image, as infra/containers/lib.sh names it for containers:prepare (compose's
 * default, which e2e's compose-config test holds it to). A container Redis runs REDIS_IMAGE, else the
 * image prepared for this machine, else this.
 */
export function upstreamRedisImage(): string {
  const lib = readFileSync(join(REPO_ROOT, 'infra', 'containers', 'lib.sh'), 'utf8');
  const image = /^UPSTREAM_REDIS_IMAGE=(\S+)$/m.exec(lib)?.[1];
  if (!image) throw new Error('infra/containers/lib.sh names no UPSTREAM_REDIS_IMAGE');
  return image;
}

async function startContainerRedis(): Promise<TestRedis> {
  const prepared = preparedContainerSettings();
  // Where containers:prepare built local images, Ryuk's (testcontainers' reaper) cannot be pulled
  // either, and the file turns it off: each container is then removed by stop(), or at exit below.
  for (const [key, value] of Object.entries(prepared)) {
    if (key.startsWith('TESTCONTAINERS_') && process.env[key] === undefined) process.env[key] = value;
  }
  // This machine may itself look like a container (/.dockerenv), and testcontainers would then
  // reach mapped ports through the bridge gateway; a local engine publishes them on the host.
  if (!process.env.DOCKER_HOST && process.env.TESTCONTAINERS_HOST_OVERRIDE === undefined) process.env.TESTCONTAINERS_HOST_OVERRIDE = '127.0.0.1';
  const image = process.env.REDIS_IMAGE || prepared.REDIS_IMAGE || upstreamRedisImage();
  const { RedisContainer } = await import('@testcontainers/redis');
  // As a redis-server child runs: nothing saved; reachable from the host through the mapped
  // port (an image without the official one's entrypoint would keep protected mode on).
  const container = await new RedisContainer(image).withCommand(['redis-server', '--protected-mode', 'no', '--save', '', '--appendonly', 'no']).start();
  const url = container.getConnectionUrl();
  const port = container.getPort();
  // A suite that ends without stop() (a failed assertion, an uncaught error) must not leave it running.
  const removeOnExit = () => spawnSync('docker', ['rm', '--force', '--volumes', container.getId()], { stdio: 'ignore' });
  process.once('exit', removeOnExit);
  const unsupported = (what: string) => () => {
    throw new Error(`${what} needs a redis-server child: startRedis({ signals: true })`);
  };
  return {
    url,
    port,
    kill: async () => unsupported('kill')(),
    restart: async () => unsupported('restart')(),
    pause: unsupported('pause'),
    resume: unsupported('resume'),
    stop: async () => {
      process.off('exit', removeOnExit);
      await container.stop();
    },
  };
}
