// Browser-light: no schemas (no typebox) here, so a client that only keeps
// positions imports this module alone (`@parking-realtime/protocol/positions`).
import { compareNotificationIds } from './notification-id.js';
import type { NotificationType } from './notification-types.js';

/**
 * Every notification belongs to one stream, and its `id` is its position in
 * that stream: `user:<type>` holds what was addressed to this user, and
 * `all:<type>` what was broadcast, one stream per notification type. Each
 * stream lives whole on one Redis (one Cluster slot), so positions order it
 * exactly; ids of different streams are only roughly ordered (by time).
 */
export type StreamName = `user:${NotificationType}` | `all:${NotificationType}`;

/** Where a client is in one stream; see StreamPosition in streams.ts. */
export type StreamPositions = Partial<Record<StreamName, { id: string; epoch: string }>>;

/**
 * A client's position after seeing `id` in `stream`: a newer epoch replaces
 * what it held, and within an epoch only a later id moves it (a notification
 * that arrives after `subscribed` may lie behind the position it gave).
 */
export function advancePosition(positions: StreamPositions, stream: StreamName, id: string, epoch: string): void {
  const held = positions[stream];
  if (!held || held.epoch !== epoch || compareNotificationIds(id, held.id) > 0) positions[stream] = { id, epoch };
}
