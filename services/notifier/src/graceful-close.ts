import { CloseCode } from '@parking-realtime/protocol';
import type { WebSocket } from 'ws';

/**
 * Closes every socket (1012 by default), each at a random moment within `spreadMs`,
 * so clients do not all reconnect at once; a socket that does not finish its
 * closing handshake within a second after that is terminated.
 */
export async function closeSpread(
  sockets: Iterable<WebSocket>,
  spreadMs: number,
  code: number = CloseCode.serviceRestart,
  reason = 'service restart',
): Promise<void> {
  const closing = [...sockets].map(
    (socket) =>
      new Promise<void>((resolve) => {
        if (socket.readyState === socket.CLOSED) return resolve();
        socket.once('close', () => resolve());
        const delay = Math.random() * spreadMs;
        setTimeout(() => {
          socket.close(code, reason);
          setTimeout(() => socket.terminate(), 1000).unref();
        }, delay).unref();
      }),
  );
  await Promise.all(closing);
}
