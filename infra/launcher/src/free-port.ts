import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/**
 * Where the ports handed out are drawn from: below the kernel's ephemeral
 * range. A port the kernel picked (listen on 0) comes from that range, and
 * so does the local port of every outgoing connection: in the moment between
 * choosing a port and a child listening on it, any connection this machine
 * opens could take it (CI saw a service fail with EADDRINUSE that way).
 * Undefined where the range cannot be read (not Linux): then the kernel picks.
 */
function portPool(): { low: number; high: number } | undefined {
  try {
    const [ephemeralLow] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (!ephemeralLow || ephemeralLow <= 12_000) return undefined;
    return { low: 10_000, high: ephemeralLow - 1 };
  } catch {
    return undefined;
  }
}

const POOL = portPool();
/** Handed out by this process: not handed out again while it runs. */
const handedOut = new Set<number>();

/** Whether `port` (0: any) can be listened on at 127.0.0.1 right now; the port listened on, or undefined. */
function tryListen(port: number): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', (err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE' || err.code === 'EACCES' ? resolve(undefined) : reject(err)));
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      const bound = typeof address === 'object' && address ? address.port : undefined;
      server.close(() => resolve(bound));
    });
  });
}

/**
 * A TCP port that was free a moment ago on 127.0.0.1, outside the ephemeral
 * range where it can be (portPool), and never one this process already handed out.
 */
export async function freePort(): Promise<number> {
  if (POOL) {
    for (let attempt = 0; attempt < 100; attempt++) {
      const port = POOL.low + Math.floor(Math.random() * (POOL.high - POOL.low + 1));
      if (handedOut.has(port)) continue;
      if ((await tryListen(port)) === port) {
        handedOut.add(port);
        return port;
      }
    }
  }
  const port = await tryListen(0);
  if (port === undefined) throw new Error('no free TCP port on 127.0.0.1');
  handedOut.add(port);
  return port;
}

/** Fails, naming the port and what wanted it, when something already listens there. */
function assertPortFree(port: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new Error(`${what}: port ${port} is ${err.code === 'EADDRINUSE' ? 'in use (another stack still running?)' : `not usable (${err.code})`}`)),
    );
    server.listen(port, '127.0.0.1', () => server.close(() => resolve()));
  });
}

/**
 * The port to use: the one asked for once it is known to be free, or a free
 * one for 0. Checked before anything starts on it: a process whose port is
 * taken would seem ready through whatever holds it.
 */
export async function portFor(requested: number, what: string): Promise<number> {
  if (requested === 0) return freePort();
  await assertPortFree(requested, what);
  return requested;
}
