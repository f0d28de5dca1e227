import type { ServiceProcess } from '@parking-realtime/launcher';

/**
 * How a service that dies is brought back: as compose's `restart:
 * unless-stopped` does, with Docker's doubling delay. A service stopped on
 * purpose (`kill()` on its handle, or the stack stopping) stays stopped.
 */
export interface RestartPolicy {
  /** Wait before restarting a service that died. Default 500 ms. */
  firstDelayMs: number;
  /** The wait doubles with each death or failed start in a row, up to this. Default 10 s. */
  maxDelayMs: number;
  /** A process that stayed up this long was healthy: its death waits `firstDelayMs` again. Default 10 s. */
  resetAfterMs: number;
  /** On stop, the signal first, then SIGKILL if the process is still there after this. Default 20 s (a service gives up on a clean stop after 15 s). */
  stopGraceMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = { firstDelayMs: 500, maxDelayMs: 10_000, resetAfterMs: 10_000, stopGraceMs: 20_000 };

/** What the supervisor saw and did; `npm start` prints one line for each. */
export type SupervisorEvent =
  | { type: 'died'; pid: number; code: number | null; signal: NodeJS.Signals | null; restartInMs: number }
  | { type: 'restarted'; pid: number; restarts: number; downMs: number }
  | { type: 'restart-failed'; error: Error; restartInMs: number };

export interface SupervisorOptions {
  /** Starts one process of the service and resolves once it is ready; `signal` aborts a start in progress. */
  start: (signal: AbortSignal) => Promise<ServiceProcess>;
  policy?: Partial<RestartPolicy>;
  onEvent?: (event: SupervisorEvent) => void;
  /** The clock and the wait between restarts; tests replace them. */
  now?: () => number;
  wait?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/**
 * A supervised service, usable wherever a `ServiceProcess` is: `pid`, `logs`
 * and `output()` are those of its current process; `kill()` stops it for
 * good (no restart), and `exited` resolves then.
 */
export interface SupervisedService extends ServiceProcess {
  /** The process running now (or the last one, once stopped). */
  readonly current: ServiceProcess;
  /** How many times it was brought back. */
  readonly restarts: number;
}

const abortableWait = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

/** Sends `signal`, then SIGKILL if the process has not exited within `graceMs`. */
export async function terminate(proc: ServiceProcess, signal: NodeJS.Signals, graceMs: number): Promise<void> {
  if (proc.hasExited()) return;
  const force = setTimeout(() => void proc.kill('SIGKILL'), graceMs);
  try {
    await proc.kill(signal);
  } finally {
    clearTimeout(force);
  }
}

/**
 * Starts a service and keeps it running: when its process dies, it is
 * started again after the policy's delay, until `kill()`. The first start
 * is not retried: if it fails, so does this (the caller has a config or
 * environment problem to report, not a crash to ride out).
 */
export async function supervise(options: SupervisorOptions): Promise<SupervisedService> {
  const policy = { ...DEFAULT_RESTART_POLICY, ...options.policy };
  const now = options.now ?? Date.now;
  const wait = options.wait ?? abortableWait;
  const emit = options.onEvent ?? (() => {});
  const abort = new AbortController();
  let current = await options.start(abort.signal);
  let restarts = 0;
  let stopped = false;

  const watch = async (): Promise<void> => {
    let delay = policy.firstDelayMs;
    let upSince = now();
    for (;;) {
      const { code, signal } = await current.exited;
      if (stopped) return;
      const diedAt = now();
      if (diedAt - upSince >= policy.resetAfterMs) delay = policy.firstDelayMs;
      emit({ type: 'died', pid: current.pid, code, signal, restartInMs: delay });
      for (;;) {
        await wait(delay, abort.signal);
        if (stopped) return;
        delay = Math.min(delay * 2, policy.maxDelayMs);
        try {
          const next = await options.start(abort.signal);
          current = next;
          // Stopped while it came up: `kill()` terminates it once this returns.
          if (stopped) return;
          restarts += 1;
          upSince = now();
          emit({ type: 'restarted', pid: next.pid, restarts, downMs: upSince - diedAt });
          break;
        } catch (err) {
          if (stopped) return;
          emit({ type: 'restart-failed', error: err as Error, restartInMs: delay });
        }
      }
    }
  };
  const watching = watch();

  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let resolveExited!: (value: { code: number | null; signal: NodeJS.Signals | null }) => void;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    resolveExited = resolve;
  });
  let stopping: Promise<void> | undefined;
  const kill = (signal: NodeJS.Signals = 'SIGTERM') => {
    stopping ??= (async () => {
      stopped = true;
      abort.abort();
      await terminate(current, signal, policy.stopGraceMs);
      await watching;
      await terminate(current, signal, policy.stopGraceMs);
      exit = await current.exited;
      resolveExited(exit);
    })();
    return stopping;
  };

  return {
    name: current.name,
    url: current.url,
    port: current.port,
    get pid() {
      return current.pid;
    },
    get logs() {
      return current.logs;
    },
    get current() {
      return current;
    },
    get restarts() {
      return restarts;
    },
    output: () => current.output(),
    exited,
    hasExited: () => exit !== undefined,
    kill,
  };
}
