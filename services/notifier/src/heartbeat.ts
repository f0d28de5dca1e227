import { CloseCode } from '@parking-realtime/protocol';
import type { WebSocket, WebSocketServer } from 'ws';

/**
 * One timer for all sockets (not one per socket): every interval, each socket
 * is pinged; one that has missed two pings in a row is dropped. Returns a stop function.
 */
export function startHeartbeat(server: WebSocketServer, intervalMs: number, onDead: (socket: WebSocket) => void): () => void {
  const missed = new WeakMap<WebSocket, number>();
  // One handler shared by every socket rather than a closure each.
  function onPong(this: WebSocket): void {
    missed.set(this, 0);
  }
  const timer = setInterval(() => {
    for (const socket of server.clients) {
      const count = missed.get(socket);
      if (count === undefined) socket.on('pong', onPong);
      else if (count >= 2) {
        onDead(socket);
        // A dead link cannot carry a close frame; the code is for the record and for a client that is merely slow.
        socket.close(CloseCode.heartbeatTimeout, 'no pong');
        socket.terminate();
        continue;
      }
      missed.set(socket, (count ?? 0) + 1);
      if (socket.readyState === socket.OPEN) socket.ping();
    }
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
