import { CloseCode } from '@parking-realtime/protocol';
import { issuedBeforeDisconnect } from '@parking-realtime/redis';
import type { WebSocket } from 'ws';

/** The close reason (with 4003) of a socket whose user was disconnected. */
export const DISCONNECTED_REASON = 'disconnected by the service';

/**
 * Each user's sockets on this notifier, oldest first, with when each one's
 * token was issued: to close them on a logout or ban, and to hold at most
 * `max`. A new one past it closes that user's oldest (4011): the newest tab or
 * device is the one in use, and a leaked token cannot pile up sockets.
 */
export class UserSockets {
  private readonly byUser = new Map<string, Map<WebSocket, number>>();

  constructor(private readonly max: number) {}

  /** The users with a socket here. */
  users(): IterableIterator<string> {
    return this.byUser.keys();
  }

  /** The user's open sockets. */
  of(userId: string): WebSocket[] {
    return [...(this.byUser.get(userId)?.keys() ?? [])];
  }

  /** Registers a socket; returns the one it displaced, if any. Call `remove` once it closes. */
  admit(userId: string, socket: WebSocket, tokenIssuedAtMs: number): WebSocket | undefined {
    let sockets = this.byUser.get(userId);
    if (!sockets) {
      sockets = new Map();
      this.byUser.set(userId, sockets);
    }
    sockets.set(socket, tokenIssuedAtMs);
    if (sockets.size <= this.max) return undefined;
    const oldest = sockets.keys().next().value as WebSocket;
    sockets.delete(oldest);
    oldest.close(CloseCode.tooManySockets, 'too many sockets for this user; the oldest was closed');
    return oldest;
  }

  /** Closes (4003) the user's sockets opened with tokens issued at or before `atMs`; returns how many. */
  disconnect(userId: string, atMs: number): number {
    let closed = 0;
    for (const [socket, issuedAt] of this.byUser.get(userId) ?? []) {
      if (!issuedBeforeDisconnect(issuedAt, atMs)) continue;
      socket.close(CloseCode.revoked, DISCONNECTED_REASON);
      closed++;
    }
    return closed;
  }

  /** Forgets a closed socket. */
  remove(userId: string, socket: WebSocket): void {
    const sockets = this.byUser.get(userId);
    if (!sockets) return;
    sockets.delete(socket);
    if (sockets.size === 0) this.byUser.delete(userId);
  }
}
