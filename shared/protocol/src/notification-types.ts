import { Type } from 'typebox';

/** Every notification type a client may subscribe to; anything else is refused. */
export const NOTIFICATION_TYPES = ['reservation', 'parking_lot'] as const;

export type NotificationType = (typeof NOTIFICATION_TYPES)[number];

export const NotificationTypeSchema = Type.Union([Type.Literal('reservation'), Type.Literal('parking_lot')], {
  description: 'A known notification type',
});

export function isNotificationType(value: unknown): value is NotificationType {
  return (NOTIFICATION_TYPES as readonly unknown[]).includes(value);
}
