import type { NotificationFrame } from '@parking-realtime/protocol';

/**
 * The notifications delivered lately, by stream, epoch and id, so one that
 * reaches the client twice (replayed by the socket and fetched from history
 * while catching up, in either order) is delivered once. Bounded: past
 * `capacity` the oldest are forgotten. A catch-up fetches at most
 * MAX_CATCH_UP_PAGES pages, from where the socket's replay got to or from
 * where it started, so what both bring comes close together.
 */
export class DeliveredNotifications {
  private readonly keys = new Set<string>();

  constructor(private readonly capacity: number) {}

  /**
   * Records the notification; false if it was delivered before. Frames of a
   * server that predates streams carry none and are never held back.
   */
  add(frame: NotificationFrame): boolean {
    if (typeof frame.stream !== 'string' || typeof frame.epoch !== 'string') return true;
    const key = `${frame.stream} ${frame.epoch} ${frame.id}`;
    if (this.keys.has(key)) return false;
    this.keys.add(key);
    if (this.keys.size > this.capacity) this.keys.delete(this.keys.values().next().value as string);
    return true;
  }
}
