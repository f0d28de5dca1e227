/**
 * Operator tools over the notifications queue: list failed jobs and replay them.
 *
 * A replayed job goes through the worker again. Publication is deduplicated per
 * event and target (the publisher's script counts the targets each event id
 * reached within the dedupe window), so a replay never delivers a notification
 * twice.
 */
import { ErrorCode } from '@parking-realtime/protocol';
import { EVENT_BATCH_JOB } from '@parking-realtime/producer';
import type { Job, Queue } from 'bullmq';

/** What an operator needs to judge a failed job; the event itself is summarised, not dumped. */
export interface FailedJobSummary {
  id: string;
  name: string;
  failedReason: string;
  attemptsMade: number;
  /** When it last failed (ISO 8601), or null if BullMQ did not record it. */
  failedAt: string | null;
  /** How many events the job holds: a batch stored by the producer, or 1 for a job added by hand. */
  events: number;
  /** The job's first event. */
  event: {
    type: string | null;
    /** The message, cut to MESSAGE_PREVIEW_CHARS. */
    message: string | null;
    /** How many users it targets; null for a broadcast (or data without user_ids). */
    user_ids_count: number | null;
  };
}

/** `not_found` is the registry's; `not_failed` is the operator CLI's own, never sent to a client. */
export type FailedJobErrorCode = typeof ErrorCode.notFound | 'not_failed';

/** Thrown by replayFailed for an unknown id or a job that is not in the failed state. */
export class FailedJobError extends Error {
  override name = 'FailedJobError';
  constructor(
    readonly code: FailedJobErrorCode,
    message: string,
  ) {
    super(message);
  }
}

const MESSAGE_PREVIEW_CHARS = 200;

/** Summarises job data that may be anything: a job put on the queue by hand is not trusted. */
function summariseEvent(data: unknown): FailedJobSummary['event'] {
  const d = typeof data === 'object' && data !== null ? (data as Record<string, unknown>) : {};
  const message = typeof d.message === 'string' ? d.message : null;
  return {
    type: typeof d.type === 'string' ? d.type : null,
    message: message !== null && message.length > MESSAGE_PREVIEW_CHARS ? `${message.slice(0, MESSAGE_PREVIEW_CHARS)}…` : message,
    user_ids_count: Array.isArray(d.user_ids) ? d.user_ids.length : null,
  };
}

export function summariseFailedJob(job: Job): FailedJobSummary {
  const batch = job.name === EVENT_BATCH_JOB && Array.isArray(job.data?.events) ? (job.data.events as unknown[]) : undefined;
  return {
    id: String(job.id),
    name: job.name,
    failedReason: job.failedReason ?? '',
    attemptsMade: job.attemptsMade,
    failedAt: job.finishedOn ? new Date(job.finishedOn).toISOString() : null,
    events: batch ? batch.length : 1,
    event: summariseEvent(batch ? batch[0] : job.data),
  };
}

export interface ListRange {
  /** Zero-based index of the first job, newest first. Default 0. */
  start?: number;
  /** Zero-based index of the last job, inclusive. Default start + 99. */
  end?: number;
}

/** Failed jobs, newest first, `start`..`end` inclusive. */
export async function listFailed(queue: Queue, range: ListRange = {}): Promise<FailedJobSummary[]> {
  const start = range.start ?? 0;
  const end = range.end ?? start + 99;
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end < start) {
    throw new RangeError(`invalid range ${start}..${end}`);
  }
  const jobs = await queue.getFailed(start, end);
  return jobs.filter((job): job is Job => Boolean(job)).map(summariseFailedJob);
}

/**
 * Moves one failed job back to waiting, with its attempt count reset so it
 * gets its full retries again. Rejects with FailedJobError `not_found` or
 * `not_failed`; Redis errors pass through.
 */
export async function replayFailed(queue: Queue, id: string): Promise<void> {
  const job = await queue.getJob(id);
  if (!job) throw new FailedJobError(ErrorCode.notFound, `job ${id} not found in queue ${queue.name}`);
  const state = await job.getState();
  if (state !== 'failed') throw new FailedJobError('not_failed', `job ${id} is ${state}, not failed`);
  try {
    await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
  } catch (err) {
    // Lost a race: the job was removed or moved between the check and the retry.
    const now = await queue.getJob(id);
    if (!now) throw new FailedJobError(ErrorCode.notFound, `job ${id} not found in queue ${queue.name}`);
    const nowState = await now.getState();
    if (nowState !== 'failed') throw new FailedJobError('not_failed', `job ${id} is ${nowState}, not failed`);
    throw err;
  }
}

/**
 * Replays every job failed at the time of the call and returns how many were
 * moved back to waiting. The ids are read first, so a job that fails again
 * during the replay is not picked up a second time.
 */
export async function replayAllFailed(queue: Queue): Promise<number> {
  const ids = await queue.getRanges(['failed'], 0, -1, true);
  let replayed = 0;
  for (const id of new Set(ids)) {
    try {
      await replayFailed(queue, id);
      replayed += 1;
    } catch (err) {
      // Removed (removeOnFail age) or replayed by someone else meanwhile.
      if (!(err instanceof FailedJobError)) throw err;
    }
  }
  return replayed;
}
