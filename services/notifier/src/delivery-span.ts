import type { NotificationType } from '@parking-realtime/protocol';
import { contextOfTraceparent, type Span, SpanKind, startSpan, traceHeaderOf } from '@parking-realtime/runtime';

/**
 * The `deliver notification` span of one published message on this notifier:
 * a child of the `publish notification` span whose `traceparent` came before
 * the frame (hasTraceHeader), covering the writes to its recipients' sockets.
 */
export function startDeliverySpan(message: Buffer, type: NotificationType, recipients: number): Span {
  return startSpan(
    'deliver notification',
    SpanKind.CONSUMER,
    {
      'messaging.system': 'redis',
      'messaging.operation.type': 'process',
      'notification.type': type,
      'notification.recipients': recipients,
    },
    contextOfTraceparent(traceHeaderOf(message)),
  );
}
