import type { NotificationType } from '@parking-realtime/protocol';
import { broadcastChannel, userChannel } from '@parking-realtime/redis';

/** What the index needs to know of a connection. */
export interface Subscriber {
  readonly userId: string;
}

/**
 * Who wants what, with no I/O: maps each Redis channel to the connections it
 * feeds. A connection of user U subscribed to type T is fed by U's channel for
 * T (targeted) and T's broadcast channel. Every change answers which channels
 * became needed or unneeded, for the Redis subscriber to follow.
 */
export class SubscriptionIndex<C extends Subscriber> {
  private readonly byChannel = new Map<string, Set<C>>();
  private readonly typesByConnection = new Map<C, Set<NotificationType>>();

  /** Adds types to a connection; returns the channels nobody needed before. */
  subscribe(conn: C, types: readonly NotificationType[]): string[] {
    let current = this.typesByConnection.get(conn);
    if (!current) {
      current = new Set();
      this.typesByConnection.set(conn, current);
    }
    const added: string[] = [];
    for (const type of types) {
      if (current.has(type)) continue;
      current.add(type);
      for (const channel of channelsFor(conn.userId, type)) {
        let conns = this.byChannel.get(channel);
        if (!conns) {
          conns = new Set();
          this.byChannel.set(channel, conns);
          added.push(channel);
        }
        conns.add(conn);
      }
    }
    return added;
  }

  /** Removes types from a connection; returns the channels nobody needs any more. */
  unsubscribe(conn: C, types: readonly NotificationType[]): string[] {
    const current = this.typesByConnection.get(conn);
    if (!current) return [];
    const removed: string[] = [];
    for (const type of types) {
      if (!current.delete(type)) continue;
      for (const channel of channelsFor(conn.userId, type)) {
        const conns = this.byChannel.get(channel);
        if (!conns) continue;
        conns.delete(conn);
        if (conns.size === 0) {
          this.byChannel.delete(channel);
          removed.push(channel);
        }
      }
    }
    if (current.size === 0) this.typesByConnection.delete(conn);
    return removed;
  }

  /** Forgets a connection; returns the channels nobody needs any more. */
  remove(conn: C): string[] {
    const current = this.typesByConnection.get(conn);
    return current ? this.unsubscribe(conn, [...current]) : [];
  }

  /** The connections a message on `channel` goes to. */
  recipients(channel: string): ReadonlySet<C> | undefined {
    return this.byChannel.get(channel);
  }

  typesOf(conn: C): ReadonlySet<NotificationType> {
    return this.typesByConnection.get(conn) ?? new Set();
  }

  /** Every channel some connection needs. */
  channels(): string[] {
    return [...this.byChannel.keys()];
  }

  get connectionCount(): number {
    return this.typesByConnection.size;
  }
}

function channelsFor(userId: string, type: NotificationType): [string, string] {
  return [userChannel(userId, type), broadcastChannel(type)];
}
