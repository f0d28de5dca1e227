import { CloseCode } from '@parking-realtime/protocol';
import type { WebSocket } from 'ws';

/**
 * Each user's sockets on this notifier, oldest first: to close them all (a
 * logout or ban), and to hold at most `max`. A new one past it closes that
 * user's oldest (4011): the newest tab or device is the one in use, and a
 * leaked token cannot pile up sockets.
 */
export class UserSockets {
  private readonly byUser = new Map<string, Set<WebSocket>>();

  constructor(private readonly max: number) {}

  /** The user's open sockets. */
  of(userId: string): WebSocket[] {
    return [...(this.byUser.get(userId) ?? [])];
  }

  /** Registers a socket; returns the one it displaced, if any. Call `remove` once it closes. */
  admit(userId: string, socket: WebSocket): WebSocket | undefined {
    let sockets = this.byUser.get(userId);
    if (!sockets) {
      sockets = new Set();
      this.byUser.set(userId, sockets);
    }
    sockets.add(socket);
    if (sockets.size <= this.max) return undefined;
    const oldest = sockets.values().next().value as WebSocket;
    sockets.delete(oldest);
    oldest.close(CloseCode.tooManySockets, 'too many sockets for this user; the oldest was closed');
    return oldest;
  }

  /** Forgets a closed socket. */
  remove(userId: string, socket: WebSocket): void {
    const sockets = this.byUser.get(userId);
    if (!sockets) return;
    sockets.delete(socket);
    if (sockets.size === 0) this.byUser.delete(userId);
  }
}
