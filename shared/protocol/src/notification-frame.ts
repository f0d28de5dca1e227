import type { NotificationType } from './notification-types.js';
import type { StreamName } from './streams.js';

/**
 * A notification frame's layout: `id`, `stream` and `epoch` first (the
 * notifier reads the id from its fixed prefix), then the body the event made,
 * `created_at` last. The publisher writes the body once per event and its
 * script prefixes each stream's id and epoch the same way (keep the two in step).
 */
export function notificationFrameText(id: string, stream: StreamName, epoch: string, body: string): string {
  return `{"type":"notification","id":"${id}","stream":"${stream}","epoch":"${epoch}",${body}`;
}

/** The frame body of an event: its JSON object without the opening brace. Throws if `data` cannot be serialized. */
export function notificationBody(event: { type: NotificationType; message: string; data: unknown; created_at: string }): string {
  return JSON.stringify({
    notification_type: event.type,
    message: event.message,
    data: event.data,
    created_at: event.created_at,
  }).slice(1);
}
