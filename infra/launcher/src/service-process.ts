import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export type ServiceName = 'auth-token' | 'notifier' | 'event-ingest';

export interface ServiceProcess {
  name: string;
  url: string;
  port: number;
  pid: number;
  /** Every JSON log line the service printed so far. */
  logs: Array<Record<string, unknown>>;
  /** Raw output, for assertions that nothing secret was printed. */
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  hasExited(): boolean;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** A service's entry point, relative to the repository root. */
export const serviceScript = (name: ServiceName) => `services/${name}/src/main.ts`;

/**
 * Runs a service from its TypeScript source as a separate process, with PORT=0,
 * and resolves once it listens (the address it logs) and its `/readyz` answers
 * 200: a service listens before its Redis connection is up, and until then it
 * answers 503 (the token endpoint at once: its connection fails fast).
 */
export function startService(
  name: ServiceName,
  env: Record<string, string>,
  timeoutMs = 20_000,
  /** Also copy the service's output to this process' stdout (the local stack does). */
  echo = false,
): Promise<ServiceProcess> {
  return startNodeProcess({ name, script: serviceScript(name), env, timeoutMs, echo, readyPath: '/readyz' });
}

export interface NodeProcessOptions {
  /** Shown in errors and kept as `ServiceProcess.name`. */
  name: string;
  /** TypeScript entry point, relative to the repository root. */
  script: string;
  env: Record<string, string>;
  /** A command and its arguments to run node under, such as `['taskset', '-c', '0']`. */
  wrapper?: string[];
  /** Extra node flags, such as `--cpu-prof`. */
  nodeArgs?: string[];
  /** Past it, the process is killed and the start fails. Default 20 s. */
  timeoutMs?: number;
  echo?: boolean;
  /**
   * For processes on a port fixed in advance (`port`, also set as PORT by the
   * caller): ready once `GET path` answers 200, whatever they log (any
   * LOG_LEVEL). The listening line then does not count: a service listens
   * before its `/readyz` says it can serve.
   */
  readyWhen?: { port: number; path: string };
  /** For processes on PORT=0: once the listening line gives the port, ready only when `GET readyPath` also answers 200. */
  readyPath?: string;
  /** Aborted before the process is ready: it is killed, and the start fails once it has exited. */
  signal?: AbortSignal;
}

/** How long one readiness request may take before it counts as a no. */
const READY_REQUEST_TIMEOUT_MS = 2000;

/**
 * Runs a TypeScript entry point as a separate node process, with PORT=0, and
 * resolves once it logs (pino JSON) "Server listening at http://127.0.0.1:<port>",
 * or, with `readyWhen`, once its readiness path answers 200. A start that
 * fails (timeout, abort, exit) rejects only after the process has exited.
 */
export function startNodeProcess(options: NodeProcessOptions): Promise<ServiceProcess> {
  const { name, env, timeoutMs = 20_000, echo = false, readyWhen, readyPath, signal } = options;
  const nodeArgv = [...(options.nodeArgs ?? []), '--conditions=pr-source', '--import', 'tsx', options.script];
  const [command, ...args] = options.wrapper?.length ? [...options.wrapper, process.execPath, ...nodeArgv] : [process.execPath, ...nodeArgv];
  if (signal?.aborted) return Promise.reject(new Error(`${name}: start aborted`));
  const child: ChildProcess = spawn(
    command!,
    args,
    {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', LOG_LEVEL: 'info', PORT: '0', HOST: '127.0.0.1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let raw = '';
  let buffered = '';
  const logs: Array<Record<string, unknown>> = [];
  const hasExited = () => child.exitCode !== null || child.signalCode !== null;
  const stopOnExit = () => child.kill('SIGKILL');
  process.once('exit', stopOnExit);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      process.off('exit', stopOnExit);
      resolve({ code, signal });
    });
  });

  return new Promise((resolve, reject) => {
    // `settled`: ready, or failing (the process is being killed and the rejection waits for its exit).
    let settled = false;
    const fail = (message: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (!hasExited()) child.kill('SIGKILL');
      void exited.then(() => reject(new Error(message)));
    };
    const timer = setTimeout(() => fail(`${name} did not start within ${timeoutMs} ms:\n${raw}`), timeoutMs);
    const onAbort = () => fail(`${name}: start aborted`);
    signal?.addEventListener('abort', onAbort, { once: true });
    const ready = (url: string, port: number) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve({
        name,
        url,
        port,
        pid: child.pid ?? 0,
        logs,
        output: () => raw,
        exited,
        hasExited,
        kill: async (signal = 'SIGTERM') => {
          if (!hasExited()) child.kill(signal);
          await exited;
        },
      });
    };
    // Asks `path` until it answers 200 (then ready) or the start has failed.
    let polling = false;
    const pollUntilReady = async (url: string, port: number, path: string) => {
      if (polling) return;
      polling = true;
      while (!settled && !hasExited()) {
        const ok = await fetch(`${url}${path}`, { signal: AbortSignal.timeout(READY_REQUEST_TIMEOUT_MS) }).then(
          async (r) => {
            await r.arrayBuffer();
            return r.ok;
          },
          () => false,
        );
        if (ok && !hasExited()) return ready(url, port);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    if (readyWhen) void pollUntilReady(`http://127.0.0.1:${readyWhen.port}`, readyWhen.port, readyWhen.path);
    child.stderr?.on('data', (chunk: Buffer) => {
      raw += chunk.toString();
      if (echo) process.stderr.write(chunk);
    });
    child.stdout?.on('data', (chunk: Buffer) => {
      if (echo) process.stdout.write(chunk);
      const text = chunk.toString();
      raw += text;
      buffered += text;
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.trim()) continue;
        let entry: Record<string, unknown>;
        try {
          entry = JSON.parse(line) as Record<string, unknown>;
        } catch {
          continue;
        }
        logs.push(entry);
        const match = !readyWhen && typeof entry.msg === 'string' && /Server listening at (http:\/\/127\.0\.0\.1:(\d+))/.exec(entry.msg);
        if (match && readyPath) void pollUntilReady(match[1]!, Number(match[2]), readyPath);
        else if (match) ready(match[1]!, Number(match[2]));
      }
    });
    exited.then(({ code, signal }) => fail(`${name} exited (${code ?? signal}) before it was ready:\n${raw}`));
  });
}
