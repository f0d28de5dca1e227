import { type AcceptedEvent, QueuedEvent } from '@parking-realtime/protocol';
import { QUEUE_PREFIX, type Redis, toFieldErrors } from '@parking-realtime/server';
import { type Job, UnrecoverableError, Worker } from 'bullmq';
import type { FastifyBaseLogger } from 'fastify';
import { Compile } from 'typebox/compile';
import type { IngestMetrics } from './ingest-metrics.js';
import type { NotificationPublisher } from './notification-publisher.js';
import { pauseFor, type WorkerFault } from './worker-fault.js';

const queuedEvent = Compile(QueuedEvent);

export interface WorkerOptions {
  queueName: string;
  concurrency: number;
  /** Lock duration and stall check interval (BullMQ default 30 s). */
  lockMs?: number;
  /** A connection for BullMQ's blocking commands (maxRetriesPerRequest: null). */
  connection: Redis;
  publisher: NotificationPublisher;
  log: FastifyBaseLogger;
  metrics?: Pick<IngestMetrics, 'published' | 'failed'>;
  fault?: WorkerFault | undefined;
  /**
   * Called once a job is published, before it completes: the handoff takes
   * what else waits, in batches and in order (JobHandoff.drainWaiting). With
   * concurrency 1 this worker takes nothing meanwhile, so jobs are published
   * in the order they left the queue.
   */
  afterPublish?: () => Promise<void>;
}

/**
 * The event as the worker trusts it. A job put on the queue by hand is held to
 * the same schema as an HTTP body; one that fails can never succeed, so it is
 * not retried.
 */
export function acceptedEventOf(job: Pick<Job, 'data' | 'id' | 'timestamp'>): AcceptedEvent {
  if (!queuedEvent.Check(job.data)) {
    const detail = toFieldErrors(queuedEvent.Errors(job.data))
      .map((e) => `${e.path} ${e.message}`)
      .join('; ');
    throw new UnrecoverableError(`invalid_event: ${detail}`);
  }
  const data = job.data as QueuedEvent;
  return {
    ...data,
    id: data.id ?? String(job.id),
    created_at: data.created_at ?? new Date(job.timestamp).toISOString(),
  };
}

/**
 * Holds the writes on a connection's socket until the end of this turn of the
 * event loop. The jobs of one publish batch finish in the same turn; so
 * corked, their BullMQ completions (each a script call) leave in one write,
 * and Redis reads them in one read and answers in one write.
 */
function endOfTurnWrites(redis: Redis): () => void {
  let corked = false;
  return () => {
    const socket = redis.stream;
    if (corked || !socket) return;
    corked = true;
    socket.cork();
    setImmediate(() => {
      corked = false;
      socket.uncork();
    });
  };
}

/** Consumes the `notifications` queue: validates each job and publishes it; Redis errors are retried with backoff. */
export function startNotificationWorker(options: WorkerOptions): Worker {
  const holdWrites = endOfTurnWrites(options.connection);
  const worker = new Worker(
    options.queueName,
    async (job) => {
      const event = acceptedEventOf(job);
      await pauseFor(options.fault, 'before');
      let notificationId: string | null;
      try {
        notificationId = await options.publisher.publish(event);
      } catch (err) {
        // BullMQ writes the failed attempt once this throws.
        holdWrites();
        throw err;
      }
      await pauseFor(options.fault, 'after');
      if (notificationId) options.metrics?.published.inc({ type: event.type });
      await options.afterPublish?.();
      // BullMQ writes the completion once this returns: held here, after the handoff's drain,
      // so the jobs that finish in this turn share one write.
      holdWrites();
      return { notificationId };
    },
    {
      connection: options.connection,
      prefix: QUEUE_PREFIX,
      concurrency: options.concurrency,
      ...(options.lockMs ? { lockDuration: options.lockMs, stalledInterval: options.lockMs } : {}),
    },
  );
  worker.on('completed', (job, result: { notificationId: string | null }) => {
    options.log.debug({ eventId: job.id, notificationId: result.notificationId }, 'event published');
  });
  worker.on('failed', (job, err) => {
    options.metrics?.failed.inc();
    options.log.warn({ eventId: job?.id, attempts: job?.attemptsMade, err: { message: err.message } }, 'event failed');
  });
  worker.on('error', (err) => options.log.warn({ err: { message: err.message } }, 'worker error'));
  return worker;
}
