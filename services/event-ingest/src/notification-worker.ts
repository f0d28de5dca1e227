import { type AcceptedEvent, eventDepthErrors, type FieldError, QueuedEvent } from '@parking-realtime/protocol';
import { EVENT_BATCH_JOB, QueuedBatch } from '@parking-realtime/producer';
import { QUEUE_PREFIX, type RedisClient } from '@parking-realtime/redis';
import { contextOf, contextOfTraceparent, endSpan, type Span, SpanKind, startSpan, toFieldErrors, tracing } from '@parking-realtime/runtime';
import { type Job, Queue, UnrecoverableError, Worker } from 'bullmq';
import type { FastifyBaseLogger } from 'fastify';
import { Compile } from 'typebox/compile';
import type { IngestMetrics } from './ingest-metrics.js';
import type { NotificationPublisher } from './notification-publisher.js';
import { pauseFor, type WorkerFault } from './worker-fault.js';

const queuedEvent = Compile(QueuedEvent);
const queuedBatch = Compile(QueuedBatch);

export interface WorkerOptions {
  queueName: string;
  /** Lock duration and stall check interval (BullMQ default 30 s). */
  lockMs?: number;
  /** A connection for BullMQ's blocking commands (maxRetriesPerRequest: null). */
  connection: RedisClient;
  publisher: NotificationPublisher;
  log: FastifyBaseLogger;
  metrics?: Pick<IngestMetrics, 'published' | 'failed'>;
  fault?: WorkerFault | undefined;
}

/** A job whose data can never succeed: failed at once, not retried. `what` names the part refused. */
function refuse(errors: readonly FieldError[], what?: string): never {
  const detail = errors.map((e) => `${e.path} ${e.message}`).join('; ');
  throw new UnrecoverableError(`invalid_event: ${what ? `${what}: ` : ''}${detail}`);
}

/**
 * The events of a job as the worker trusts them, in order: the batch the
 * producer stored, or one event put on the queue by hand (job name = its
 * type), held to the same schema as an HTTP body. A job that fails can never
 * succeed, so it is not retried.
 */
export function eventsOfJob(job: Pick<Job, 'name' | 'data' | 'id' | 'timestamp'>): AcceptedEvent[] {
  const stamp = (data: QueuedEvent): AcceptedEvent => ({
    ...data,
    id: data.id ?? String(job.id),
    created_at: data.created_at ?? new Date(job.timestamp).toISOString(),
  });
  const checkDepth = (data: unknown) => {
    const errors = eventDepthErrors(data);
    if (errors.length > 0) refuse(errors);
  };
  if (job.name === EVENT_BATCH_JOB) {
    const data: unknown = job.data;
    const events = (data as { events?: unknown } | null)?.events;
    if (Array.isArray(events)) for (const e of events) checkDepth(e);
    if (!queuedBatch.Check(data)) refuse(toFieldErrors(queuedBatch.Errors(data)), 'batch');
    return data.events.map(stamp);
  }
  checkDepth(job.data);
  if (!queuedEvent.Check(job.data)) refuse(toFieldErrors(queuedEvent.Errors(job.data)), 'event');
  return [stamp(job.data)];
}

/**
 * A `process notification` span per event of the job, each a child of the
 * event's `send notification` span when the job carries its context (an event
 * put on the queue by hand starts a trace of its own).
 */
function startProcessSpans(job: Job, events: readonly AcceptedEvent[], queueName: string): Span[] {
  const traceparents = (job.data as { traceparents?: unknown } | null)?.traceparents;
  const carried = Array.isArray(traceparents) && traceparents.length === events.length ? (traceparents as string[]) : undefined;
  return events.map((event, i) =>
    startSpan(
      'process notification',
      SpanKind.CONSUMER,
      {
        'messaging.system': 'bullmq',
        'messaging.operation.type': 'process',
        'messaging.destination.name': queueName,
        'messaging.message.id': String(job.id),
        'messaging.batch.message_count': events.length,
        'bullmq.job.attempt': job.attemptsMade + 1,
        'notification.id': event.id,
        'notification.type': event.type,
      },
      contextOfTraceparent(carried?.[i]),
    ),
  );
}

/**
 * Consumes the `notifications` queue one job at a time across every
 * instance (BullMQ's global concurrency of 1): jobs leave in the order they
 * were stored, and each is published before the next is taken, so events are
 * published in the order they were accepted. Each job is a batch, so this
 * costs BullMQ's two calls per batch, not per event. A failed attempt is
 * retried by BullMQ with backoff; what it had published is not published
 * again (the publisher counts each event's targets).
 */
export function startNotificationWorker(options: WorkerOptions): { worker: Worker; close(): Promise<void> } {
  const queue = new Queue(options.queueName, { connection: options.connection, prefix: QUEUE_PREFIX });
  queue.on('error', () => {});
  // The connection waits out an outage (no retry limit), so this lands once Redis is there.
  queue.setGlobalConcurrency(1).catch((err: Error) => options.log.warn({ err: { message: err.message } }, 'could not set the queue to one job at a time'));
  const worker = new Worker(
    options.queueName,
    async (job) => {
      const events = eventsOfJob(job);
      const spans = tracing.enabled ? startProcessSpans(job, events, options.queueName) : undefined;
      await pauseFor(options.fault, 'before');
      const outcomes = await Promise.allSettled(
        spans
          ? events.map((event, i) => options.publisher.publish(event, contextOf(spans[i]!)))
          : events.map((event) => options.publisher.publish(event)),
      );
      await pauseFor(options.fault, 'after');
      spans?.forEach((span, i) => {
        const outcome = outcomes[i]!;
        if (outcome.status === 'fulfilled') span.setAttribute('notification.fresh', outcome.value);
        endSpan(span, outcome.status === 'rejected' ? outcome.reason : undefined);
      });
      let published = 0;
      outcomes.forEach((outcome, i) => {
        if (outcome.status === 'fulfilled' && outcome.value) {
          published += 1;
          options.metrics?.published.inc({ type: events[i]!.type });
        }
      });
      const failure = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
      // BullMQ records the failed attempt and retries the job; its published events are skipped then.
      if (failure) throw failure.reason;
      return { events: events.length, published };
    },
    {
      connection: options.connection,
      prefix: QUEUE_PREFIX,
      concurrency: 1,
      ...(options.lockMs ? { lockDuration: options.lockMs, stalledInterval: options.lockMs } : {}),
    },
  );
  worker.on('completed', (job, result: { events: number; published: number }) => {
    options.log.debug({ jobId: job.id, ...result }, 'events published');
  });
  worker.on('failed', (job, err) => {
    options.metrics?.failed.inc();
    options.log.warn({ jobId: job?.id, attempts: job?.attemptsMade, err: { message: err.message } }, 'job failed');
  });
  worker.on('error', (err) => options.log.warn({ err: { message: err.message } }, 'worker error'));
  return {
    worker,
    async close() {
      await worker.close();
      await options.publisher.settled();
      await queue.close();
    },
  };
}
