import { execFileSync, spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { freePort, type ServiceProcess, startNodeProcess } from '@parking-realtime/launcher';

/**
 * Where things run: the system under test (services and their Redis) on one
 * core, the load generator (this process) on another, so neither steals the
 * other's time and the figures are per core. Without taskset or a second core,
 * nothing is pinned and the report says so.
 */
export interface CorePlan {
  pinned: boolean;
  /** Prefix for every process of the system under test. */
  sutWrapper: string[];
  describe: string;
}

export function planCores(): CorePlan {
  const hasTaskset = !spawnSync('taskset', ['--version']).error;
  if (!hasTaskset || availableParallelism() < 2) {
    return { pinned: false, sutWrapper: [], describe: 'not pinned (needs taskset and 2 cores)' };
  }
  // -a: every thread of this process, libuv's pool included.
  execFileSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });
  return { pinned: true, sutWrapper: ['taskset', '-c', '0'], describe: 'system under test and its Redis on core 0, load generator on core 1' };
}

/** How long a process of the system under test may take to be ready (a busy core is slow). */
export const SUT_READY_TIMEOUT_MS = 30_000;

/**
 * A process of the system under test, on its core, on a free port. The
 * systems log at warn, which hides the listening line, so it is ready once
 * `/healthz` answers.
 */
export async function startPinned(cores: CorePlan, name: string, script: string, env: Record<string, string>, nodeArgs: string[] = []): Promise<ServiceProcess> {
  const port = await freePort();
  return startNodeProcess({
    name,
    script,
    env: { ...env, PORT: String(port) },
    wrapper: cores.sutWrapper,
    nodeArgs,
    readyWhen: { port, path: '/healthz' },
    timeoutMs: SUT_READY_TIMEOUT_MS,
  });
}
