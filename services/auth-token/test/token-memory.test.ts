import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { simpleJwtAccessToken, startRedis, startService, waitFor } from '@parking-realtime/testing';
import t from 'tap';

const SECRET = 'memory-jwt-secret-that-is-long-enough-012';
const TOKENS = 5;

/** Where `needles` occur in the readable memory of process `pid` (Linux: /proc/<pid>/maps and mem). */
function findInMemory(pid: number, needles: Buffer[]): Buffer[] {
  const found = new Set<Buffer>();
  const mem = openSync(`/proc/${pid}/mem`, 'r');
  const chunk = Buffer.alloc(8 << 20);
  const overlap = Math.max(...needles.map((n) => n.length)) - 1;
  try {
    for (const line of readFileSync(`/proc/${pid}/maps`, 'utf8').trim().split('\n')) {
      const [range, perms, , , , path] = line.split(/\s+/);
      if (!perms?.startsWith('r') || path === '[vvar]' || path === '[vsyscall]') continue;
      const [start, end] = range!.split('-').map((hex) => Number.parseInt(hex, 16)) as [number, number];
      for (let at = start; at < end; at += chunk.length - overlap) {
        let read: number;
        try {
          read = readSync(mem, chunk, 0, Math.min(chunk.length, end - at), at);
        } catch {
          break; // a region the kernel will not hand over (a guard page)
        }
        const view = chunk.subarray(0, read);
        for (const needle of needles) if (view.indexOf(needle) >= 0) found.add(needle);
        if (read < chunk.length) break;
      }
    }
  } finally {
    closeSync(mem);
  }
  return [...found];
}

t.test('after issuing ws tokens, auth-token holds none of their random bytes', async (t) => {
  const redis = await startRedis();
  const service = await startService('auth-token', { JWT_SECRET: SECRET, REDIS_URL: redis.url });
  t.teardown(async () => {
    await service.kill();
    await redis.stop();
  });
  // Listening comes before Redis is connected: tokens are issued once it is ready.
  await waitFor(async () => (await fetch(`${service.url}/readyz`)).status === 200 || null, 20_000, 'auth-token to be ready');
  const raw: Buffer[] = [];
  for (let i = 0; i < TOKENS; i++) {
    const res = await fetch(`${service.url}/api/user/ws-token/`, { headers: { authorization: `Bearer ${simpleJwtAccessToken(SECRET, 7)}` } });
    t.equal(res.status, 200);
    raw.push(Buffer.from(((await res.json()) as { ws_token: string }).ws_token, 'base64url'));
  }
  // The token travels as base64url text; its 32 raw bytes exist only where it was drawn.
  t.same(findInMemory(service.pid, raw).length, 0, `none of ${TOKENS} tokens' bytes found in the process' memory`);
  // The check itself works: bytes the process does hold are found.
  const jwtBytes = Buffer.from(SECRET);
  t.equal(findInMemory(service.pid, [jwtBytes]).length, 1, 'a secret the process holds is found');
});
