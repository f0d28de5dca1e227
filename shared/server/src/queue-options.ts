import type { JobsOptions } from 'bullmq';

/** Default DEDUPE_TTL_SECONDS: an event id enqueued again within a day is delivered once. */
export const DEFAULT_DEDUPE_TTL_SECONDS = 86_400;

/**
 * Job options for every notification job. Completed jobs are kept for the
 * dedupe window, so BullMQ ignores a re-add with the same job id; failed jobs
 * stay a week for an operator to inspect and replay.
 */
export function notificationJobOptions(dedupeTtlSeconds: number): JobsOptions {
  return {
    attempts: 8,
    backoff: { type: 'exponential', delay: 250 },
    removeOnComplete: { age: dedupeTtlSeconds, count: 100_000 },
    removeOnFail: { age: 7 * 86_400 },
  };
}
