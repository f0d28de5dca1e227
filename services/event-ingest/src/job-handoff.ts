import { randomUUID } from 'node:crypto';
import type { AcceptedEvent, NotificationEvent } from '@parking-realtime/protocol';
import { acceptEvent, GroupCommit, type NotificationProducer, notificationJobOptions, QUEUE_PREFIX, queueKey, type Redis, waitUntilReady } from '@parking-realtime/server';
import { Job, Queue, UnrecoverableError } from 'bullmq';
import type { FastifyBaseLogger } from 'fastify';
import { CLAIM_WAITING_SCRIPT, COMPLETE_CLAIMED_SCRIPT, STORE_CLAIMED_SCRIPT } from './handoff-scripts.js';
import type { IngestMetrics } from './ingest-metrics.js';
import type { NotificationPublisher } from './notification-publisher.js';
import { acceptedEventOf } from './notification-worker.js';
import { pauseFor, type WorkerFault } from './worker-fault.js';

/** The scripts as ioredis' defineCommand exposes them (EVALSHA, falling back to EVAL). */
interface HandoffCommands {
  storeClaimedJobs(numKeys: number, ...args: Array<string | number>): Promise<string[]>;
  claimWaitingJobs(numKeys: number, ...args: Array<string | number>): Promise<string[]>;
  completeClaimedJobs(numKeys: number, ...args: Array<string | number>): Promise<string[]>;
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
  metrics?: Pick<IngestMetrics, 'published' | 'failed'>;
  fault?: WorkerFault | undefined;
}

const FIRST_CONNECT_MS = 5000;
/** ioredis' states before its first connection is ready. */
const FIRST_CONNECT = new Set(['wait', 'connecting', 'connect']);

/** Most jobs taken from `wait` in one call. */
const CLAIM_BATCH = 256;

/** A job this worker holds: its BullMQ id (the event id, unless a job was put on the queue by hand) and its event. */
interface HeldJob {
  jobId: string;
  event: AcceptedEvent;
}

interface PendingStore {
  event: AcceptedEvent;
  stored: () => void;
  failed: (err: unknown) => void;
}

/**
 * How an instance that runs the worker moves notification jobs through the
 * queue in batches, where BullMQ's worker takes one job per round trip.
 *
 * - Events it accepts over HTTP: each is stored and, in the same script, taken
 *   by this worker, so it skips the trip through `wait`.
 * - Jobs the domain services enqueue: once BullMQ's worker has published one
 *   it took, the handoff takes what else waits in `wait`, oldest first, up to
 *   256 per call, until none is left; only then does that job complete and
 *   BullMQ's worker take another, so jobs leave in queue order.
 *
 * Either way the worker then publishes a batch and completes it with one
 * script call, writing what BullMQ's own scripts write for our jobs' options,
 * so BullMQ's Queue lists, counts and trims these jobs like any other: 202
 * only once stored, stored once per id, locked while held, kept for the dedupe
 * window. A failed attempt is recorded by BullMQ itself (`moveToFailed`), so
 * retries, backoff and the failed set are BullMQ's. If this process dies
 * holding jobs, their locks lapse and BullMQ's stall check hands them to a
 * worker; the publish marker keeps a second publish from delivering.
 */
export class JobHandoff implements Pick<NotificationProducer, 'send' | 'close'> {
  private readonly redis: Redis & HandoffCommands;
  private readonly commits = new GroupCommit<PendingStore>((batch) => this.store(batch));
  private readonly inHand = new Set<Promise<void>>();
  /** Every job of this process holds the same lock token: only its owner matters, not which batch. */
  private readonly token = `handoff:${randomUUID()}`;
  private readonly prefix: string;
  private connectedOnce = false;
  private draining: Promise<void> | undefined;
  private closing = false;
  /** BullMQ's view of the queue, to record a failed attempt as BullMQ does. */
  private readonly queue: Queue;
  private readonly jobOptions: ReturnType<typeof notificationJobOptions>;
  private readonly keepCompleted: { age: number; count: number };
  private readonly keys: Record<'meta' | 'active' | 'wait' | 'paused' | 'marker' | 'events' | 'stalled' | 'completed', string>;

  constructor(private readonly options: JobHandoffOptions) {
    const redis = options.redis as Redis & Partial<HandoffCommands>;
    if (!redis.storeClaimedJobs) {
      redis.defineCommand('storeClaimedJobs', { lua: STORE_CLAIMED_SCRIPT });
      redis.defineCommand('claimWaitingJobs', { lua: CLAIM_WAITING_SCRIPT });
      redis.defineCommand('completeClaimedJobs', { lua: COMPLETE_CLAIMED_SCRIPT });
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
    this.queue = new Queue(options.queueName, { connection: options.redis, prefix: QUEUE_PREFIX });
    // Connection errors reach the callers of each command; without a listener the Queue's copy would crash the process.
    this.queue.on('error', () => {});
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

  /**
   * Takes what waits in the queue in batches, oldest first, until none is
   * left, and publishes it like the events it stores itself; resolves when
   * done (a drain already under way is joined, not doubled). BullMQ's worker
   * calls it after publishing each job it took: under load that job is one of
   * many, and the rest go through here instead of one BullMQ round trip each.
   * Never rejects: what it could not take stays in the queue for BullMQ.
   */
  drainWaiting(): Promise<void> {
    if (this.closing) return Promise.resolve();
    this.draining ??= this.track(
      this.drain()
        .catch((err: Error) => this.options.log.warn({ err: { message: err.message } }, "taking waiting jobs failed; BullMQ's worker takes them"))
        .finally(() => {
          this.draining = undefined;
        }),
    );
    return this.draining;
  }

  /** Resolves once the jobs accepted or taken so far are stored, published and completed. */
  async settled(): Promise<void> {
    await this.commits.drain();
    while (this.inHand.size > 0) await Promise.all(this.inHand);
  }

  /** Takes no more jobs from `wait`, and finishes the ones in hand. */
  async close(): Promise<void> {
    this.closing = true;
    await this.settled();
    await this.queue.close();
  }

  private async drain(): Promise<void> {
    const { wait, active, meta, events } = this.keys;
    while (!this.closing) {
      const taken = await this.redis.claimWaitingJobs(4, wait, active, meta, events, this.prefix, Date.now(), this.token, this.options.lockMs, CLAIM_BATCH);
      if (taken.length === 0) return;
      const jobs: HeldJob[] = [];
      const invalid: Array<Promise<void>> = [];
      for (let i = 0; i < taken.length; i += 3) {
        const [id, data, timestamp] = [taken[i]!, taken[i + 1]!, Number(taken[i + 2])];
        try {
          jobs.push({ jobId: id, event: acceptedEventOf({ id, data: JSON.parse(data) as unknown, timestamp }) });
        } catch (err) {
          invalid.push(this.fail(id, err instanceof UnrecoverableError ? err : new UnrecoverableError(`invalid_event: ${(err as Error).message}`)));
        }
      }
      await Promise.all([this.publish(jobs), ...invalid]);
    }
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
      if (!this.connectedOnce && FIRST_CONNECT.has(this.redis.status)) await waitUntilReady(this.redis, FIRST_CONNECT_MS);
      this.connectedOnce = true;
      results = await this.redis.storeClaimedJobs(6, ...args);
    } catch (err) {
      for (const job of batch) job.failed(err);
      return;
    }
    const claimed: HeldJob[] = [];
    batch.forEach((job, i) => {
      if (results[i] === 'claimed') claimed.push({ jobId: job.event.id, event: job.event });
      job.stored();
    });
    if (claimed.length > 0) void this.track(this.publish(claimed));
  }

  /** Keeps work in hand until it settles, so settled() and close() wait for it. */
  private track(work: Promise<void>): Promise<void> {
    const tracked = work.finally(() => this.inHand.delete(tracked));
    this.inHand.add(tracked);
    return tracked;
  }

  private async publish(jobs: HeldJob[]): Promise<void> {
    if (jobs.length === 0) return;
    await pauseFor(this.options.fault, 'before');
    const outcomes = await Promise.allSettled(jobs.map(({ event }) => this.options.publisher.publish(event)));
    await pauseFor(this.options.fault, 'after');
    const done: string[] = [];
    const failures: Array<Promise<void>> = [];
    outcomes.forEach((outcome, i) => {
      const { jobId, event } = jobs[i]!;
      if (outcome.status === 'fulfilled') {
        if (outcome.value) this.options.metrics?.published.inc({ type: event.type });
        done.push(jobId, JSON.stringify({ notificationId: outcome.value }));
      } else {
        failures.push(this.fail(jobId, outcome.reason as Error));
      }
    });
    const { active, stalled, completed, events, meta } = this.keys;
    try {
      if (done.length > 0) {
        const { age, count } = this.keepCompleted;
        await this.redis.completeClaimedJobs(5, active, stalled, completed, events, meta, this.prefix, Date.now(), this.token, age, count, ...done);
      }
    } catch (err) {
      // Their locks lapse, and BullMQ's stall check hands them to a worker; the publish marker keeps a second publish from delivering.
      this.options.log.warn({ err: { message: (err as Error).message }, jobs: jobs.length }, 'held jobs left to the stall check');
    }
    await Promise.all(failures);
  }

  /**
   * A failed attempt, recorded by BullMQ itself (`moveToFailed` with this
   * worker's lock): retried after the job's backoff while attempts are left,
   * failed at once if it can never succeed.
   */
  private async fail(jobId: string, err: Error): Promise<void> {
    this.options.metrics?.failed.inc();
    this.options.log.warn({ eventId: jobId, err: { message: err.message } }, 'event failed');
    try {
      const job = await Job.fromId(this.queue, jobId);
      await job?.moveToFailed(err, this.token);
    } catch (recordErr) {
      this.options.log.warn({ eventId: jobId, err: { message: (recordErr as Error).message } }, 'failed attempt not recorded; left to the stall check');
    }
  }
}
