import { randomUUID } from 'node:crypto';
import type { AcceptedEvent, NotificationEvent } from '@parking-realtime/protocol';
import { acceptEvent, GroupCommit, type NotificationProducer, notificationJobOptions, queueKey, type Redis, waitUntilReady } from '@parking-realtime/server';
import { Job } from 'bullmq';
import type { FastifyBaseLogger } from 'fastify';
import { COMPLETE_CLAIMED_SCRIPT, RELEASE_CLAIMED_SCRIPT, STORE_CLAIMED_SCRIPT } from './handoff-scripts.js';
import type { IngestMetrics } from './ingest-metrics.js';
import type { NotificationPublisher } from './notification-publisher.js';
import { pauseFor, type WorkerFault } from './worker-fault.js';

/** The scripts as ioredis' defineCommand exposes them (EVALSHA, falling back to EVAL). */
interface HandoffCommands {
  storeClaimedJobs(numKeys: number, ...args: Array<string | number>): Promise<string[]>;
  completeClaimedJobs(numKeys: number, ...args: Array<string | number>): Promise<string[]>;
  releaseClaimedJobs(numKeys: number, ...args: Array<string | number>): Promise<number>;
}

export interface JobHandoffOptions {
  /** A fail-fast connection, so a Redis outage answers 503 at once. */
  redis: Redis;
  queueName: string;
  dedupeTtlSeconds: number;
  /** How long this worker holds a job before BullMQ's stall check may give it to another. */
  lockMs: number;
  publisher: NotificationPublisher;
  log: FastifyBaseLogger;
  metrics?: Pick<IngestMetrics, 'published'>;
  fault?: WorkerFault | undefined;
}

const FIRST_CONNECT_MS = 5000;

interface PendingStore {
  event: AcceptedEvent;
  stored: () => void;
  failed: (err: unknown) => void;
}

/**
 * How an instance that runs the worker takes the events it accepts over HTTP
 * through the queue. The job is stored and, in the same script, taken by this
 * instance's worker, so it skips the trip through `wait` and BullMQ's
 * per-job scripts; the worker then publishes the jobs of a batch and completes
 * them with one script each. What a job goes through is what BullMQ's worker
 * would do with it: 202 only once it is stored, stored once per id, locked
 * while held, completed and kept for the dedupe window.
 *
 * If this process dies holding jobs, their locks lapse and BullMQ's stall
 * check hands them to a worker; a job whose publish fails is handed back to
 * the queue at once, for BullMQ's worker to retry with the job's backoff. The
 * publish marker keeps either from delivering twice.
 */
export class JobHandoff implements Pick<NotificationProducer, 'send' | 'close'> {
  private readonly redis: Redis & HandoffCommands;
  private readonly commits = new GroupCommit<PendingStore>((batch) => this.store(batch));
  private readonly inHand = new Set<Promise<void>>();
  /** Every job of this process holds the same lock token: only its owner matters, not which batch. */
  private readonly token = `handoff:${randomUUID()}`;
  private readonly prefix: string;
  private connectedOnce = false;
  private readonly jobOptions: ReturnType<typeof notificationJobOptions>;
  private readonly keepCompleted: { age: number; count: number };
  private readonly keys: Record<'meta' | 'active' | 'wait' | 'paused' | 'marker' | 'events' | 'stalled' | 'completed', string>;

  constructor(private readonly options: JobHandoffOptions) {
    const redis = options.redis as Redis & Partial<HandoffCommands>;
    if (!redis.storeClaimedJobs) {
      redis.defineCommand('storeClaimedJobs', { lua: STORE_CLAIMED_SCRIPT });
      redis.defineCommand('completeClaimedJobs', { lua: COMPLETE_CLAIMED_SCRIPT });
      redis.defineCommand('releaseClaimedJobs', { lua: RELEASE_CLAIMED_SCRIPT });
    }
    this.redis = redis as Redis & HandoffCommands;
    const key = (part: string) => queueKey(options.queueName, part);
    this.prefix = key('');
    this.keys = {
      meta: key('meta'),
      active: key('active'),
      wait: key('wait'),
      paused: key('paused'),
      marker: key('marker'),
      events: key('events'),
      stalled: key('stalled'),
      completed: key('completed'),
    };
    this.jobOptions = notificationJobOptions(options.dedupeTtlSeconds);
    const keep = this.jobOptions.removeOnComplete as { age: number; count: number };
    this.keepCompleted = { age: keep.age, count: keep.count };
  }

  /** Validates and stores an event as a job; resolves with its id once it is stored in Redis. */
  async send(event: NotificationEvent): Promise<{ id: string }> {
    const accepted = acceptEvent(event);
    await new Promise<void>((stored, failed) => this.commits.add({ event: accepted, stored, failed }));
    return { id: accepted.id };
  }

  /** Waits for the jobs accepted so far to be stored, published and completed. */
  async close(): Promise<void> {
    await this.commits.drain();
    while (this.inHand.size > 0) await Promise.all(this.inHand);
  }

  private async store(batch: PendingStore[]): Promise<void> {
    const { meta, active, wait, paused, marker, events } = this.keys;
    const args: Array<string | number> = [meta, active, wait, paused, marker, events, this.prefix, Date.now(), this.token, this.options.lockMs];
    for (const { event } of batch) {
      // BullMQ's own encoding of the options, so its Queue reads the job as one of its own.
      const opts = JSON.stringify(Job.optsAsJSON({ ...this.jobOptions, jobId: event.id }));
      args.push(event.id, event.type, JSON.stringify(event), opts);
    }
    let results: string[];
    try {
      // Just after start-up the first connect may still be under way: wait for it, as BullMQ's
      // queue does. Later, fail fast: an outage answers 503 at once.
      if (!this.connectedOnce) await waitUntilReady(this.redis, FIRST_CONNECT_MS);
      this.connectedOnce = true;
      results = await this.redis.storeClaimedJobs(6, ...args);
    } catch (err) {
      for (const job of batch) job.failed(err);
      return;
    }
    const claimed: AcceptedEvent[] = [];
    batch.forEach((job, i) => {
      if (results[i] === 'claimed') claimed.push(job.event);
      job.stored();
    });
    if (claimed.length === 0) return;
    const work = this.publish(claimed).finally(() => this.inHand.delete(work));
    this.inHand.add(work);
  }

  private async publish(jobs: AcceptedEvent[]): Promise<void> {
    await pauseFor(this.options.fault, 'before');
    const outcomes = await Promise.allSettled(jobs.map((event) => this.options.publisher.publish(event)));
    await pauseFor(this.options.fault, 'after');
    const done: string[] = [];
    const failed: string[] = [];
    outcomes.forEach((outcome, i) => {
      const event = jobs[i]!;
      if (outcome.status === 'fulfilled') {
        if (outcome.value) this.options.metrics?.published.inc({ type: event.type });
        done.push(event.id, JSON.stringify({ notificationId: outcome.value }));
      } else {
        failed.push(event.id);
        this.options.log.warn({ eventId: event.id, err: { message: (outcome.reason as Error).message } }, 'event publish failed; handed back to the queue');
      }
    });
    const { active, stalled, completed, events, meta, wait, paused, marker } = this.keys;
    try {
      if (done.length > 0) {
        const { age, count } = this.keepCompleted;
        await this.redis.completeClaimedJobs(5, active, stalled, completed, events, meta, this.prefix, Date.now(), this.token, age, count, ...done);
      }
      if (failed.length > 0) await this.redis.releaseClaimedJobs(7, active, stalled, wait, paused, marker, events, meta, this.prefix, this.token, ...failed);
    } catch (err) {
      // Their locks lapse, and BullMQ's stall check hands them to a worker; the publish marker keeps a second publish from delivering.
      this.options.log.warn({ err: { message: (err as Error).message }, jobs: jobs.length }, 'handed-off jobs left to the stall check');
    }
  }
}
