import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import t from 'tap';
import { REPO_ROOT } from '../src/processes.js';

// This package is for tests only: nothing that runs (`npm start`, dev-jwt, the bench, the
// services, the shared server code) imports it or depends on it. What those need to launch
// processes is @parking-realtime/launcher's.

const PACKAGE = '@parking-realtime/testing';
const RUNTIME_ROOTS = ['infra', 'bench/src', 'services', 'shared/server/src', 'shared/protocol/src'];
const SKIPPED_DIRS = new Set(['test', 'tests', '__tests__', 'node_modules', 'dist']);
const skipped = (name: string) => SKIPPED_DIRS.has(name) || name.startsWith('.');
const CODE = /\.(ts|tsx|mts|cts|js|mjs|cjs)$/;

/** Every code file under `dir`, outside test directories. */
function codeFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return skipped(name) ? [] : codeFiles(path);
    return CODE.test(name) ? [path] : [];
  });
}

/** `file:line` of each line of these files that names the package. */
function mentions(files: string[]): string[] {
  return files.flatMap((file) =>
    readFileSync(file, 'utf8')
      .split('\n')
      .flatMap((line, i) => (line.includes(`'${PACKAGE}'`) || line.includes(`"${PACKAGE}"`) ? [`${relative(REPO_ROOT, file)}:${i + 1}`] : [])),
  );
}

/** Every package.json under `dir` (test directories aside). */
function manifests(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (name === 'package.json') return [path];
    return statSync(path).isDirectory() && !skipped(name) ? manifests(path) : [];
  });
}

t.test('no runtime code imports it', async (t) => {
  const files = RUNTIME_ROOTS.flatMap((root) => codeFiles(join(REPO_ROOT, root)));
  t.ok(files.length > 50, `the scan reads the runtime code (${files.length} files)`);
  t.same(mentions(files), [], `no import of ${PACKAGE} outside test directories`);
});

t.test('the scan finds an import where there is one', async (t) => {
  // The e2e suites import it: the same scan, pointed at them, must see that.
  t.ok(mentions(codeFiles(join(REPO_ROOT, 'e2e/test/support'))).length > 0, 'e2e/test/support imports it');
});

t.test('no runtime package depends on it, except for its tests', async (t) => {
  const found = ['infra', 'bench', 'services', 'shared/server', 'shared/protocol'].flatMap((root) => manifests(join(REPO_ROOT, root)));
  t.ok(found.some((f) => f.endsWith('infra/local-stack/package.json')), 'the scan reads the manifests');
  for (const file of found) {
    const manifest = JSON.parse(readFileSync(file, 'utf8')) as Record<string, Record<string, string> | undefined>;
    const runtime = ['dependencies', 'optionalDependencies', 'peerDependencies'].filter((field) => manifest[field]?.[PACKAGE] !== undefined);
    t.same(runtime, [], `${relative(REPO_ROOT, file)}: at most a devDependency`);
  }
});
