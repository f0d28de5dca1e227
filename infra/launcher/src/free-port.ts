import { createServer } from 'node:net';

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
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
