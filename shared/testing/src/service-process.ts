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

/**
 * Runs a service from its TypeScript source as a separate process, with PORT=0,
 * and resolves once it logs the address it listens on.
 */
export function startService(
  name: ServiceName,
  env: Record<string, string>,
  timeoutMs = 20_000,
  /** Also copy the service's output to this process' stdout (the local stack does). */
  echo = false,
): Promise<ServiceProcess> {
  return startNodeProcess({ name, script: `services/${name}/src/main.ts`, env, timeoutMs, echo });
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
  timeoutMs?: number;
  echo?: boolean;
  /**
   * For processes that log below info (so never print the listening line):
   * they listen on `port`, and are ready once `GET path` answers 200.
   */
  readyWhen?: { port: number; path: string };
}

/**
 * Runs a TypeScript entry point as a separate node process, with PORT=0, and
 * resolves once it logs (pino JSON) "Server listening at http://127.0.0.1:<port>".
 */
export function startNodeProcess(options: NodeProcessOptions): Promise<ServiceProcess> {
  const { name, env, timeoutMs = 20_000, echo = false } = options;
  const nodeArgv = [...(options.nodeArgs ?? []), '--conditions=pr-source', '--import', 'tsx', options.script];
  const [command, ...args] = options.wrapper?.length ? [...options.wrapper, process.execPath, ...nodeArgv] : [process.execPath, ...nodeArgv];
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
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const stopOnExit = () => child.kill('SIGKILL');
  process.once('exit', stopOnExit);

  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start within ${timeoutMs} ms:\n${raw}`)), timeoutMs);
    let started = false;
    const ready = (url: string, port: number) => {
      if (started) return;
      started = true;
      clearTimeout(timer);
      resolve({
        name,
        url,
        port,
        pid: child.pid ?? 0,
        logs,
        output: () => raw,
        exited,
        hasExited: () => child.exitCode !== null || child.signalCode !== null,
        kill: async (signal = 'SIGTERM') => {
          if (child.exitCode === null && child.signalCode === null) child.kill(signal);
          await exited;
          process.off('exit', stopOnExit);
        },
      });
    };
    const { readyWhen } = options;
    if (readyWhen) {
      const url = `http://127.0.0.1:${readyWhen.port}`;
      const poll = async () => {
        while (!started && child.exitCode === null && child.signalCode === null) {
          const ok = await fetch(`${url}${readyWhen.path}`).then((r) => r.ok, () => false);
          if (ok) return ready(url, readyWhen.port);
          await new Promise((r) => setTimeout(r, 50));
        }
      };
      void poll();
    }
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
        const match = typeof entry.msg === 'string' && /Server listening at (http:\/\/127\.0\.0\.1:(\d+))/.exec(entry.msg);
        if (match) ready(match[1]!, Number(match[2]));
      }
    });
    exited.then(({ code, signal }) => {
      if (started) return;
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code ?? signal}) before listening:\n${raw}`));
    });
  });
}

export interface ScriptRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a TypeScript entry point (relative to the repository root) to its end,
 * as the npm scripts do, and resolves with its exit code and output; fails if
 * it has not exited within `timeoutMs`. `env` replaces the environment when
 * given; otherwise the script inherits this process' environment.
 */
export function runNodeScript(script: string, args: string[], options: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<ScriptRun> {
  const { timeoutMs = 30_000 } = options;
  const child = spawn(process.execPath, ['--conditions=pr-source', '--import', 'tsx', script, ...args], {
    cwd: REPO_ROOT,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (c: Buffer) => {
    stdout += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} ${args.join(' ')} did not exit within ${timeoutMs} ms:\n${stdout}${stderr}`));
    }, timeoutMs);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
