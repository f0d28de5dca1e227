import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * `npm run bench:profile -- <dir>`: the top self-time functions of each
 * .cpuprofile in a folder (written by `npm run bench -- --cpu-prof-dir=<dir>`),
 * with the share of samples each took: what docs/performance.md quotes.
 */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
}

export function topSelfTime(profile: Profile, limit = 15): Array<{ share: number; fn: string }> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const counts = new Map<string, number>();
  for (const id of profile.samples) {
    const f = byId.get(id)!.callFrame;
    const where = f.url ? `${f.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/(services|shared)\//, '$1/')}:${f.lineNumber + 1}` : '';
    const key = `${f.functionName || '(anonymous)'} ${where}`.trim();
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const total = profile.samples.length;
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([fn, n]) => ({ share: Math.round((n / total) * 1000) / 10, fn }));
}

const dir = process.argv[2];
if (dir) {
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))) {
    console.log(`\n${file}`);
    for (const { share, fn } of topSelfTime(JSON.parse(readFileSync(join(dir, file), 'utf8')) as Profile)) console.log(`${String(share).padStart(5)}%  ${fn}`);
  }
}
