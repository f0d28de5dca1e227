import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
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
} from '../../infra/local-stack/src/nginx-config.js';
import { authTokenEnv, loadAuthTokenConfig } from '../../services/auth-token/src/config.js';
import { eventIngestEnv } from '../../services/event-ingest/src/config.js';
import { notifierEnv } from '../../services/notifier/src/config.js';

// Static checks of the container deployment (no container engine needed):
// docker-compose.yml, infra/Dockerfile and infra/nginx/nginx.compose.conf must
// agree with each other and with the services' env schemas; the `cluster`
// profile (the stack on a Redis Cluster) is checked at the end.

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
const compose = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, ComposeService> };
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

/** `host:port` of every `server` line inside an `upstream { … }` block. */
function nginxUpstreamServers(conf: string): { host: string; port: number }[] {
  const servers: { host: string; port: number }[] = [];
  for (const block of conf.matchAll(/^\s*upstream\s+\S+\s*\{([^}]*)\}/gm)) {
    for (const server of block[1]!.matchAll(/^\s*server\s+([^\s:;]+):(\d+)[\s;]/gm)) {
      servers.push({ host: server[1]!, port: Number(server[2]) });
    }
  }
  return servers;
}

t.test('every upstream nginx names is a compose service on that port', async (t) => {
  const upstreams = nginxUpstreamServers(nginxConf);
  t.same(
    upstreams.map((u) => u.host).sort(),
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

t.test('nginx publishes 8000 and is the edge image: the committed compose config and the demo page baked in', async (t) => {
  const nginx = services.nginx!;
  t.ok(nginx, 'an nginx service exists');
  t.ok(
    (nginx.ports ?? []).some((p) => p === '8000:8000' || (typeof p === 'object' && p !== null && Number((p as { published?: unknown }).published) === 8000 && Number((p as { target?: unknown }).target) === 8000)),
    'host port 8000 maps to nginx 8000',
  );
  t.match(nginxConf, /^\s*listen 8000;/m, 'the config listens on 8000');
  t.equal(nginx.build?.dockerfile, 'infra/Dockerfile');
  t.equal((nginx.build as { target?: string } | undefined)?.target, 'edge', 'built as the edge target');
  t.match(dockerfile, /^FROM nginx:[\d.]+-alpine AS edge$/m, 'the edge stage starts from the official nginx image');
  t.match(dockerfile, /^COPY infra\/nginx\/nginx\.compose\.conf \/etc\/nginx\/nginx\.conf$/m, 'with the committed compose config');
  t.ok(
    dockerfile.includes(`COPY --from=demo-build /app/clients/demo/dist ${COMPOSE_TARGET.demoRoot}`),
    'and the built demo page where the config serves it from',
  );
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

t.test('notifiers scale out: no published host port and at least two replicas', async (t) => {
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

t.test('redis is redis:8.0.1-alpine with append-only persistence on a named volume', async (t) => {
  const redis = services.redis!;
  t.equal(redis.image, 'redis:8.0.1-alpine');
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
/** Where each of nginx's compose volumes lands in the container, by the host path mounted. */
const nginxMounts = Object.fromEntries(
  (services.nginx!.volumes ?? []).map((v) => {
    const [host, container] = String(v).split(':');
    return [host!.replace(/^\.\//, ''), container!];
  }),
);
const composeTemplate = read('infra/nginx/nginx.compose.conf.template');

/**
 * What the official image's 20-envsubst-on-templates.sh makes of a template:
 * envsubst with the list of defined variables whose names match
 * NGINX_ENVSUBST_FILTER, so only those `$NAME` / `${NAME}` are replaced.
 */
function envsubst(template: string, env: Record<string, string>): string {
  const filter = new RegExp(env.NGINX_ENVSUBST_FILTER ?? '');
  const defined = Object.keys(env).filter((name) => filter.test(name));
  return template.replace(/\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g, (whole, braced?: string, bare?: string) => {
    const name = (braced ?? bare)!;
    return defined.includes(name) ? env[name]! : whole;
  });
}

t.test('compose sets nginx\'s limits by the variables npm start reads, with the same defaults', async (t) => {
  t.same(Object.keys(nginxLimitsEnv).sort(), Object.values(NGINX_LIMIT_VARIABLES).sort(), 'npm start reads exactly these variables');
  for (const key of LIMIT_KEYS) {
    const name = NGINX_LIMIT_VARIABLES[key];
    t.match(nginxEnv[name], new RegExp(`^\\$\\{${name}:-[^}]+\\}$`), `${name} comes from the environment, with a default`);
    t.equal(withDefault(nginxEnv[name] ?? ''), String(DEFAULT_NGINX_LIMITS[key]), `${name} defaults to ${DEFAULT_NGINX_LIMITS[key]}, as in npm start`);
  }
  t.same(environmentOf(services['nginx-cluster']!), nginxEnv, 'nginx-cluster reads the same');
  t.same(services['nginx-cluster']!.volumes, services.nginx!.volumes, 'and mounts the same');
});

t.test('the image fills the mounted template into nginx.conf: with the defaults, exactly the baked config', async (t) => {
  t.equal(nginxMounts['infra/nginx/nginx.compose.conf.template'], '/etc/nginx/templates/nginx.conf.template', 'the template is where the image looks for templates');
  t.equal(nginxEnv.NGINX_ENVSUBST_OUTPUT_DIR, '/etc/nginx', 'and its output replaces /etc/nginx/nginx.conf');
  const defaults = Object.fromEntries(Object.entries(nginxEnv).map(([k, v]) => [k, withDefault(v)]));
  t.equal(envsubst(composeTemplate, defaults), nginxConf, 'envsubst with compose\'s defaults gives the committed nginx.compose.conf');
  const referenced = [...composeTemplate.matchAll(/\$\{?([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]!);
  const filled = referenced.filter((name) => name.startsWith('NGINX_'));
  t.same([...new Set(filled)].sort(), Object.values(NGINX_LIMIT_VARIABLES).sort(), 'the template refers to each limit variable and to no other NGINX_ one');
  t.same(
    referenced.filter((name) => new RegExp(nginxEnv.NGINX_ENVSUBST_FILTER ?? '').test(name) && !filled.includes(name)),
    [],
    "nginx's own $variables are left alone (NGINX_ENVSUBST_FILTER)",
  );
  const custom = { ...defaults, NGINX_API_RATE: '7r/m', NGINX_API_BURST: '3', NGINX_SOCKETS_PER_ADDRESS: '9' };
  const filledIn = envsubst(composeTemplate, custom);
  t.match(filledIn, /zone=api_per_address:10m rate=7r\/m;/, 'a rate set in the environment reaches the config');
  t.match(filledIn, /limit_req zone=api_per_address burst=3 nodelay;/, 'so does a burst');
  t.match(filledIn, /limit_conn sockets_per_address 9;/, 'and a socket cap');
  t.notMatch(filledIn, /\$\{NGINX_/, 'nothing is left unfilled');
});

t.test('a bad NGINX_* value stops compose\'s nginx, naming the variable, as it stops npm start', async (t) => {
  const script = 'infra/nginx/15-check-limits.sh';
  const mountedAt = nginxMounts[script] ?? '';
  t.match(mountedAt, /^\/docker-entrypoint\.d\/[^/]+\.sh$/, 'the check is mounted among the entrypoint scripts');
  t.ok(mountedAt.split('/').pop()! < '20-envsubst-on-templates.sh', 'and runs before the template is filled');
  t.ok((statSync(`${ROOT}${script}`).mode & 0o111) !== 0, 'it is executable (the entrypoint skips scripts that are not)');
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
    const compose = spawnSync('sh', [`${ROOT}${script}`], { env: { PATH: process.env.PATH ?? '', [name]: value }, encoding: 'utf8' });
    const verdict = npmStart === undefined ? 'accepted' : 'refused';
    t.equal(compose.status === 0 ? 'accepted' : 'refused', verdict, `${name}=${JSON.stringify(value)}: ${verdict} by both`);
    if (npmStart !== undefined) {
      t.match(npmStart, name, 'npm start names the variable');
      t.match(compose.stderr, `Invalid environment: ${name} must be`, 'so does the compose check');
    }
  }
  const unset = spawnSync('sh', [`${ROOT}${script}`], { env: { PATH: process.env.PATH ?? '' }, encoding: 'utf8' });
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
