import { type NotificationType, notificationCreatedAtOf } from '@parking-realtime/protocol';
import type { ServiceMetrics } from '@parking-realtime/server';
import { Counter, Gauge, Histogram } from 'prom-client';

export interface NotifierMetrics {
  connectionsOpen: Gauge;
  /** Sockets the server dropped, by reason (slow_consumer, heartbeat_timeout). */
  dropped: Counter<'reason'>;
  delivered: Counter<'type'>;
  deliveryLatency: Histogram<'type'>;
}

export function createNotifierMetrics({ registry }: ServiceMetrics): NotifierMetrics {
  return {
    connectionsOpen: new Gauge({ name: 'ws_connections_open', help: 'Open WebSocket connections', registers: [registry] }),
    dropped: new Counter({
      name: 'ws_connections_dropped_total',
      help: 'Sockets the server dropped, by reason',
      labelNames: ['reason'],
      registers: [registry],
    }),
    delivered: new Counter({
      name: 'notifications_delivered_total',
      help: 'Notifications written to sockets, by type (one per recipient socket)',
      labelNames: ['type'],
      registers: [registry],
    }),
    deliveryLatency: new Histogram({
      name: 'notification_delivery_latency_seconds',
      help: 'From event creation (created_at) to the write to the sockets',
      labelNames: ['type'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
  };
}

/** Counts a delivery and times it from the frame's created_at; one laid out otherwise (an older publisher's) is not timed. */
export function recordDelivery(metrics: NotifierMetrics, type: NotificationType, payload: Buffer, recipients: number): void {
  if (recipients === 0) return;
  metrics.delivered.inc({ type }, recipients);
  const created = Date.parse(notificationCreatedAtOf(payload));
  if (!Number.isNaN(created)) metrics.deliveryLatency.observe({ type }, Math.max(0, Date.now() - created) / 1000);
}
