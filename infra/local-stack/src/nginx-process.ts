import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_NGINX_LIMITS, NGINX_DIR, type NginxLimits, type NginxTarget, renderNginxConfig } from './nginx-config.js';

export interface NginxProcess {
  url: string;
  port: number;
  configPath: string;
  /** nginx's prefix folder (logs, temp files, the rendered config). */
  dir: string;
  /** What nginx wrote to its access log so far. */
  accessLog(): string;
  stop(): Promise<void>;
}

export const NGINX_BIN = ['/usr/sbin/nginx', 'nginx'].find((bin) => !spawnSync(bin, ['-v']).error) ?? 'nginx';

export interface LocalNginxOptions {
  port: number;
  authToken: number[];
  notifiers: number[];
  eventIngest: number[];
  demoRoot?: string;
  /** Defaults to the limits every deployment uses. */
  limits?: Partial<NginxLimits>;
}

/** The template rendered for local processes, in a fresh prefix folder of its own. */
export function renderLocalConfig(options: LocalNginxOptions): { dir: string; configPath: string } {
  const dir = mkdtempSync(join(tmpdir(), 'pr-nginx-'));
  // mkdtemp makes the folder 0700. Started as root, nginx's workers run as
  // `nobody` and could not reach their temp folders inside it: every body
  // nginx buffers to disk was answered 500.
  chmodSync(dir, 0o755);
  mkdirSync(join(dir, 'logs'));
  mkdirSync(join(dir, 'temp'));
  const local = (ports: number[]) => ports.map((p) => `127.0.0.1:${p}`);
  const target: NginxTarget = {
    listen: `127.0.0.1:${options.port}`,
    authToken: local(options.authToken),
    eventIngest: local(options.eventIngest),
    notifiers: local(options.notifiers),
    pidFile: join(dir, 'nginx.pid'),
    errorLog: join(dir, 'logs', 'error.log'),
    accessLog: join(dir, 'logs', 'access.log'),
    tempDir: join(dir, 'temp'),
    mimeTypes: '/etc/nginx/mime.types',
    demoRoot: options.demoRoot ?? join(NGINX_DIR, 'html'),
    limits: { ...DEFAULT_NGINX_LIMITS, ...options.limits },
  };
  const configPath = join(dir, 'nginx.conf');
  writeFileSync(configPath, renderNginxConfig(target));
  return { dir, configPath };
}

/** `nginx -t` on a config; resolves with its exit code and output. */
export function testNginxConfig(configPath: string, dir: string): { ok: boolean; output: string } {
  const result = spawnSync(NGINX_BIN, ['-t', '-p', dir, '-e', join(dir, 'logs', 'error.log'), '-c', configPath]);
  return { ok: result.status === 0, output: `${result.stdout}${result.stderr}` };
}

function waitForPort(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      if (child.exitCode !== null) return reject(new Error(`nginx exited (${child.exitCode})`));
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve();
      });
      socket.once('error', () => {
        socket.destroy();
        if (Date.now() > deadline) reject(new Error(`nginx did not listen on ${port} within ${timeoutMs} ms`));
        else setTimeout(attempt, 25);
      });
    };
    attempt();
  });
}

/** Runs nginx in the foreground as a child, on the local upstreams. */
export async function startNginx(options: LocalNginxOptions): Promise<NginxProcess> {
  const { dir, configPath } = renderLocalConfig(options);
  const errorLog = join(dir, 'logs', 'error.log');
  // Its own process group, so that a last-resort kill takes its workers too:
  // a SIGKILLed master leaves them running, holding the port.
  const child = spawn(NGINX_BIN, ['-p', dir, '-e', errorLog, '-c', configPath, '-g', 'daemon off;'], {
    stdio: ['ignore', 'inherit', 'inherit'],
    detached: true,
  });
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', () => resolve()); // never started
  });
  const killGroup = () => {
    try {
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    } catch {}
  };
  const killOnExit = () => killGroup();
  process.once('exit', killOnExit);
  try {
    await waitForPort(options.port, child, 10_000);
  } catch (err) {
    killGroup();
    await exited;
    process.off('exit', killOnExit);
    let log = '';
    try {
      log = readFileSync(errorLog, 'utf8');
    } catch {}
    throw new Error(`${(err as Error).message}\n${log}`);
  }
  return {
    url: `http://127.0.0.1:${options.port}`,
    port: options.port,
    configPath,
    dir,
    accessLog: () => readFileSync(join(dir, 'logs', 'access.log'), 'utf8'),
    stop: async () => {
      process.off('exit', killOnExit);
      if (child.exitCode === null) child.kill('SIGQUIT'); // graceful: finish requests in flight
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
