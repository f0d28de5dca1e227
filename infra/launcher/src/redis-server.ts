import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';

/** A `redis-server` child on a free port of 127.0.0.1, with a data directory of its own. */
export interface RedisServer {
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
  /** Kills it and removes its data directory. */
  stop(): Promise<void>;
}

export interface RedisServerOptions {
  /** Keep an append-only file (fsync on every write) so data survives a restart. Default off. */
  appendonly?: boolean;
  /** Run redis-server under this command, such as `['taskset', '-c', '0']`. */
  wrapper?: string[];
  /** More `redis-server` arguments, such as cluster mode's. */
  args?: string[];
  /**
   * A cluster node: its cluster bus gets a free port of its own (`--cluster-port`),
   * not Redis' default of the port + 10000, which nothing checked was free.
   */
  clusterBus?: boolean;
}

function assertRedisServerInstalled(): void {
  const probe = spawnSync('redis-server', ['--version']);
  if (probe.error) {
    throw new Error('redis-server is not installed: run `apt-get install redis-server` (npm test does this when root)');
  }
}

/**
 * Starts a `redis-server` child on a free port, saving nothing to disk unless
 * `appendonly`, and resolves once it accepts connections. Never the machine's
 * shared Redis. A child left running when this process exits is killed.
 */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  assertRedisServerInstalled();
  const port = await freePort();
  const busPort = options.clusterBus ? await freePort() : undefined;
  const dir = mkdtempSync(join(tmpdir(), 'pr-redis-'));
  let child: ChildProcess | undefined;

  const launch = () =>
    new Promise<void>((resolve, reject) => {
      const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir];
      args.push('--appendonly', options.appendonly ? 'yes' : 'no');
      if (options.appendonly) args.push('--appendfsync', 'always');
      if (busPort) args.push('--cluster-port', String(busPort));
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
