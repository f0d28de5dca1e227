// The published packages, as an app gets them: `npm pack` the three, install
// the tarballs into a scratch app (outside the repo) with React 18 and with
// React 19 from the registry, type-check a TSX file with tsc and render
// NotificationCenter in jsdom.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ScriptedNotifier } from '@parking-realtime/testing';
import t from 'tap';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../../../', import.meta.url));
const fixtures = fileURLToPath(new URL('./fixtures/scratch-app/', import.meta.url));
const tsc = join(repo, 'node_modules/typescript/bin/tsc');

/** What gets published: the React bindings and what they need at run time and for their types. */
const packages = [
  { name: '@parking-realtime/protocol', dir: 'shared/protocol' },
  { name: '@parking-realtime/web', dir: 'clients/web' },
  { name: '@parking-realtime/react', dir: 'clients/react' },
] as const;
const published = new Set<string>(packages.map((p) => p.name));

interface PackResult {
  name: string;
  filename: string;
  files: Array<{ path: string }>;
}

/**
 * The environment for npm in the scratch app: the caller's npm_* variables
 * (set by `npm test` and turbo) would point npm back at this repo; the
 * settings a CI machine may pass that way (registry, cache, CA) are kept.
 */
function npmEnv(): NodeJS.ProcessEnv {
  const keep = /^npm_config_(registry|cache|userconfig|globalconfig|cafile|ca|strict_ssl|https?_proxy|proxy|noproxy|prefer_offline)$/i;
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key) || keep.test(key)));
}

async function npm(args: string[], cwd: string): Promise<string> {
  const { stdout } = await run('npm', args, { cwd, env: npmEnv(), maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

/** Every path an `exports` map can resolve to, under any condition. */
function exportTargets(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (value && typeof value === 'object') return Object.values(value).flatMap(exportTargets);
  return [];
}

/** Bare module specifiers a built file imports (`from '…'`, `import('…')`), without subpaths. */
function importedPackages(source: string): string[] {
  const specifiers = [...source.matchAll(/(?:from\s+|import\s*\(\s*)['"]([^'"]+)['"]/g)].map((m) => m[1]!);
  return specifiers.filter((s) => !s.startsWith('.')).map((s) => s.split('/').slice(0, s.startsWith('@') ? 2 : 1).join('/'));
}

// Under turbo (npm test) the builds ran first (clients/react/turbo.json); run directly, build them here.
if (!process.env.TURBO_HASH) {
  await run('npx', ['turbo', 'run', 'build', '--filter=@parking-realtime/react', '--output-logs=errors-only'], { cwd: repo });
}

const scratch = await mkdtemp(join(tmpdir(), 'pr-pack-'));
t.teardown(() => rm(scratch, { recursive: true, force: true }));

const packed = JSON.parse(
  await npm(['pack', '--json', '--ignore-scripts', '--pack-destination', scratch, ...packages.flatMap((p) => ['--workspace', p.dir])], repo),
) as PackResult[];

for (const { name, dir } of packages) {
  t.test(`${name}: the tarball holds what its package.json points at, and nothing of the repo's`, async (t) => {
    const result = packed.find((p) => p.name === name);
    if (!result) throw new Error(`npm pack gave no ${name}`);
    const files = new Set(result.files.map((f) => f.path));
    const manifest = JSON.parse(readFileSync(join(repo, dir, 'package.json'), 'utf8'));

    t.notOk(manifest.private, 'not private');
    t.equal(manifest.license, 'MIT', 'MIT');
    t.equal(manifest.sideEffects, false, 'no side effects: bundlers drop what an app does not use');
    t.equal(manifest.type, 'module', 'ESM');
    for (const path of ['package.json', 'README.md', 'LICENSE', 'dist/index.js', 'dist/index.d.ts']) t.ok(files.has(path), `has ${path}`);
    const targets = [manifest.main, manifest.types, ...exportTargets(manifest.exports)].map((p: string) => posix.normalize(p));
    for (const target of targets) t.ok(files.has(target), `has ${target}, which package.json points at`);
    t.ok(exportTargets(manifest.exports['.']).some((p) => p.endsWith('.d.ts')), 'exports carry types');
    t.same([...files].filter((p) => /^(test|node_modules)\/|tsconfig|\.tsbuildinfo$|\.tap\b/.test(p)), [], 'no tests, configs or build state');

    t.match(readFileSync(join(repo, dir, 'LICENSE'), 'utf8'), /^MIT License/, 'the LICENSE is the MIT text');
    const rootLicense = join(repo, 'LICENSE');
    if (existsSync(rootLicense)) t.equal(readFileSync(join(repo, dir, 'LICENSE'), 'utf8'), readFileSync(rootLicense, 'utf8'), 'the same LICENSE as the repository');

    // Source maps point at sources the tarball carries.
    for (const map of [...files].filter((p) => p.endsWith('.js.map'))) {
      const { sources } = JSON.parse(readFileSync(join(repo, dir, map), 'utf8')) as { sources: string[] };
      for (const source of sources) t.ok(files.has(posix.join(posix.dirname(map), source)), `${map} → ${source} is packed`);
    }

    // What the built code and types import must be installed with it, and be published itself.
    const declared = new Set([...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.peerDependencies ?? {})]);
    const built = [...files].filter((p) => p.startsWith('dist/') && /\.(js|d\.ts)$/.test(p));
    const imported = new Set(built.flatMap((p) => importedPackages(readFileSync(join(repo, dir, p), 'utf8'))));
    for (const dependency of imported) t.ok(declared.has(dependency), `${dependency} (imported by dist) is a dependency`);
    for (const dependency of Object.keys(manifest.dependencies ?? {}).filter((d) => d.startsWith('@parking-realtime/'))) {
      t.ok(published.has(dependency), `${dependency} is packed and installed along`);
    }
  });
}

t.test('@parking-realtime/react: React 18 or 19 as its only peer', async (t) => {
  const manifest = JSON.parse(readFileSync(join(repo, 'clients/react/package.json'), 'utf8'));
  t.same(manifest.peerDependencies, { react: '^18.0.0 || ^19.0.0' }, 'no react-dom: the package never imports it');
  t.notOk(manifest.dependencies?.react, 'react is not a dependency (one copy: the app’s)');
});

/** A scratch app outside the repo with the tarballs, React `major` and jsdom installed from the registry. */
async function scratchApp(major: number): Promise<string> {
  const app = join(scratch, `react-${major}`);
  await mkdir(app);
  await writeFile(join(app, 'package.json'), `${JSON.stringify({ name: `scratch-react-${major}`, private: true, type: 'module' }, null, 2)}\n`);
  const tarballs = packages.map((p) => join(scratch, packed.find((r) => r.name === p.name)!.filename));
  // jsdom as the repo has it, so a CI machine's npm cache already holds it after `npm ci`.
  const jsdomRange = JSON.parse(readFileSync(join(repo, 'clients/react/package.json'), 'utf8')).devDependencies.jsdom as string;
  const dependencies = [`react@^${major}`, `react-dom@^${major}`, `@types/react@^${major}`, `@types/react-dom@^${major}`, `jsdom@${jsdomRange}`];
  await npm(['install', '--prefer-offline', '--no-audit', '--no-fund', ...tarballs, ...dependencies], app);
  return app;
}

// Both installs at once: they mostly wait on the network and the disk.
const apps = new Map([18, 19].map((major) => [major, scratchApp(major)]));
for (const installing of apps.values()) installing.catch(() => {}); // reported by the test that awaits it

const server = await ScriptedNotifier.start();
t.teardown(() => server.stop());

for (const major of [18, 19]) {
  t.test(`a scratch app with React ${major}: installs the tarballs, type-checks and renders NotificationCenter`, async (t) => {
    const app = await apps.get(major)!;
    const lock = JSON.parse(await readFile(join(app, 'package-lock.json'), 'utf8'));
    for (const name of published) {
      t.match(lock.packages[`node_modules/${name}`]?.resolved, /^file:.*\.tgz$/, `${name} comes from its tarball, not the registry`);
    }
    t.notOk(existsSync(join(app, 'node_modules/@parking-realtime/react/node_modules')), 'nothing installed twice under the package (one React)');

    // Type-check as an app would, with both module resolutions apps use (Node's and a bundler's).
    await copyFile(join(fixtures, 'app.tsx'), join(app, 'app.tsx'));
    for (const [module, moduleResolution] of [
      ['NodeNext', 'NodeNext'],
      ['ESNext', 'Bundler'],
    ] as const) {
      const compilerOptions = {
        target: 'ES2022',
        module,
        moduleResolution,
        lib: ['ES2022', 'DOM', 'DOM.Iterable'],
        jsx: 'react-jsx',
        strict: true,
        noEmit: true,
        // As most apps have it (checking TypeBox's own types takes a minute). Should a
        // package's types fall back to any, app.tsx's expected errors go missing and tsc fails.
        skipLibCheck: true,
        types: [],
      };
      const config = `tsconfig.${moduleResolution.toLowerCase()}.json`;
      await writeFile(join(app, config), JSON.stringify({ compilerOptions, files: ['app.tsx'] }));
      const checked = await run(process.execPath, [tsc, '-p', config], { cwd: app }).then(
        () => '',
        (err: { stdout?: string; message: string }) => err.stdout || err.message,
      );
      t.equal(checked, '', `tsc (${moduleResolution} resolution) finds no error`);
    }

    await copyFile(join(fixtures, 'render.mjs'), join(app, 'render.mjs'));
    const index = server.connections.length;
    const rendering = run(process.execPath, ['render.mjs', server.baseUrl], { cwd: app });
    const conn = await Promise.race([
      server.until(() => server.connections[index]?.frames[0] && server.connections[index], 60_000, 'the scratch app to subscribe'),
      rendering.then(({ stdout }) => Promise.reject(new Error(`render.mjs ended before subscribing: ${stdout}`))),
    ]);
    t.same(conn.frames[0], { type: 'subscribe', notification_types: ['reservation', 'parking_lot'] });
    server.push(conn, { notification_type: 'parking_lot', message: `Lot A: ${major} free` });
    const seen = JSON.parse((await rendering).stdout);

    t.match(seen.reactVersion, new RegExp(`^${major}\\.`), `rendered with React ${major}`);
    t.same(seen.shown, {
      heading: 'Parking',
      status: ['Closed'],
      alert: 'JWT expired',
      messages: ['Lot A: 12 free', 'Reservation confirmed'],
    });
    t.equal(seen.connected.status[0], 'Connected');
    t.match(seen.connected.notifications[0], `Lot A: ${major} free`);
    t.same(seen.consoleErrors, [], 'React warned about nothing');
    await server.until(() => conn.closeCode !== undefined, 5000, 'the socket to close on unmount');
    t.equal(conn.closeCode, 1000, 'unmounting closed the socket');
    t.equal(server.tokenRequests.at(-1)?.authorization, 'Bearer jwt-scratch');
  });
}
