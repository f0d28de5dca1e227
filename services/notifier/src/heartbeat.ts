import { CloseCode } from '@parking-realtime/protocol';
import type { WebSocket, WebSocketServer } from 'ws';

/**
 * One timer for all sockets (not one per socket): every interval, each socket
 * is pinged; one that has missed two pings in a row is dropped. Returns a stop function.
 */
export function startHeartbeat(server: WebSocketServer, intervalMs: number, onDead: (socket: WebSocket) => void): () => void {
  const missed = new WeakMap<WebSocket, number>();
  const watched = new WeakSet<WebSocket>();
  const timer = setInterval(() => {
    for (const socket of server.clients) {
      if (!watched.has(socket)) {
        watched.add(socket);
        socket.on('pong', () => missed.set(socket, 0));
      }
      const count = missed.get(socket) ?? 0;
      if (count >= 2) {
        onDead(socket);
        // A dead link cannot carry a close frame; the code is for the record and for a client that is merely slow.
        socket.close(CloseCode.heartbeatTimeout, 'no pong');
        socket.terminate();
        continue;
      }
      missed.set(socket, count + 1);
      if (socket.readyState === socket.OPEN) socket.ping();
    }
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
