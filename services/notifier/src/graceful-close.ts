import type { WebSocket } from 'ws';

/** Service Restart: clients should reconnect, and nginx will send them to another notifier. */
export const CLOSE_SERVICE_RESTART = 1012;

/**
 * Closes every socket with 1012, each at a random moment within `spreadMs`,
 * so clients do not all reconnect at once; a socket that does not finish its
 * closing handshake within a second after that is terminated.
 */
export async function closeSpread(sockets: Iterable<WebSocket>, spreadMs: number): Promise<void> {
  const closing = [...sockets].map(
    (socket) =>
      new Promise<void>((resolve) => {
        if (socket.readyState === socket.CLOSED) return resolve();
        socket.once('close', () => resolve());
        const delay = Math.random() * spreadMs;
        setTimeout(() => {
          socket.close(CLOSE_SERVICE_RESTART, 'service restart');
          setTimeout(() => socket.terminate(), 1000).unref();
        }, delay).unref();
      }),
  );
  await Promise.all(closing);
}
