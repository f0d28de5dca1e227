import type { NotificationFrame, StreamName, StreamPosition, StreamPositions, SubscribedFrame } from '@parking-realtime/protocol';
// The schema-free entry: the main one would bundle typebox into the browser (5 kB → 84 kB).
import { advancePosition } from '@parking-realtime/protocol/positions';
import { compareNotificationIds } from './notification-ids.js';

/** Positions as the client hands them out: a snapshot the caller cannot change. */
export type ReadonlyStreamPositions = { readonly [S in StreamName]?: Readonly<StreamPosition> };

/** What a subscribe adds to resume: see SubscribeFrame. */
export interface ResumeFields {
  positions?: StreamPositions;
  last_id?: string;
}

/**
 * Where the client is, kept across reconnects (and across close/connect):
 * the position in each stream, to resume exactly (issue #13), and the id of
 * the last notification seen, for servers that only know `last_id`.
 */
export class ResumeState {
  private readonly held: StreamPositions = {};
  private lastSeenId: string | undefined;

  get positions(): ReadonlyStreamPositions {
    // advancePosition replaces a stream's position object, never edits it: a shallow copy is a stable snapshot.
    return { ...this.held };
  }

  get lastId(): string | undefined {
    return this.lastSeenId;
  }

  /** `subscribed.positions`; absent from servers that predate positions. */
  subscribed(frame: Pick<SubscribedFrame, 'positions'>): void {
    if (!frame.positions) return;
    for (const [stream, at] of Object.entries(frame.positions)) {
      if (at) advancePosition(this.held, stream as StreamName, at.id, at.epoch);
    }
  }

  notification(frame: NotificationFrame): void {
    // Kept as today: the latest to arrive, not the highest (ids of different streams are only roughly ordered).
    this.lastSeenId = frame.id;
    // A server that predates positions sends neither field; a position without them would get the subscribe refused.
    if (typeof frame.stream === 'string' && typeof frame.epoch === 'string') {
      advancePosition(this.held, frame.stream as StreamName, frame.id, frame.epoch);
    }
  }

  /**
   * A position the notifications endpoint handed out, or the position of a
   * notification read from history: it moves the held one forward, as a live
   * notification would, but never back to an older epoch (an answer read
   * before the stream began again must not undo what the socket has since
   * brought). lastId stays: it is the last notification to arrive live.
   */
  fetched(stream: StreamName, at: StreamPosition): void {
    const held = this.held[stream];
    if (held && held.epoch !== at.epoch && compareNotificationIds(at.epoch || '0-0', held.epoch || '0-0') < 0) return;
    advancePosition(this.held, stream, at.id, at.epoch);
  }

  /** Nothing until something was seen: a first subscribe asks for no replay. */
  subscribeFields(): ResumeFields {
    const positions = Object.keys(this.held).length > 0 ? { ...this.held } : undefined;
    return {
      ...(positions ? { positions } : {}),
      // Servers that know positions ignore it when both are sent; older ones resume by it.
      ...(this.lastSeenId ? { last_id: this.lastSeenId } : {}),
    };
  }
}
