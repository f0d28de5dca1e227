import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { START_SCRIPT } from '@parking-realtime/local-stack';
import { freePort, REPO_ROOT } from '@parking-realtime/testing';

/**
 * `npm start` as users run it: the local stack's START_SCRIPT (what
 * infra/scripts/start.sh execs once the dependencies are there) as a child
 * process, on free ports, with the environment given.
 */
export interface LocalStackRun {
  pid: number;
  /** nginx, the one entry point: http://127.0.0.1:<NGINX_PORT>. */
  url: string;
  ports: { nginx: number; authToken: number; notifiers: number[]; eventIngest: number };
  /** The start process' own lines (banner, deaths, restarts, errors). */
  stderr(): string;
  /** The services' logs, copied through. */
  stdout(): string;
  /** Resolves with the first stderr line matching `pattern`, now or when it is written. */
  line(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGINT (Ctrl-C), then its exit; SIGKILL if it has not exited within `timeoutMs`. */
  stop(timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `npm start`'s entry point and waits for its banner; rejects with its output if it exits first. */
export async function runLocalStack(env: Record<string, string>, timeoutMs = 90_000): Promise<LocalStackRun> {
  const ports = { nginx: await freePort(), authToken: await freePort(), notifiers: [await freePort(), await freePort()], eventIngest: await freePort() };
  const run = spawnLocalStack({
    NGINX_PORT: String(ports.nginx),
    AUTH_TOKEN_PORT: String(ports.authToken),
    NOTIFIER_PORTS: ports.notifiers.join(','),
    EVENT_INGEST_PORT: String(ports.eventIngest),
    ...env,
  });
  try {
    await run.line(/parking-realtime is running on/, timeoutMs);
  } catch (err) {
    run.child.kill('SIGINT');
    await run.exited;
    throw err;
  }
  return {
    pid: run.child.pid!,
    url: `http://127.0.0.1:${ports.nginx}`,
    ports,
    stderr: run.stderr,
    stdout: run.stdout,
    line: run.line,
    exited: run.exited,
    stop: async (stopTimeoutMs = 60_000) => {
      if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGINT');
      const force = setTimeout(() => run.child.kill('SIGKILL'), stopTimeoutMs);
      const result = await run.exited;
      clearTimeout(force);
      return result;
    },
  };
}

/** The start process with exactly this environment (and PATH), without waiting for anything. */
export function spawnLocalStack(env: Record<string, string>) {
  const child: ChildProcess = spawn(process.execPath, ['--conditions=pr-source', '--import', 'tsx', START_SCRIPT], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let stdout = '';
  const waiters = new Set<() => void>();
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    for (const waiter of [...waiters]) waiter();
  });
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      resolve({ code, signal });
      for (const waiter of [...waiters]) waiter();
    });
  });
  const line = (pattern: RegExp, timeoutMs = 60_000) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const check = () => {
        const match = stderr.split('\n').map((l) => pattern.exec(l)).find((m) => m !== null);
        if (match) return done(() => resolve(match));
        if (child.exitCode !== null || child.signalCode !== null) {
          done(() => reject(new Error(`npm start exited (${child.exitCode ?? child.signalCode}) before printing ${pattern}:\n${stderr}`)));
        }
      };
      const timer = setTimeout(() => done(() => reject(new Error(`no line ${pattern} within ${timeoutMs} ms:\n${stderr}`))), timeoutMs);
      const done = (settle: () => void) => {
        clearTimeout(timer);
        waiters.delete(check);
        settle();
      };
      waiters.add(check);
      check();
    });
  return { child, exited, line, stderr: () => stderr, stdout: () => stdout };
}

/** A process as /proc shows it: its start time tells it apart from a later one with the same pid. */
export interface ProcessInfo {
  pid: number;
  ppid: number;
  startTime: string;
  command: string;
}

function processInfo(pid: number): (ProcessInfo & { state: string }) | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name sits in parentheses and may hold spaces: the fields follow the last `)`.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
    return { pid, state: fields[0]!, ppid: Number(fields[1]), startTime: fields[19]!, command };
  } catch {
    return undefined; // gone
  }
}

/** Every live process below `pid` (children, their children, …). */
export function descendantsOf(pid: number): ProcessInfo[] {
  const all = readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map((name) => processInfo(Number(name)))
    .filter((p): p is ProcessInfo & { state: string } => p !== undefined && p.state !== 'Z');
  const found: ProcessInfo[] = [];
  const parents = [pid];
  while (parents.length > 0) {
    const parent = parents.pop()!;
    for (const p of all.filter((c) => c.ppid === parent)) {
      found.push(p);
      parents.push(p.pid);
    }
  }
  return found;
}

/** Whether that very process still runs (a zombie has ended; a new process with its pid is another one). */
export function stillRunning(p: ProcessInfo): boolean {
  const now = processInfo(p.pid);
  return now !== undefined && now.state !== 'Z' && now.startTime === p.startTime;
}

/** The running process of a service under the start process: the one with that script and PORT. */
export function serviceProcess(stackPid: number, service: 'auth-token' | 'notifier' | 'event-ingest', port: number): ProcessInfo | undefined {
  return descendantsOf(stackPid).find((p) => {
    if (!p.command.includes(`services/${service}/src/main.ts`)) return false;
    try {
      return readFileSync(`/proc/${p.pid}/environ`, 'utf8').split('\0').includes(`PORT=${port}`);
    } catch {
      return false;
    }
  });
}
