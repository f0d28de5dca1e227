import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { waitFor } from '@parking-realtime/testing';

/** The repository this file is in: its docker-compose.yml and build context. */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** What `npm run containers:prepare` records: the base images this machine uses (NODE_IMAGE, REDIS_IMAGE, NGINX_IMAGE). */
export const IMAGES_ENV = `${ROOT}.containers/images.env`;
const ARTIFACTS = `${ROOT}e2e/test-artifacts/`;

/** Debian's client when it is there: another docker CLI earlier in PATH may have no buildx (/work/shared/CONTAINERS.md). */
export const DOCKER = existsSync('/usr/bin/docker') ? '/usr/bin/docker' : 'docker';

/** `NAME=value` lines, comments and blank lines skipped. */
export function readEnvFile(path: string): Record<string, string> {
  if (!existsSync(path)) return {};
  const env: Record<string, string> = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (match) env[match[1]!] = match[2]!;
  }
  return env;
}

/** Compose v2 (`docker compose`) when the CLI has it, else Debian's docker-compose 1.29. */
export function composeCommand(): string[] {
  if (spawnSync(DOCKER, ['compose', 'version'], { stdio: 'ignore' }).status === 0) return [DOCKER, 'compose'];
  if (spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status === 0) return ['docker-compose'];
  throw new Error('neither `docker compose` nor `docker-compose` runs here: npm run containers:prepare installs them');
}

export interface Run {
  code: number | null;
  output: string;
}

/** Runs a command to its end, collecting stdout and stderr together; kills it past `timeoutMs`. */
export function run(command: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command[0]!, command.slice(1), { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** What `docker inspect` says about one container. */
export interface ContainerState {
  id: string;
  name: string;
  status: string;
  /** healthy, unhealthy, starting; '' without a healthcheck. */
  health: string;
  pid: number;
  restartCount: number;
}

/**
 * docker-compose.yml run as one compose project of its own: its containers,
 * networks and volumes carry the project's name, so nothing else is touched.
 */
export class ComposeProject {
  private readonly command = composeCommand();

  constructor(
    readonly name: string,
    /** The variables compose interpolates (the process' own environment is not passed). */
    private readonly variables: Record<string, string>,
  ) {}

  /** `docker compose` or `docker-compose 1.29`, for the record. */
  get flavour(): string {
    return this.command.join(' ');
  }

  private get env(): NodeJS.ProcessEnv {
    return {
      PATH: `/usr/bin:${process.env.PATH ?? ''}`,
      HOME: process.env.HOME ?? '/root',
      // Compose v1 builds through `docker build` (COMPOSE_DOCKER_CLI_BUILD): with BuildKit, the stages a target needs only.
      DOCKER_BUILDKIT: '1',
      COMPOSE_DOCKER_CLI_BUILD: '1',
      ...(process.env.DOCKER_HOST ? { DOCKER_HOST: process.env.DOCKER_HOST } : {}),
      ...this.variables,
      COMPOSE_PROJECT_NAME: this.name,
    };
  }

  /**
   * One compose command for this project. Its variables come from the
   * environment alone: `--env-file` names an empty file, so the repository's
   * .env, with whatever a developer put there, stays out of the test.
   */
  async compose(args: string[], timeoutMs = 600_000, log?: string): Promise<Run> {
    mkdirSync(ARTIFACTS, { recursive: true });
    const envFile = `${ARTIFACTS}compose-test.env`;
    writeFileSync(envFile, '');
    const result = await run([...this.command, '--env-file', envFile, '-f', `${ROOT}docker-compose.yml`, '-p', this.name, ...args], this.env, timeoutMs);
    if (log) writeFileSync(`${ARTIFACTS}${log}`, result.output);
    if (result.code !== 0) throw new Error(`${this.flavour} ${args.join(' ')} exited ${result.code}:\n${result.output.slice(-4000)}`);
    return result;
  }

  async docker(args: string[], timeoutMs = 60_000): Promise<string> {
    const result = await run([DOCKER, ...args], this.env, timeoutMs);
    if (result.code !== 0) throw new Error(`docker ${args.join(' ')} exited ${result.code}:\n${result.output}`);
    return result.output;
  }

  /** The ids of the project's containers (of one service), running or not, by compose's labels (v1 and v2 set the same). */
  async containers(service?: string): Promise<string[]> {
    const filters = ['--filter', `label=com.docker.compose.project=${this.name}`];
    if (service) filters.push('--filter', `label=com.docker.compose.service=${service}`);
    return (await this.docker(['ps', '-a', '-q', '--no-trunc', ...filters])).split('\n').filter(Boolean);
  }

  async inspect(ids: string[]): Promise<ContainerState[]> {
    if (ids.length === 0) return [];
    const format = '{{.Id}}|{{.Name}}|{{.State.Status}}|{{if .State.Health}}{{.State.Health.Status}}{{end}}|{{.State.Pid}}|{{.RestartCount}}';
    const out = await this.docker(['inspect', '--format', format, ...ids]);
    return out
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [id, name, status, health, pid, restartCount] = line.split('|');
        return { id: id!, name: name!.replace(/^\//, ''), status: status!, health: health!, pid: Number(pid), restartCount: Number(restartCount) };
      });
  }

  /** Resolves once every container of the project runs and passes its healthcheck. */
  async waitHealthy(timeoutMs: number): Promise<ContainerState[]> {
    let last: ContainerState[] = [];
    try {
      return await waitFor(
        async () => {
          last = await this.inspect(await this.containers());
          return last.length > 0 && last.every((c) => c.status === 'running' && c.health === 'healthy') ? last : undefined;
        },
        timeoutMs,
        'every container healthy',
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}: ${last.map((c) => `${c.name} ${c.status} ${c.health}`).join(', ')}`);
    }
  }

  /** A service's /metrics, read inside its container (nothing but nginx publishes a port). */
  async metrics(id: string, port: number): Promise<string> {
    const script = `fetch('http://127.0.0.1:${port}/metrics').then((r) => r.text()).then((t) => process.stdout.write(t), () => process.exit(1))`;
    return this.docker(['exec', id, 'node', '-e', script]);
  }

  /** `down -v`: containers, networks and the Redis volume gone; the built images stay for the next run's cache. */
  async down(): Promise<void> {
    await this.compose(['down', '-v', '--remove-orphans', '--timeout', '5'], 180_000);
  }
}
