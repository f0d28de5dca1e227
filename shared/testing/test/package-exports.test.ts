import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { REPO_ROOT } from '../src/processes.js';

// Every workspace package's `exports` lead somewhere: the `pr-source` target (what the repo runs
// from TypeScript) exists, and each built target (`types`, `default`) is the dist/ twin of a
// source file. Services are applications, run from their main.ts, and export nothing.

type Target = string | { [condition: string]: Target };

const rootPackage = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { workspaces: string[] };
const workspaces = rootPackage.workspaces.flatMap((pattern) => {
  if (!pattern.endsWith('/*')) return [pattern];
  const dir = pattern.slice(0, -2);
  return readdirSync(join(REPO_ROOT, dir))
    .filter((name) => existsSync(join(REPO_ROOT, dir, name, 'package.json')))
    .map((name) => `${dir}/${name}`);
});

function targets(target: Target, conditions: string[] = []): Array<{ conditions: string[]; path: string }> {
  if (typeof target === 'string') return [{ conditions, path: target }];
  return Object.entries(target).flatMap(([condition, inner]) => targets(inner, [...conditions, condition]));
}

for (const workspace of workspaces) {
  const manifest = JSON.parse(readFileSync(join(REPO_ROOT, workspace, 'package.json'), 'utf8')) as { name: string; exports?: Record<string, Target> };
  t.test(`${manifest.name}: its exports lead to files`, async (t) => {
    if (workspace.startsWith('services/')) {
      t.equal(manifest.exports, undefined, 'a service exports nothing');
      return;
    }
    if (!manifest.exports) {
      t.pass('exports nothing (an application or a test suite)');
      return;
    }
    for (const [subpath, target] of Object.entries(manifest.exports)) {
      for (const { conditions, path } of targets(target)) {
        const where = `${subpath} (${conditions.join(' > ') || 'default'}) → ${path}`;
        if (path === './package.json' || conditions.includes('pr-source')) {
          t.ok(existsSync(join(REPO_ROOT, workspace, path)), `${where} exists`);
        } else {
          const source = path.replace(/^\.\/dist\//, './src/').replace(/\.d\.ts$|\.js$/, '.ts');
          t.ok(path.startsWith('./dist/') && (existsSync(join(REPO_ROOT, workspace, source)) || existsSync(join(REPO_ROOT, workspace, `${source}x`))), `${where} is built from ${source}`);
        }
      }
    }
  });
}
