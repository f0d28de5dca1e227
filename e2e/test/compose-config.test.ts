import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { parse } from 'yaml';
import {
  COMPOSE_CONFIG_PATH,
  COMPOSE_TARGET,
  COMPOSE_TEMPLATE_PATH,
  COMPOSE_TEMPLATE_TARGET,
  DEFAULT_NGINX_LIMITS,
  GENERATED_HEADER,
  loadNginxLimits,
  NGINX_LIMIT_VARIABLES,
  type NginxLimits,
  nginxLimitsEnv,
  renderNginxConfig,
  testNginxConfig,
} from '@parking-realtime/local-stack';
import { authTokenEnv, loadAuthTokenConfig } from '../../services/auth-token/src/config.js';
import { eventIngestEnv } from '../../services/event-ingest/src/config.js';
import { notifierEnv } from '../../services/notifier/src/config.js';

// Static checks of the container deployment (no container engine needed):
// docker-compose.yml, infra/Dockerfile and infra/nginx/nginx.compose.conf must
// agree with each other and with the services' env schemas; the `cluster`
// profile (the stack on a Redis Cluster) is checked at the end. The stack
// itself runs in e2e/test/compose/compose-stack.ts (`npm run test:compose`).

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const read = (path: string) => readFileSync(`${ROOT}${path}`, 'utf8');

interface ComposeService {
  image?: string;
  build?: { context?: string; dockerfile?: string; args?: Record<string, unknown> | string[] };
  command?: string | string[];
  environment?: Record<string, unknown> | string[];
  ports?: unknown[];
  volumes?: unknown[];
  deploy?: { replicas?: number };
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: { test?: string | string[]; disable?: boolean };
  entrypoint?: string | string[];
  profiles?: string[];
  networks?: string[] | Record<string, { aliases?: string[] } | null>;
  restart?: string;
}

// The file shares settings through YAML merge keys (`<<: *anchor`), as compose reads them.
const compose = parse(read('docker-compose.yml'), { merge: true }) as { name?: string; services: Record<string, ComposeService> };
const services = compose.services;
const nginxConf = read('infra/nginx/nginx.compose.conf');
const dockerfile = read('infra/Dockerfile');

/** Each app service and the env schema it loads at start-up: these keys are all it reads. */
const APP_SCHEMAS = {
  'auth-token': authTokenEnv,
  'event-ingest': eventIngestEnv,
  notifier: notifierEnv,
} as const satisfies Record<string, Record<string, unknown>>;
type AppService = keyof typeof APP_SCHEMAS;
const APP_SERVICES = Object.keys(APP_SCHEMAS) as AppService[];
const isAppService = (name: string): name is AppService => Object.hasOwn(APP_SCHEMAS, name);

/** Compose's `environment`, as a map or as a list of KEY=VALUE. */
function environmentOf(service: ComposeService): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((entry) => {
        const i = entry.indexOf('=');
        return i < 0 ? [entry, ''] : [entry.slice(0, i), entry.slice(i + 1)];
      }),
    );
  }
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

/** The value a `${VAR:-default}` reference gets when VAR is unset; other values as written. */
const withDefault = (value: string) => /^\$\{[A-Za-z_][A-Za-z0-9_]*:?-([^}]*)\}$/.exec(value)?.[1] ?? value;

/** The port an app service listens on in compose: its PORT, else its schema's default. */
function listenPort(name: AppService): number {
  const port = environmentOf(services[name]!).PORT;
  if (port !== undefined && withDefault(port) !== '') return Number(withDefault(port));
  return schemaDefaultPort(name);
}

const schemaDefaultPort = (name: AppService) => Number((APP_SCHEMAS[name].PORT as { default?: unknown }).default);

/** depends_on as name → condition (the short list form means service_started). */
function dependsOn(service: ComposeService): Record<string, string | undefined> {
  const deps = service.depends_on ?? {};
  if (Array.isArray(deps)) return Object.fromEntries(deps.map((d) => [d, 'service_started']));
  return Object.fromEntries(Object.entries(deps).map(([k, v]) => [k, v?.condition]));
}

/**
 * `host:port` of every service nginx proxies to: compose's config has no
 * upstream blocks but, in each location, the address in a variable that
 * `proxy_pass http://$variable` uses (so nginx resolves it as requests come).
 */
function nginxUpstreamServers(conf: string): { host: string; port: number }[] {
  const servers: { host: string; port: number }[] = [];
  for (const pass of conf.matchAll(/^\s*proxy_pass\s+http:\/\/(\S+?);/gm)) {
    const variable = /^\$(\w+)$/.exec(pass[1]!)?.[1];
    const address = variable ? new RegExp(`^\\s*set \\$${variable} ([^\\s;]+);`, 'm').exec(conf)?.[1] : pass[1];
    const [host, port] = (address ?? '').split(':');
    servers.push({ host: host!, port: Number(port) });
  }
  return servers;
}

t.test('every service nginx proxies to is a compose service on that port', async (t) => {
  const upstreams = nginxUpstreamServers(nginxConf);
  t.same(
    [...new Set(upstreams.map((u) => u.host))].sort(),
    ['auth-token', 'event-ingest', 'notifier'],
    'nginx proxies to auth-token, event-ingest and notifier',
  );
  for (const { host, port } of upstreams) {
    t.ok(services[host], `${host} is a compose service`);
    if (!isAppService(host)) {
      t.fail(`${host} is not one of the app services`);
      continue;
    }
    t.equal(listenPort(host), port, `${host} listens on ${port}`);
  }
});

t.test('nginx publishes NGINX_HOST_PORT (8000) and is the edge image: the committed compose config and the demo page baked in', async (t) => {
  const nginx = services.nginx!;
  t.ok(nginx, 'an nginx service exists');
  t.same(nginx.ports, [`\${NGINX_HOST_PORT:-8000}:8000`], 'the host port (or address:port) comes from NGINX_HOST_PORT, 8000 by default, and maps to nginx 8000');
  t.match(nginxConf, /^\s*listen 8000;/m, 'the config listens on 8000');
  t.equal(nginx.build?.dockerfile, 'infra/Dockerfile');
  t.equal((nginx.build as { target?: string } | undefined)?.target, 'edge', 'built as the edge target');
  t.match(dockerfile, /^FROM \$\{NGINX_IMAGE\} AS edge$/m, 'the edge stage starts from NGINX_IMAGE');
  t.match(dockerfile, /^COPY infra\/nginx\/nginx\.compose\.conf \/etc\/nginx\/nginx\.conf$/m, 'with the committed compose config');
  t.ok(
    dockerfile.includes(`COPY --from=demo-build /app/clients/demo/dist ${COMPOSE_TARGET.demoRoot}`),
    'and the built demo page where the config serves it from',
  );
});

// ---- Base images, and what makes the files work on Debian's engine too --------

/** The ARGs declared before the first FROM, with their defaults. */
const globalArgs = Object.fromEntries(
  [...dockerfile.slice(0, dockerfile.search(/^FROM /m)).matchAll(/^ARG (\w+)(?:=(\S*))?$/gm)].map((m) => [m[1]!, m[2] ?? '']),
);
/** The upstream images infra/containers/lib.sh names (what containers:prepare falls back from). */
const containersLib = read('infra/containers/lib.sh');
const upstream = (name: string) => new RegExp(`^UPSTREAM_${name}=(\\S+)$`, 'm').exec(containersLib)?.[1];

t.test('base images are parameters: NODE_IMAGE, NGINX_IMAGE in the Dockerfile, REDIS_IMAGE in compose, upstream images by default', async (t) => {
  t.equal(globalArgs.NODE_IMAGE, 'node:22-bookworm-slim', 'NODE_IMAGE defaults to node 22 (slim)');
  t.match(globalArgs.NGINX_IMAGE, /^nginx:1\.(2[89]|[3-9]\d)(\.\d+)?-alpine$/, 'NGINX_IMAGE defaults to a current nginx');
  t.equal(upstream('NODE_IMAGE'), globalArgs.NODE_IMAGE, 'containers:prepare knows the same node default');
  t.equal(upstream('NGINX_IMAGE'), globalArgs.NGINX_IMAGE, 'and the same nginx default');
  t.equal(upstream('REDIS_IMAGE'), 'redis:8.0.1-alpine', 'and redis:8.0.1-alpine');
  const froms = [...dockerfile.matchAll(/^FROM (\S+) AS (\S+)$/gm)].map((m) => ({ image: m[1]!, stage: m[2]! }));
  t.equal(froms.length, [...dockerfile.matchAll(/^FROM /gm)].length, 'every stage is named');
  const stages = froms.map((f) => f.stage);
  for (const { image, stage } of froms) {
    const ok = [`\${NODE_IMAGE}`, `\${NGINX_IMAGE}`, `base-\${SERVICE}`, ...stages].includes(image);
    t.ok(ok, `stage ${stage} starts from a base image parameter or another stage (${image}), so nothing else is pulled`);
  }
  t.notMatch(dockerfile, /^#\s*syntax\s*=/m, 'no `# syntax=` line: BuildKit would pull that frontend image');
  t.notMatch(dockerfile, /--mount=/, 'no RUN --mount (the classic builder has none)');
  for (const name of [...APP_SERVICES, 'nginx']) {
    const args = (services[name]!.build?.args ?? {}) as Record<string, string>;
    t.equal(args.NODE_IMAGE, `\${NODE_IMAGE:-${globalArgs.NODE_IMAGE}}`, `${name} is built on NODE_IMAGE, the Dockerfile's default when unset`);
    t.equal(args.NGINX_IMAGE, `\${NGINX_IMAGE:-${globalArgs.NGINX_IMAGE}}`, `${name} gets NGINX_IMAGE (the classic builder builds the edge stage too)`);
  }
  for (const [name, service] of Object.entries(services)) {
    if (service.image) t.equal(service.image, `\${REDIS_IMAGE:-${upstream('REDIS_IMAGE')}}`, `${name} runs REDIS_IMAGE, redis:8.0.1-alpine by default`);
  }
});

/** The instructions of one named stage of the Dockerfile, up to the next FROM. */
const stage = (name: string) => {
  const start = dockerfile.search(new RegExp(`^FROM \\S+ AS ${name}$`, 'm'));
  const rest = dockerfile.slice(start + 1);
  const next = rest.search(/^FROM /m);
  return start < 0 ? '' : dockerfile.slice(start, next < 0 ? undefined : start + 1 + next);
};

t.test('the npm ci layer is shared by every service: SERVICE is not in scope where the workspace is installed', async (t) => {
  const deps = stage('deps');
  t.match(deps, /^RUN npm ci\b/m, 'the deps stage installs the workspace');
  t.notMatch(deps, /^ARG SERVICE\b/m, 'with no ARG SERVICE in scope (it would change the cache key of every later RUN)');
  const build = stage('build');
  t.match(build, /^FROM deps AS build$/m, 'build starts from it');
  t.ok(
    build.search(/^RUN npx turbo run build --filter=@parking-realtime\/server\.\.\./m) < build.search(/^ARG SERVICE\b/m),
    'and compiles the shared packages before SERVICE comes into scope: once for all services',
  );
  const prodDeps = stage('prod-deps');
  t.match(prodDeps, /^FROM deps AS prod-deps$/m, "a service's production dependencies come from the deps stage");
  t.match(prodDeps, /^RUN npm ci --omit=dev --prefer-offline\b/m, "from the npm cache it filled, not downloaded once more per service");
  t.match(stage('runtime'), /^COPY --from=prod-deps /m, 'the runtime image takes them from there');
  t.equal(globalArgs.SERVICE, 'missing', 'the global SERVICE, which picks the runtime base, defaults to `missing`, which prod-deps refuses');
  t.match(prodDeps, /if \[ "\$SERVICE" = missing \]; then[^\n]*\n[^\n]*build arg SERVICE is required/, 'with a message saying so');
});

const composeV1 = spawnSync('docker-compose', ['version', '--short'], { encoding: 'utf8' });
t.test('one compose file for compose v2 and Debian\'s docker-compose 1.29: no top-level `name:`', async (t) => {
  t.equal(compose.name, undefined, 'no top-level `name:` (v1 refuses it; COMPOSE_PROJECT_NAME or -p names the project)');
});

t.test('docker-compose 1.29 reads the file without a complaint', { skip: composeV1.status === 0 ? false : 'docker-compose is not installed here (npm run containers:prepare installs it)' }, async (t) => {
  // An empty env file: the repository's .env, whatever a developer put there, stays out of it (v1 wants a regular file).
  const dir = mkdtempSync(join(tmpdir(), 'pr-compose-env-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'empty.env'), '');
  const checked = spawnSync('docker-compose', ['-f', `${ROOT}docker-compose.yml`, '--env-file', join(dir, 'empty.env'), 'config', '-q'], {
    encoding: 'utf8',
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '' },
  });
  t.equal(checked.status, 0, `docker-compose ${composeV1.stdout.trim()} accepts the file (${checked.stderr.trim() || 'no warning'})`);
  t.equal(checked.stderr.trim(), '', 'without a warning');
});

t.test('the compose config finds the services through Docker\'s DNS without upstream `resolve`, which Debian\'s nginx 1.22 lacks', async (t) => {
  t.notMatch(nginxConf, /^\s*server\s+\S+.*\bresolve\b/m, 'no `resolve` on an upstream server (nginx 1.27.3+ only)');
  t.match(nginxConf, /^\s*resolver 127\.0\.0\.11 valid=\d+s\b/m, "Docker's DNS, re-read every few seconds");
  for (const name of ['auth_token', 'event_ingest', 'notifier']) {
    t.match(nginxConf, new RegExp(`^\\s*proxy_pass http://\\$${name}_address;`, 'm'), `${name}: proxy_pass through a variable, resolved as requests come`);
  }
});

const machineNginx = spawnSync('nginx', ['-v'], { encoding: 'utf8' });
t.test("the machine's nginx (Debian's 1.22 here, as in the local base image) accepts the compose config", { skip: machineNginx.status === 0 ? false : 'no nginx on this machine (npm test installs it)' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pr-compose-nginx-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  chmodSync(dir, 0o755);
  mkdirSync(join(dir, 'logs'));
  mkdirSync(join(dir, 'temp'));
  const configPath = join(dir, 'nginx.conf');
  // The compose rendering but for the paths a test may write to.
  writeFileSync(
    configPath,
    renderNginxConfig({ ...COMPOSE_TARGET, pidFile: join(dir, 'nginx.pid'), errorLog: join(dir, 'logs', 'error.log'), accessLog: join(dir, 'logs', 'access.log'), tempDir: join(dir, 'temp') }),
  );
  const result = testNginxConfig(configPath, dir);
  t.ok(result.ok, `nginx -t (${machineNginx.stderr.trim()}): ${result.output.trim()}`);
});

t.test('the Dockerfile copies every workspace manifest before npm ci, so the lockfile matches', async (t) => {
  const rootManifest = JSON.parse(read('package.json')) as { workspaces: string[] };
  const workspaces = rootManifest.workspaces.flatMap((pattern) =>
    pattern.endsWith('/*')
      ? readdirSync(join(ROOT, pattern.slice(0, -2)), { withFileTypes: true })
          .filter((d) => d.isDirectory() && existsSync(join(ROOT, pattern.slice(0, -2), d.name, 'package.json')))
          .map((d) => `${pattern.slice(0, -2)}/${d.name}`)
      : [pattern],
  );
  t.ok(workspaces.length >= 8, `${workspaces.length} workspaces`);
  for (const workspace of workspaces) {
    t.ok(dockerfile.includes(`COPY ${workspace}/package.json ${workspace}/`), `${workspace}/package.json is copied`);
  }
});

t.test('nginx waits until every app service is healthy', async (t) => {
  const deps = dependsOn(services.nginx!);
  for (const name of APP_SERVICES) t.equal(deps[name], 'service_healthy', `nginx depends on ${name} being healthy`);
});

t.test('notifiers scale out: no published host port and at least two replicas (--scale sets more)', async (t) => {
  const notifier = services.notifier!;
  t.same(notifier.ports ?? [], [], 'notifier publishes no host port');
  t.ok((notifier.deploy?.replicas ?? 1) >= 2, `notifier runs at least 2 replicas (got ${notifier.deploy?.replicas})`);
});

t.test('every variable compose sets for an app service is one that service reads', async (t) => {
  for (const name of APP_SERVICES) {
    const known = Object.keys(APP_SCHEMAS[name]);
    const set = Object.keys(environmentOf(services[name]!));
    t.ok(set.length > 0, `${name} has an environment`);
    t.same(
      set.filter((key) => !known.includes(key)),
      [],
      `${name} sets only variables its env schema declares`,
    );
  }
});

t.test('app services reach Redis by its compose name', async (t) => {
  for (const name of APP_SERVICES) {
    t.equal(withDefault(environmentOf(services[name]!).REDIS_URL ?? ''), 'redis://redis:6379', `${name} uses redis://redis:6379`);
  }
});

t.test('secrets are never defaulted to a fixed value in compose', async (t) => {
  // A fixed value would be accepted by NODE_ENV=production; empty falls back to the dev secret outside production only.
  const secrets: [AppService, string][] = [
    ['auth-token', 'JWT_SECRET'],
    ['event-ingest', 'SERVICE_JWT_SECRET'],
  ];
  for (const [name, key] of secrets) {
    const value = environmentOf(services[name]!)[key];
    t.ok(value !== undefined, `${name} passes ${key} through`);
    t.match(value, new RegExp(`^\\$\\{${key}(:?[-?][^}]*)?\\}$`), `${name} takes ${key} from the environment`);
    t.equal(/^\$\{[^:}]*:?-(.+)\}$/.exec(value ?? '')?.[1], undefined, `${key} has no non-empty default`);
  }
});

t.test('auth-token believes X-Forwarded-For only from private addresses (the compose network nginx is on)', async (t) => {
  for (const name of ['auth-token', 'auth-token-cluster']) {
    const value = environmentOf(services[name]!).TRUST_PROXY;
    t.match(value, /^\$\{TRUST_PROXY:-[^}]+\}$/, `${name}: TRUST_PROXY can be narrowed from the environment`);
    const { trustProxy } = loadAuthTokenConfig({ TRUST_PROXY: withDefault(value ?? '') });
    t.same(trustProxy, ['uniquelocal'], `${name}: the private ranges Docker gives the compose network`);
  }
});

t.test('redis is redis:8.0.1-alpine (unless REDIS_IMAGE says otherwise) with append-only persistence on a named volume', async (t) => {
  const redis = services.redis!;
  t.equal(withDefault(redis.image ?? ''), 'redis:8.0.1-alpine');
  const command = Array.isArray(redis.command) ? redis.command.join(' ') : (redis.command ?? '');
  t.match(command, /--appendonly yes\b/, 'redis runs with --appendonly yes');
  const dataVolume = (redis.volumes ?? []).map(String).find((v) => v.split(':')[1] === '/data');
  t.ok(dataVolume, '/data is a volume');
  t.ok(dataVolume && !/^[./~]/.test(dataVolume), '/data is a named volume');
  const healthcheck = [redis.healthcheck?.test ?? []].flat().join(' ');
  t.match(healthcheck, /redis-cli ping/, 'redis is healthy once it answers PING');
});

t.test('every app service waits for a healthy redis and has its own healthcheck', async (t) => {
  for (const name of APP_SERVICES) {
    const service = services[name]!;
    t.equal(dependsOn(service).redis, 'service_healthy', `${name} depends on redis being healthy`);
    const test = [service.healthcheck?.test ?? []].flat();
    t.ok(test.length > 0 && service.healthcheck?.disable !== true, `${name} has a healthcheck`);
    t.match(test.join(' '), /\/readyz\b/, `${name}'s healthcheck asks /readyz`);
  }
});

t.test('every app service is built from infra/Dockerfile with SERVICE set to its own name', async (t) => {
  for (const name of APP_SERVICES) {
    const build = services[name]!.build;
    t.equal(build?.context, '.', `${name} builds from the repository root`);
    t.equal(build?.dockerfile, 'infra/Dockerfile', `${name} uses infra/Dockerfile`);
    const args = Array.isArray(build?.args)
      ? Object.fromEntries(build.args.map((a) => a.split('=') as [string, string]))
      : (build?.args ?? {});
    t.equal(args.SERVICE, name, `${name} is built with SERVICE=${name}`);
  }
});

t.test('the Dockerfile builds in stages and runs a healthchecked service as a non-root user', async (t) => {
  const instructions = dockerfile
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const named = (word: string) => instructions.filter((line) => line.toUpperCase().startsWith(`${word} `));
  t.ok(named('FROM').length >= 2, 'at least two FROM stages');
  const healthchecks = named('HEALTHCHECK');
  t.ok(healthchecks.length > 0 && !healthchecks.some((h) => /^HEALTHCHECK\s+NONE$/i.test(h)), 'a HEALTHCHECK');
  const users = named('USER');
  const lastUser = users.at(-1)?.split(/\s+/)[1];
  t.ok(lastUser && !['root', '0'].includes(lastUser.split(':')[0]!), `the last USER is not root (got ${lastUser})`);
  // Each service's image stage sets PORT to that service's own default, which HEALTHCHECK uses.
  for (const name of APP_SERVICES) {
    const stage = new RegExp(`^FROM\\s+\\S+\\s+AS\\s+base-${name}\\n(?:(?!FROM\\s).*\\n)*?ENV\\s+PORT=(\\d+)`, 'im').exec(
      `${instructions.join('\n')}\n`,
    );
    t.ok(stage, `a base-${name} stage sets PORT`);
    t.equal(Number(stage?.[1]), schemaDefaultPort(name), `the ${name} image's PORT is its schema default`);
  }
});

t.test('the committed nginx.compose.conf and nginx.compose.conf.template are exactly what the template renders', async (t) => {
  t.equal(COMPOSE_CONFIG_PATH, `${ROOT}infra/nginx/nginx.compose.conf`);
  t.equal(nginxConf, `${GENERATED_HEADER}${renderNginxConfig(COMPOSE_TARGET)}`, 'run `npm run render:nginx` after changing the template or COMPOSE_TARGET');
  t.equal(COMPOSE_TEMPLATE_PATH, `${ROOT}infra/nginx/nginx.compose.conf.template`);
  t.equal(
    read('infra/nginx/nginx.compose.conf.template'),
    `${GENERATED_HEADER}${renderNginxConfig(COMPOSE_TEMPLATE_TARGET)}`,
    'run `npm run render:nginx` after changing the template or COMPOSE_TARGET',
  );
});

// ---- nginx's limits from the environment ----------------------------------

const LIMIT_KEYS = Object.keys(NGINX_LIMIT_VARIABLES) as Array<keyof NginxLimits>;
const nginxEnv = environmentOf(services.nginx!);
const ENTRYPOINT = 'infra/nginx/edge-entrypoint.sh';
const CHECK_LIMITS = 'infra/nginx/check-limits.sh';

/**
 * Runs the edge image's entrypoint as the container would (`nginx -g …` as its
 * command), on the committed template, with a stand-in `nginx` that only
 * records that it was started. Gives its exit status, stderr and the config it wrote.
 */
function runEntrypoint(env: Record<string, string>): { status: number | null; stderr: string; config: string | undefined; nginxRan: boolean } {
  const dir = mkdtempSync(join(tmpdir(), 'pr-edge-'));
  try {
    writeFileSync(join(dir, 'nginx'), `#!/bin/sh\necho "$@" > ${join(dir, 'nginx-ran')}\n`, { mode: 0o755 });
    const result = spawnSync('sh', [`${ROOT}${ENTRYPOINT}`, 'nginx', '-g', 'daemon off;'], {
      encoding: 'utf8',
      env: {
        PATH: `${dir}:${process.env.PATH ?? ''}`,
        EDGE_NGINX_TEMPLATE: `${ROOT}infra/nginx/nginx.compose.conf.template`,
        EDGE_NGINX_CONFIG: join(dir, 'nginx.conf'),
        ...env,
      },
    });
    const config = existsSync(join(dir, 'nginx.conf')) ? readFileSync(join(dir, 'nginx.conf'), 'utf8') : undefined;
    return { status: result.status, stderr: result.stderr, config, nginxRan: existsSync(join(dir, 'nginx-ran')) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

t.test('compose sets nginx\'s limits by the variables npm start reads, with the same defaults', async (t) => {
  t.same(Object.keys(nginxLimitsEnv).sort(), Object.values(NGINX_LIMIT_VARIABLES).sort(), 'npm start reads exactly these variables');
  for (const key of LIMIT_KEYS) {
    const name = NGINX_LIMIT_VARIABLES[key];
    t.match(nginxEnv[name], new RegExp(`^\\$\\{${name}:-[^}]+\\}$`), `${name} comes from the environment, with a default`);
    t.equal(withDefault(nginxEnv[name] ?? ''), String(DEFAULT_NGINX_LIMITS[key]), `${name} defaults to ${DEFAULT_NGINX_LIMITS[key]}, as in npm start`);
  }
  t.same(Object.keys(nginxEnv).sort(), Object.values(NGINX_LIMIT_VARIABLES).sort(), 'nginx gets these and nothing else');
  t.same(environmentOf(services['nginx-cluster']!), nginxEnv, 'nginx-cluster reads the same');
  t.same(services.nginx!.volumes ?? [], [], 'nothing is mounted: the image holds the template and its entrypoint, on any nginx base');
});

t.test('the edge image bakes in the template and an entrypoint of its own, which works on the official nginx image and on Debian\'s', async (t) => {
  t.match(dockerfile, /^COPY infra\/nginx\/nginx\.compose\.conf\.template \/etc\/nginx\/nginx\.conf\.template$/m, 'the template where the entrypoint reads it');
  const scripts = /^COPY (infra\/nginx\/edge-entrypoint\.sh infra\/nginx\/check-limits\.sh) (\S+)\/$/m.exec(dockerfile);
  t.ok(scripts, 'the entrypoint and the limits check, side by side (the entrypoint runs the check from its own folder)');
  t.match(dockerfile, new RegExp(`^ENTRYPOINT \\["${scripts?.[2]}/edge-entrypoint\\.sh"\\]$`, 'm'), 'as the entrypoint');
  t.match(dockerfile, /^CMD \["nginx", "-g", "daemon off;"\]$/m, 'running nginx in the foreground');
  t.match(dockerfile, /^STOPSIGNAL SIGQUIT$/m, "stopped gracefully (Debian's nginx base sets no stop signal)");
  for (const script of [ENTRYPOINT, CHECK_LIMITS]) {
    t.ok((statSync(`${ROOT}${script}`).mode & 0o111) !== 0, `${script} is executable (COPY keeps the mode)`);
    t.match(read(script), /^#!\/bin\/sh\n/, `${script} is POSIX sh (busybox on alpine, dash on Debian)`);
  }
});

t.test('the entrypoint fills the template into nginx.conf: with compose\'s defaults, or none set, exactly the committed config', async (t) => {
  const defaults = Object.fromEntries(Object.entries(nginxEnv).map(([k, v]) => [k, withDefault(v)]));
  const withDefaults = runEntrypoint(defaults);
  t.equal(withDefaults.status, 0, 'it succeeds');
  t.ok(withDefaults.nginxRan, 'and starts nginx');
  t.equal(withDefaults.config, nginxConf, "with compose's defaults: the committed nginx.compose.conf");
  t.equal(runEntrypoint({}).config, nginxConf, 'with nothing set (docker run without compose): the same');
  const composeTemplate = read('infra/nginx/nginx.compose.conf.template');
  const referenced = [...composeTemplate.matchAll(/\$\{?([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]!);
  t.same(
    [...new Set(referenced.filter((name) => name.startsWith('NGINX_')))].sort(),
    Object.values(NGINX_LIMIT_VARIABLES).sort(),
    'the template refers to each limit variable and to no other NGINX_ one',
  );
  const custom = runEntrypoint({ ...defaults, NGINX_API_RATE: '7r/m', NGINX_API_BURST: '3', NGINX_SOCKETS_PER_ADDRESS: '9' });
  t.match(custom.config, /zone=api_per_address:10m rate=7r\/m;/, 'a rate set in the environment reaches the config');
  t.match(custom.config, /limit_req zone=api_per_address burst=3 nodelay;/, 'so does a burst');
  t.match(custom.config, /limit_conn sockets_per_address 9;/, 'and a socket cap');
  t.notMatch(custom.config, /\$\{NGINX_/, 'nothing is left unfilled');
  t.match(custom.config, /\$binary_remote_addr/, "nginx's own $variables are left alone");
  const other = spawnSync('sh', [`${ROOT}${ENTRYPOINT}`, 'echo', 'not nginx'], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', NGINX_API_BURST: 'lots' } });
  t.equal(other.stdout, 'not nginx\n', 'any other command runs as it is, unchecked (a shell in the image for debugging)');
});

t.test('a bad NGINX_* value stops compose\'s nginx, naming the variable, as it stops npm start', async (t) => {
  const refused = runEntrypoint({ NGINX_WS_UPGRADE_RATE: 'fast' });
  t.not(refused.status, 0, 'the entrypoint exits with an error');
  t.match(refused.stderr, 'Invalid environment: NGINX_WS_UPGRADE_RATE must be', 'naming the variable');
  t.notOk(refused.nginxRan, 'nginx is not started');
  t.equal(refused.config, undefined, 'and no config is written');
  const cases: Array<[keyof NginxLimits, string]> = [
    ['apiRate', '50r/s'],
    ['apiRate', '30r/m'],
    ['apiRate', 'fast'],
    ['apiRate', '0r/s'],
    ['apiRate', '50r/h'],
    ['apiRate', '50 r/s'],
    ['apiBurst', '0'],
    ['apiBurst', '1000000'],
    ['apiBurst', '1000001'],
    ['apiBurst', '-1'],
    ['apiBurst', 'lots'],
    ['apiConnectionsPerAddress', '1'],
    ['apiConnectionsPerAddress', '0'],
    ['wsUpgradeRate', '1r/m'],
    ['wsUpgradeRate', '1.5r/s'],
    ['wsUpgradeBurst', '500'],
    ['wsUpgradeBurst', '2.5'],
    ['wsUpgradeBurst', '1e3'],
    ['wsUpgradeBurst', '050'],
    ['socketsPerAddress', '2000'],
    ['socketsPerAddress', '0'],
  ];
  for (const [key, value] of cases) {
    const name = NGINX_LIMIT_VARIABLES[key];
    let npmStart: string | undefined;
    try {
      loadNginxLimits({ [name]: value });
    } catch (err) {
      npmStart = (err as Error).message;
    }
    const compose = spawnSync('sh', [`${ROOT}${CHECK_LIMITS}`], { env: { PATH: process.env.PATH ?? '', [name]: value }, encoding: 'utf8' });
    const verdict = npmStart === undefined ? 'accepted' : 'refused';
    t.equal(compose.status === 0 ? 'accepted' : 'refused', verdict, `${name}=${JSON.stringify(value)}: ${verdict} by both`);
    if (npmStart !== undefined) {
      t.match(npmStart, name, 'npm start names the variable');
      t.match(compose.stderr, `Invalid environment: ${name} must be`, 'so does the compose check');
    }
  }
  const unset = spawnSync('sh', [`${ROOT}${CHECK_LIMITS}`], { env: { PATH: process.env.PATH ?? '' }, encoding: 'utf8' });
  t.equal(unset.status, 0, 'unset variables are left to the defaults');
});

// ---- The `cluster` profile ---------------------------------------------------

const CLUSTER_PROFILE = 'cluster';
const inClusterProfile = (service: ComposeService) => (service.profiles ?? []).includes(CLUSTER_PROFILE);
const commandOf = (service: ComposeService) => [service.command ?? []].flat().join(' ');
/** The Redis Cluster's nodes: cluster-profile services running redis-server in cluster mode. */
const clusterNodes = Object.keys(services).filter((name) => inClusterProfile(services[name]!) && /--cluster-enabled yes\b/.test(commandOf(services[name]!)));
const CLUSTER_INIT = 'redis-cluster-init';
const clusterVariant = (name: string) => `${name}-cluster`;

/** Network names a service joins, with the aliases it has on each; compose's default network when none. */
function networksOf(service: ComposeService): Record<string, string[]> {
  const networks = service.networks ?? ['default'];
  if (Array.isArray(networks)) return Object.fromEntries(networks.map((n) => [n, []]));
  return Object.fromEntries(Object.entries(networks).map(([n, v]) => [n, v?.aliases ?? []]));
}

t.test('without the cluster profile nothing changes: the default services use no profile, no cluster service, no other network', async (t) => {
  const defaults = Object.keys(services).filter((name) => !services[name]!.profiles);
  t.same(defaults.sort(), ['auth-token', 'event-ingest', 'nginx', 'notifier', 'redis'], 'the same five services run by default');
  for (const name of defaults) {
    t.same(Object.keys(networksOf(services[name]!)), ['default'], `${name} stays on the default network`);
    for (const dep of Object.keys(dependsOn(services[name]!))) t.notOk(services[dep]?.profiles, `${name} depends on no profile's service (${dep})`);
  }
  for (const [name, service] of Object.entries(services)) {
    if (service.profiles) t.same(service.profiles, [CLUSTER_PROFILE], `${name} is only in the cluster profile`);
  }
});

t.test('the cluster profile runs six Redis nodes in cluster mode, on the image of the redis service', async (t) => {
  t.equal(clusterNodes.length, 6, `six nodes (${clusterNodes.join(', ')})`);
  for (const name of clusterNodes) {
    const node = services[name]!;
    t.equal(node.image, services.redis!.image, `${name} runs ${services.redis!.image}`);
    t.match(commandOf(node), /^redis-server .*--cluster-config-file \S+/, `${name} keeps its cluster state in a config file`);
    t.match([node.healthcheck?.test ?? []].flat().join(' '), /redis-cli ping/, `${name} is healthy once it answers PING`);
    t.same(node.ports ?? [], [], `${name} publishes no host port`);
  }
});

t.test('redis-cluster-init waits for every node, then creates the cluster once: 3 masters with a replica each', async (t) => {
  const init = services[CLUSTER_INIT]!;
  t.ok(init && inClusterProfile(init), 'a one-shot init service in the cluster profile');
  t.equal(init.image, services.redis!.image, 'with the same image (its redis-cli)');
  const deps = dependsOn(init);
  for (const node of clusterNodes) t.equal(deps[node], 'service_healthy', `it waits for ${node} to be healthy`);
  const script = [init.entrypoint ?? [], init.command ?? []].flat().join(' ');
  t.match(script, /redis-cli --cluster create .*--cluster-replicas 1 --cluster-yes/, 'redis-cli --cluster create, one replica per master, unattended');
  for (const node of clusterNodes) t.ok(script.includes(node), `it joins ${node}`);
  t.match(script, /cluster_known_nodes:6/, 'a later `up` finds the cluster made and does not create it again');
  t.notOk(script.replaceAll('$$', '').includes('$'), 'no `$` compose would interpolate (`$$` is a literal one)');
  t.equal(init.restart, 'no', 'it runs once');
});

t.test('every app service has a cluster variant: REDIS_CLUSTER_NODES naming all six nodes, started once the init completed', async (t) => {
  for (const name of APP_SERVICES) {
    const variant = services[clusterVariant(name)];
    t.ok(variant && inClusterProfile(variant), `${clusterVariant(name)} is in the cluster profile`);
    if (!variant) continue;
    const env = environmentOf(variant);
    t.same(
      (env.REDIS_CLUSTER_NODES ?? '').split(',').sort(),
      clusterNodes.map((node) => `${node}:6379`).sort(),
      `${clusterVariant(name)}'s REDIS_CLUSTER_NODES names every node`,
    );
    t.same(
      Object.keys(env).filter((key) => !Object.keys(APP_SCHEMAS[name]).includes(key)),
      [],
      `${clusterVariant(name)} sets only variables its env schema declares`,
    );
    const { REDIS_URL: _url, ...single } = environmentOf(services[name]!);
    const { REDIS_CLUSTER_NODES: _nodes, ...clustered } = env;
    t.same(clustered, single, 'otherwise the same environment as the single-Redis service (secrets included)');
    t.same(dependsOn(variant), { [CLUSTER_INIT]: 'service_completed_successfully' }, `${clusterVariant(name)} starts once the cluster is created`);
    t.same(variant.build, services[name]!.build, 'built as the single-Redis service is');
    t.match([variant.healthcheck?.test ?? []].flat().join(' '), /\/readyz\b/, 'with the same healthcheck');
    t.same(networksOf(variant), { [CLUSTER_PROFILE]: [name] }, `on the cluster network as "${name}", the name nginx's config proxies to`);
  }
  t.ok((services[clusterVariant('notifier')]?.deploy?.replicas ?? 1) >= 2, 'at least two notifiers there too');
});

t.test('nginx-cluster is the edge image on 8000, in front of the cluster variants only', async (t) => {
  const nginx = services['nginx-cluster']!;
  t.ok(nginx && inClusterProfile(nginx), 'nginx-cluster is in the cluster profile');
  t.same(nginx.build, services.nginx!.build, 'the same edge image');
  t.same(nginx.ports, services.nginx!.ports, 'on the same host port: the walk-through works unchanged');
  for (const name of APP_SERVICES) t.equal(dependsOn(nginx)[clusterVariant(name)], 'service_healthy', `it waits for ${clusterVariant(name)}`);
  t.same(Object.keys(networksOf(nginx)), [CLUSTER_PROFILE], 'only on the cluster network, where the plain names mean the variants');
  for (const [name, service] of Object.entries(services)) {
    if (inClusterProfile(service)) t.same(Object.keys(networksOf(service)), [CLUSTER_PROFILE], `${name} is on the cluster network`);
  }
});
