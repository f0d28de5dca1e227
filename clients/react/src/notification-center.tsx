import type { NotificationFrame, NotificationType } from '@parking-realtime/protocol';
import { useId, useMemo } from 'react';
import { statusLabel } from './status-label.js';
import { type UseNotificationsOptions, type UseNotificationsResult, useNotifications } from './use-notifications.js';

interface CommonProps {
  /** Heading of the panel. Default "Notifications". */
  title?: string;
  /** Show the connection status line; turn off when the page shows it elsewhere. Default true. */
  showStatus?: boolean;
}

/** Either the result of a `useNotifications` call the page already makes, or options to make one here. */
export type NotificationCenterProps =
  | (CommonProps & { notifications: UseNotificationsResult })
  | (CommonProps & { options: UseNotificationsOptions });

/**
 * A panel with the connection status, the notifications newest first and a
 * Clear button. Test ids: notification-center, notification-status,
 * notifications (the list, always present), notification (each item),
 * notifications-clear.
 */
export function NotificationCenter(props: NotificationCenterProps) {
  if ('options' in props) return <OwnConnection {...props} />;
  return <NotificationPanel {...props} />;
}

function OwnConnection({ options, ...rest }: CommonProps & { options: UseNotificationsOptions }) {
  return <NotificationPanel {...rest} notifications={useNotifications(options)} />;
}

function NotificationPanel({ notifications, title = 'Notifications', showStatus = true }: CommonProps & { notifications: UseNotificationsResult }) {
  const headingId = useId();
  const { messages, status, error, clear } = notifications;
  const newestFirst = useMemo(() => [...messages].reverse(), [messages]);
  return (
    <section className="notification-center" aria-labelledby={headingId} data-testid="notification-center">
      <div className="notification-center__header">
        <h2 id={headingId}>{title}</h2>
        <button type="button" onClick={clear} disabled={messages.length === 0} data-testid="notifications-clear">
          Clear
        </button>
      </div>
      {showStatus && (
        <output className={`notification-center__status is-${status}`} data-testid="notification-status">
          {statusLabel(status)}
        </output>
      )}
      {error && (
        <p className="notification-center__error" role="alert">
          {error.message}
        </p>
      )}
      {newestFirst.length === 0 && <p className="notification-center__empty">No notifications yet.</p>}
      <ol className="notification-center__list" aria-labelledby={headingId} data-testid="notifications">
        {newestFirst.map((notification) => (
          <NotificationItem key={notification.id} notification={notification} />
        ))}
      </ol>
    </section>
  );
}

const typeLabels: Record<NotificationType, string> = { reservation: 'Reservation', parking_lot: 'Parking lot' };

function NotificationItem({ notification }: { notification: NotificationFrame }) {
  const { message, notification_type: type, created_at: createdAt } = notification;
  return (
    <li className={`notification is-${type}`} data-testid="notification">
      <p className="notification__message">{message}</p>
      <p className="notification__meta">
        <span className="notification__type">{typeLabels[type] ?? type}</span>
        {' · '}
        <time dateTime={createdAt}>{formatTime(createdAt)}</time>
      </p>
    </li>
  );
}

function formatTime(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleTimeString();
}
