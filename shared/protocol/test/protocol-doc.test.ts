import { existsSync, readdirSync, readFileSync } from 'node:fs';
import t from 'tap';
import { CloseCode, ErrorCode } from '../src/index.js';

const ROOT = new URL('../../../', import.meta.url);
const doc = readFileSync(new URL('docs/protocol.md', ROOT), 'utf8');

t.test('docs/protocol.md lists every error code, each in its table with a meaning', async (t) => {
  for (const [name, code] of Object.entries(ErrorCode)) {
    t.match(doc, new RegExp(`^\\| \`${code}\` \\| [^|]+ \\| [^|]*\\w[^|]* \\|$`, 'm'), `${name}: ${code}`);
  }
});

t.test('docs/protocol.md lists every close code, by number and name, with a meaning', async (t) => {
  for (const [name, code] of Object.entries(CloseCode)) {
    t.match(doc, new RegExp(`^\\| ${code} \\| \`${name}\` \\| [^|]*\\w[^|]* \\|$`, 'm'), `${name}: ${code}`);
  }
});

t.test('the documents docs/protocol.md links to exist', async (t) => {
  const links = [...doc.matchAll(/\]\(([^)#:]+)(#[^)]*)?\)/g)].map((m) => m[1]!);
  t.ok(links.length >= 4);
  for (const link of links) t.ok(existsSync(new URL(`docs/${link}`, ROOT)), link);
});

t.test('no code or document cites a design document other than docs/protocol.md', async (t) => {
  const skip = new Set(['node_modules', 'dist', '.git', '.tap', '.turbo', 'test-artifacts', '.containers']);
  const cited: string[] = [];
  const walk = (dir: URL): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (skip.has(entry.name)) continue;
      const url = new URL(`${entry.name}${entry.isDirectory() ? '/' : ''}`, dir);
      if (entry.isDirectory()) walk(url);
      else if (/\.(ts|tsx|js|mjs|md|lua|sh|conf|template|ya?ml|json)$/.test(entry.name) && entry.name !== 'package-lock.json') {
        if (/DESIGN\.md/.test(readFileSync(url, 'utf8'))) cited.push(url.pathname.slice(ROOT.pathname.length));
      }
    }
  };
  walk(ROOT);
  // This file names it, to look for it.
  t.same(cited.filter((path) => path !== 'shared/protocol/test/protocol-doc.test.ts'), []);
});
