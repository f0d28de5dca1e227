import { spawn } from 'node:child_process';
import { createRedis, slotOf } from '@parking-realtime/redis';
import { TestSocket } from '@parking-realtime/testing';
import t from 'tap';
import { Cluster } from './support/cluster.js';

// Every command the services send, watched on one Redis (MONITOR): each
// command, script call and MULTI…EXEC must keep its keys in one Redis Cluster
// slot, or it would fail with CROSSSLOT on a cluster. A cluster refuses only
// what it happens to see span two slots; this checks every call's keys.
const cluster = await Cluster.start({ notifiers: 1 });
t.teardown(() => cluster.stop());

// redis-cli, not ioredis' monitor(): its command queue trips over MONITOR lines that arrive
// before its own replies ("Command queue state error"), which ended this test in one CI run.
const monitor = spawn('redis-cli', ['-p', String(cluster.redis.port), 'monitor'], { stdio: ['ignore', 'pipe', 'inherit'] });
const keysOf = createRedis(cluster.redis.url, { name: 'getkeys' });
t.teardown(() => {
  monitor.kill();
  keysOf.disconnect();
});
const seen: Array<{ source: string; args: string[] }> = [];
await new Promise<void>((resolve, reject) => {
  let buffered = '';
  let started = false;
  monitor.once('error', reject);
  monitor.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      if (!started && line.trim() === 'OK') {
        started = true;
        resolve();
        continue;
      }
      const parsed = monitorLine(line);
      if (parsed) seen.push(parsed);
    }
  });
});

/** One MONITOR line, `<time> [<db> <client>] "arg" "arg" ...`, as its client and arguments. */
function monitorLine(line: string): { source: string; args: string[] } | undefined {
  const head = /^\d+\.\d+ \[\d+ ([^\]]+)\] /.exec(line);
  if (!head) return undefined;
  const args = [...line.slice(head[0].length).matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) =>
    m[1]!.replace(/\\x([0-9a-f]{2})|\\(.)/g, (_, hex: string | undefined, ch: string) => (hex ? String.fromCharCode(Number.parseInt(hex, 16)) : ch)),
  );
  return { source: head[1]!, args };
}

t.test('the whole path keeps each call within one slot', async (t) => {
  // Tokens (issue, rate limits, consume), subscribe and resume, targeted, broadcast and
  // producer events, the worker and BullMQ.
  const users = ['s-1', 's-2', 's-3'];
  const sockets = await Promise.all(
    users.map(async (user) => {
      const socket = await TestSocket.connect(`${cluster.notifiers[0]!.url.replace('http', 'ws')}/ws/notifications/?token=${await cluster.wsToken(user)}`);
      await socket.subscribe(['reservation', 'parking_lot'], { last_id: `${Date.now() - 1000}-0` });
      return socket;
    }),
  );
  t.equal(await cluster.post({ type: 'reservation', message: 'm', data: {}, user_ids: users }), 202);
  t.equal(await cluster.post({ type: 'parking_lot', message: 'b', data: {} }), 202);
  await cluster.producer.send({ type: 'reservation', message: 'p', data: {}, user_ids: ['s-1'] });
  await Promise.all(sockets.map((s) => s.next((f) => f.type === 'notification' && f.message === 'b', 10_000)));
  await sockets[0]!.next((f) => f.type === 'notification' && f.message === 'p', 10_000);
  await Promise.all(sockets.map((s) => s.close()));

  const calls = groupCalls(seen.splice(0));
  t.ok(calls.length > 50, `${calls.length} calls watched`);
  const spanning: string[] = [];
  for (const call of calls) {
    const keys = (await Promise.all(call.commands.map((args) => keysIn(args)))).flat();
    const slots = new Set(keys.map((k) => slotOf(k)));
    if (slots.size > 1) spanning.push(`${call.commands.map((c) => c[0]).join(' ')}: ${keys.join(', ')}`);
  }
  t.same(spanning, [], 'no call spans slots');
});

/** Commands grouped as Redis runs them atomically: a MULTI…EXEC of one connection is one call. */
function groupCalls(commands: Array<{ source: string; args: string[] }>): Array<{ commands: string[][] }> {
  const calls: Array<{ commands: string[][] }> = [];
  const open = new Map<string, string[][]>();
  for (const { source, args } of commands) {
    const name = args[0]?.toLowerCase();
    if (name === 'multi') open.set(source, []);
    else if (name === 'exec' || name === 'discard') {
      calls.push({ commands: open.get(source) ?? [] });
      open.delete(source);
    } else if (open.has(source)) open.get(source)!.push(args);
    else calls.push({ commands: [args] });
  }
  return calls;
}

/** The keys of a command, as Redis itself reads them (COMMAND GETKEYS); none for commands without keys. */
async function keysIn(args: string[]): Promise<string[]> {
  const name = args[0]?.toLowerCase() ?? '';
  // Not keys, or not commands a cluster routes by key.
  if (['monitor', 'client', 'info', 'ping', 'select', 'script', 'cluster', 'command', 'publish', 'subscribe', 'unsubscribe', 'psubscribe', 'hello', 'time'].includes(name)) return [];
  try {
    return (await keysOf.call('COMMAND', 'GETKEYS', ...args)) as string[];
  } catch {
    return []; // "The command has no key arguments"
  }
}
