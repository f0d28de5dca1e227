import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';

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
}

/** True when a container engine is reachable, so testcontainers can be used. */
function containerEngineReachable(): boolean {
  if (process.env.TEST_REDIS === 'process') return false;
  if (process.env.TEST_REDIS === 'container') return true;
  return Boolean(process.env.DOCKER_HOST) || existsSync('/var/run/docker.sock');
}

/**
 * A throwaway Redis for one test suite: testcontainers' Redis when a container
 * engine is reachable, otherwise a `redis-server` child on a free port.
 * Never the machine's shared Redis.
 */
export async function startRedis(options: TestRedisOptions = {}): Promise<TestRedis> {
  if (containerEngineReachable() && !options.appendonly && !options.wrapper && !options.args) return startContainerRedis();
  return startProcessRedis(options);
}

async function startContainerRedis(): Promise<TestRedis> {
  const { RedisContainer } = await import('@testcontainers/redis');
  const container = await new RedisContainer('redis:8.0.1-alpine').start();
  const url = container.getConnectionUrl();
  const port = container.getPort();
  const unsupported = async () => {
    throw new Error('kill/restart need TEST_REDIS=process');
  };
  return {
    url,
    port,
    kill: unsupported,
    restart: unsupported,
    pause: () => {
      throw new Error('pause/resume need TEST_REDIS=process');
    },
    resume: () => {
      throw new Error('pause/resume need TEST_REDIS=process');
    },
    stop: async () => {
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
