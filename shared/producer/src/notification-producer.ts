import { randomUUID } from 'node:crypto';
import { SpanKind } from '@opentelemetry/api';
import type { AcceptedEvent, NotificationEvent } from '@parking-realtime/protocol';
import { Queue } from 'bullmq';
import { Cluster, Redis } from 'ioredis';
import { assertEvent } from './event-validation.js';
import { EVENT_BATCH_JOB, MAX_EVENTS_PER_JOB, notificationJobOptions, type QueuedBatch } from './queue-options.js';
import type { RedisTarget } from '@parking-realtime/runtime';
import { createRedis, type RedisClient } from '@parking-realtime/redis';
import { DEFAULT_QUEUE_NAME, QUEUE_PREFIX } from '@parking-realtime/redis';
import { ReplicaWait } from '@parking-realtime/redis';
import { endSpan, startSpan, traceparentOf, tracing } from '@parking-realtime/runtime';
import { TurnBatch } from '@parking-realtime/runtime';

export interface NotificationProducerOptions {
  /**
   * A Redis URL, a Redis Cluster's seed nodes (`{ clusterNodes }`), or a
   * connection to share. A URL or seed list gets its own fail-fast connection.
   */
  connection: string | RedisTarget | RedisClient;
  /** Default `notifications`. */
  queueName?: string;
  /**
   * Under load, the events accepted within this long leave as one job (each
   * still answered only once stored); an event that finds the producer idle
   * leaves at once. Jobs are what the worker pays for, one at a time, so
   * fewer and larger jobs are what carry a high rate. Default 5 ms.
   */
  batchWindowMs?: number;
  /**
   * Answer an event only once its job is on this many replicas too (WAIT),
   * so a master that dies right after cannot take an accepted event with it
   * (replication is asynchronous); at most as many as the queue's master has
   * attached (see ReplicaWait). Default 0.
   */
  minReplicas?: number;
  /**
   * Trace each send: a `send notification` span, child of the active context
   * (the caller's span), whose context the job carries to the worker and on
   * to the notifiers. Default: whether this process started tracing
   * (startTracing); a domain service that set up its own OpenTelemetry SDK
   * passes true.
   */
  tracing?: boolean;
}

/** How long an accepted batch waits for its replicas before the send fails (503 over HTTP). */
export const REPLICA_WAIT_TIMEOUT_MS = 2000;

/**
 * The one way events are accepted: by a Node domain service directly, and by
 * event-ingest for `POST /api/events/`.
 */
export interface NotificationProducer {
  /**
   * Validates and stores an event. Resolves once it is stored in Redis, with
   * the event id (generated when absent). Sending the same id again within the
   * dedupe window is accepted and delivered once. Events sent one after
   * another (each awaited, or in one turn of the event loop) are stored, and
   * so published, in that order.
   * Rejects with InvalidEventError for a bad event, or with Redis' error while it is unreachable.
   */
  send(event: NotificationEvent): Promise<{ id: string }>;
  close(): Promise<void>;
  readonly queue: Queue<QueuedBatch>;
}

/** Validates an event and stamps it as the queue stores it: with its id (generated when absent) and the time it was accepted. */
export function acceptEvent(event: NotificationEvent): AcceptedEvent {
  assertEvent(event);
  return { ...event, id: event.id ?? randomUUID(), created_at: new Date().toISOString() };
}

/** Default batchWindowMs (EVENT_BATCH_WINDOW_MS). */
export const DEFAULT_BATCH_WINDOW_MS = 5;

interface PendingEvent {
  event: AcceptedEvent;
  stored: () => void;
  failed: (err: unknown) => void;
  /** Its `send notification` span's, when traced. */
  traceparent?: string;
}

/** Jobs of at most MAX_EVENTS_PER_JOB events each, in acceptance order. */
function jobsOf(batch: readonly PendingEvent[]): Array<{ name: string; data: QueuedBatch }> {
  const jobs: Array<{ name: string; data: QueuedBatch }> = [];
  for (let i = 0; i < batch.length; i += MAX_EVENTS_PER_JOB) {
    const slice = batch.slice(i, i + MAX_EVENTS_PER_JOB);
    const data: QueuedBatch = { events: slice.map((p) => p.event) };
    if (slice.some((p) => p.traceparent)) data.traceparents = slice.map((p) => p.traceparent ?? '');
    jobs.push({ name: EVENT_BATCH_JOB, data });
  }
  return jobs;
}

export function createNotificationProducer(options: NotificationProducerOptions): NotificationProducer {
  const given = options.connection;
  const ownsConnection = !(given instanceof Redis || given instanceof Cluster);
  const connection = ownsConnection
    ? createRedis(typeof given === 'string' ? { url: given } : (given as RedisTarget), { name: 'notification-producer', failFast: true })
    : given;
  const minReplicas = options.minReplicas ?? 0;
  const replicaWait = minReplicas > 0 ? new ReplicaWait(connection, minReplicas, REPLICA_WAIT_TIMEOUT_MS) : undefined;
  const queue = new Queue<QueuedBatch>(options.queueName ?? DEFAULT_QUEUE_NAME, {
    connection,
    prefix: QUEUE_PREFIX,
    defaultJobOptions: notificationJobOptions(),
  });
  // Queue re-emits connection errors; without a listener they would crash the process.
  queue.on('error', () => {});

  // The events gathered while the previous batch was on its way (and within
  // the batch window) leave as one job (one BullMQ call, one write), so jobs
  // grow with the load; each event is answered only once its job is stored,
  // and a failure answers its batch.
  const commits = new TurnBatch<PendingEvent[]>({
    empty: () => [],
    async commit(batch) {
      const [only, ...more] = jobsOf(batch);
      if (only && more.length === 0) await queue.add(only.name, only.data);
      else await queue.addBulk(jobsOf(batch));
      if (replicaWait) {
        const [copies, wanted] = await replicaWait.afterWriteTo(QUEUE_PREFIX);
        // Stored, and published in time, but not safe yet: a retry with the same id is deduplicated.
        if (copies < wanted) throw new Error(`stored on ${copies} of ${wanted} replicas within ${REPLICA_WAIT_TIMEOUT_MS} ms`);
      }
      for (const { stored } of batch) stored();
    },
    fail(batch, err) {
      for (const { failed } of batch) failed(err);
    },
    minIntervalMs: options.batchWindowMs ?? DEFAULT_BATCH_WINDOW_MS,
  });
  const traced = options.tracing ?? tracing.enabled;
  const queueName = options.queueName ?? DEFAULT_QUEUE_NAME;

  return {
    queue,
    async send(event) {
      const accepted = acceptEvent(event);
      if (!traced) {
        await new Promise<void>((stored, failed) => commits.gather().push({ event: accepted, stored, failed }));
        return { id: accepted.id };
      }
      const span = startSpan('send notification', SpanKind.PRODUCER, {
        'messaging.system': 'bullmq',
        'messaging.operation.type': 'send',
        'messaging.destination.name': queueName,
        'notification.id': accepted.id,
        'notification.type': accepted.type,
        'notification.user_count': accepted.user_ids?.length ?? 0,
      });
      try {
        await new Promise<void>((stored, failed) => commits.gather().push({ event: accepted, stored, failed, traceparent: traceparentOf(span) }));
      } catch (err) {
        endSpan(span, err);
        throw err;
      }
      endSpan(span);
      return { id: accepted.id };
    },
    async close() {
      await commits.drain();
      await queue.close();
      if (ownsConnection) connection.disconnect();
    },
  };
}
