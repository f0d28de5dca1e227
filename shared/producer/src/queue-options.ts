import { QueuedEvent } from '@parking-realtime/protocol';
import type { JobsOptions } from 'bullmq';
import { type Static, Type } from 'typebox';

/** Default DEDUPE_TTL_SECONDS: an event id sent again within a day is delivered once. */
export const DEFAULT_DEDUPE_TTL_SECONDS = 86_400;

/**
 * Name of the jobs the producer stores: each holds the events accepted in one
 * batch, in the order they were accepted. A job whose name is a notification
 * type holds one event (put on the queue by hand, say by a service in another
 * language); the worker takes both.
 */
export const EVENT_BATCH_JOB = 'events';

/** Most events in one job; a larger batch is stored as several jobs, in order. */
export const MAX_EVENTS_PER_JOB = 256;

/**
 * The data of an `events` job. With tracing on, `traceparents` holds each
 * event's W3C `traceparent` (its `send notification` span), in the order of
 * `events` ('' for one without): a job is a batch of events from different
 * requests, each its own trace, which BullMQ's own telemetry (one context per
 * job) cannot carry. Absent with tracing off. A worker ignores it when it does
 * not match `events`: tracing never fails a job.
 */
export const QueuedBatch = Type.Object(
  {
    events: Type.Array(QueuedEvent, { minItems: 1, maxItems: MAX_EVENTS_PER_JOB }),
    traceparents: Type.Optional(Type.Array(Type.String({ maxLength: 128 }), { maxItems: MAX_EVENTS_PER_JOB })),
  },
  { additionalProperties: false },
);
export type QueuedBatch = Static<typeof QueuedBatch>;

/**
 * Job options for every notification job. Job ids are BullMQ's own (the
 * events' ids are not job ids, so no event id can name one of BullMQ's keys);
 * an event id is deduplicated by the publisher's marker instead, so a
 * completed job has nothing left to tell and goes at once (which also halves
 * BullMQ's cost of completing it); failed jobs stay a week for an operator to
 * inspect and replay.
 */
export function notificationJobOptions(): JobsOptions {
  return {
    attempts: 8,
    backoff: { type: 'exponential', delay: 250 },
    removeOnComplete: true,
    removeOnFail: { age: 7 * 86_400 },
  };
}
