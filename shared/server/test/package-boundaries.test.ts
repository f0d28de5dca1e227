import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

// The shared code is split by side so that each process loads only what it
// uses: a domain service takes the producer without a web framework, the
// notifier takes Redis and HTTP without BullMQ. These checks keep it so.

const root = fileURLToPath(new URL('../../..', import.meta.url));
const WORKSPACES = ['shared/protocol', 'shared/runtime', 'shared/redis', 'shared/producer', 'shared/server', 'services/auth-token', 'services/notifier', 'services/event-ingest'];

interface Manifest {
  name: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}
const manifest = (dir: string): Manifest => JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8'));
const byName = new Map(WORKSPACES.map((dir) => [manifest(dir).name, dir]));

/** Every package a workspace needs at run time: its dependencies, and theirs for our own packages. */
function runtimeClosure(dir: string): Set<string> {
  const found = new Set<string>();
  const visit = (d: string) => {
    for (const name of Object.keys(manifest(d).dependencies ?? {})) {
      if (found.has(name)) continue;
      found.add(name);
      const own = byName.get(name);
      if (own) visit(own);
    }
  };
  visit(dir);
  return found;
}

const isWeb = (name: string) => name === 'fastify' || name.startsWith('@fastify/') || name === 'helmet';

t.test('the producer, Redis and runtime packages need no web framework at run time', async (t) => {
  for (const dir of ['shared/runtime', 'shared/redis', 'shared/producer']) {
    t.same([...runtimeClosure(dir)].filter(isWeb), [], `${dir} pulls in no Fastify`);
    t.notOk(runtimeClosure(dir).has('@parking-realtime/server'), `${dir} does not depend on the HTTP side`);
  }
});

t.test('the notifier needs neither BullMQ nor the producer', async (t) => {
  const closure = runtimeClosure('services/notifier');
  t.notOk(closure.has('bullmq'), 'no bullmq');
  t.notOk(closure.has('@parking-realtime/producer'), 'no producer');
});

t.test('importing the producer loads no Fastify module', async (t) => {
  // A fresh process, as a domain service would start; Fastify is CommonJS, so anything that loaded it is in require's cache.
  const script = `
    import { createRequire } from 'node:module';
    await import('@parking-realtime/producer');
    const loaded = Object.keys(createRequire(import.meta.url).cache);
    console.log(JSON.stringify({ fastify: loaded.filter((f) => /node_modules\\/(fastify|@fastify|helmet)\\//.test(f)).length, bullmq: loaded.filter((f) => f.includes('/node_modules/bullmq/')).length }));
  `;
  const run = spawnSync(process.execPath, ['--conditions=pr-source', '--import', 'tsx', '--input-type=module', '-e', script], { cwd: join(root, 'shared/producer'), encoding: 'utf8' });
  t.equal(run.status, 0, run.stderr);
  const counts = JSON.parse(run.stdout.trim().split('\n').pop()!) as { fastify: number; bullmq: number };
  t.equal(counts.fastify, 0, 'no fastify, @fastify or helmet module loaded');
  t.ok(counts.bullmq > 0, 'the check sees CommonJS modules: BullMQ is among them');
});

/** The bare package an import names: `@scope/name` or `name`; undefined for relative and node: imports. */
function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('node:')) return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

function sources(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts')) out.push(path);
    }
  };
  if (existsSync(dir)) walk(dir);
  return out;
}

t.test("every package a workspace's source imports at run time is among its dependencies", async (t) => {
  const IMPORT = /^\s*(import|export)\s+(type\s+)?(?:[^'";]*?\s+from\s+)?'([^']+)'/gm;
  for (const dir of WORKSPACES) {
    const declared = new Set(Object.keys(manifest(dir).dependencies ?? {}));
    const undeclared: string[] = [];
    for (const file of sources(join(root, dir, 'src'))) {
      for (const [, , typeOnly, specifier] of readFileSync(file, 'utf8').matchAll(IMPORT)) {
        const pkg = packageOf(specifier!);
        // Type-only imports leave nothing at run time; the types come from the workspace's dev tools.
        if (!pkg || typeOnly || declared.has(pkg)) continue;
        undeclared.push(`${relative(root, file)}: ${pkg}`);
      }
    }
    t.same(undeclared, [], `${dir} declares what it imports`);
  }
});
