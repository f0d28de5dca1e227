import { CloseCode } from '@parking-realtime/protocol';
import type { WebSocket } from 'ws';

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
          socket.close(CloseCode.serviceRestart, 'service restart');
          setTimeout(() => socket.terminate(), 1000).unref();
        }, delay).unref();
      }),
  );
  await Promise.all(closing);
}
