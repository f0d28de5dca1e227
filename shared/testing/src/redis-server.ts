import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';
import { REPO_ROOT } from './service-process.js';

export interface TestRedis {
  url: string;
  port: number;
  /** Kills the server (SIGKILL), like a crash. Data survives only with `appendonly`. */
  kill(): Promise<void>;
  /** Starts it again on the same port and data directory. */
  restart(): Promise<void>;
  /** Freezes the process (SIGSTOP): connected, answering nothing, as a hung server. */
  pause(): void;
  /** Lets a paused process go on (SIGCONT). */
  resume(): void;
  stop(): Promise<void>;
}

export interface TestRedisOptions {
  /** Keep an append-only file so data survives a restart. */
  appendonly?: boolean;
  /** Run redis-server under this command, such as `['taskset', '-c', '0']` (a redis-server child only). */
  wrapper?: string[];
  /** More `redis-server` arguments, such as cluster mode's (a `redis-server` child only). */
  args?: string[];
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
  return redisSource(options) === 'container' ? startContainerRedis() : startProcessRedis(options);
}

/** Where startRedis(options) takes its Redis from, here and now. */
export function redisSource(options: TestRedisOptions = {}): 'container' | 'process' {
  const needsProcess = options.appendonly || options.wrapper || options.args || options.signals;
  return containerEngineReachable() && !needsProcess ? 'container' : 'process';
}

/** A container Redis runs REDIS_IMAGE, else the image prepared for this machine, else this (compose's default). */
export const UPSTREAM_REDIS_IMAGE = 'redis:8.0.1-alpine';

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
  const image = process.env.REDIS_IMAGE || prepared.REDIS_IMAGE || UPSTREAM_REDIS_IMAGE;
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

function assertRedisServerInstalled(): void {
  const probe = spawnSync('redis-server', ['--version']);
  if (probe.error) {
    throw new Error('redis-server is not installed: run `apt-get install redis-server` (npm test does this when root)');
  }
}

async function startProcessRedis(options: TestRedisOptions): Promise<TestRedis> {
  assertRedisServerInstalled();
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'pr-redis-'));
  let child: ChildProcess | undefined;

  const launch = () =>
    new Promise<void>((resolve, reject) => {
      const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir];
      args.push('--appendonly', options.appendonly ? 'yes' : 'no');
      if (options.appendonly) args.push('--appendfsync', 'always');
      args.push(...(options.args ?? []));
      const [command, ...commandArgs] = [...(options.wrapper ?? []), 'redis-server', ...args];
      const proc = spawn(command!, commandArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
      child = proc;
      let output = '';
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Ready to accept connections')) {
          proc.stdout.off('data', onData);
          proc.stdout.resume();
          resolve();
        }
      };
      proc.stdout.on('data', onData);
      proc.stderr.resume();
      proc.once('exit', (code) => reject(new Error(`redis-server exited (${code}) before it was ready:\n${output}`)));
    });

  const killChild = () =>
    new Promise<void>((resolve) => {
      const proc = child;
      if (!proc || proc.exitCode !== null || proc.signalCode !== null) return resolve();
      proc.once('exit', () => resolve());
      proc.kill('SIGKILL');
    });

  await launch();
  const stopOnExit = () => child?.kill('SIGKILL');
  process.once('exit', stopOnExit);
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    kill: killChild,
    restart: launch,
    pause: () => child?.kill('SIGSTOP'),
    resume: () => child?.kill('SIGCONT'),
    stop: async () => {
      process.off('exit', stopOnExit);
      await killChild();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
