import type { ServiceMetrics } from '@parking-realtime/server';
import type { Queue } from 'bullmq';
import { Counter, Gauge } from 'prom-client';

const STATES = ['waiting', 'active', 'delayed', 'failed', 'completed'] as const;

export interface IngestMetrics {
  accepted: Counter<'type'>;
  published: Counter<'type'>;
  failed: Counter;
}

export function createIngestMetrics({ registry }: ServiceMetrics, queue: Queue): IngestMetrics {
  new Gauge({
    name: 'queue_jobs',
    help: 'Jobs in the notifications queue, by state (read from Redis at scrape time)',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      try {
        const counts = await queue.getJobCounts(...STATES);
        for (const state of STATES) this.set({ state }, counts[state] ?? 0);
      } catch {
        // Redis unreachable: keep the last values; readyz reports the outage.
      }
    },
  });
  return {
    accepted: new Counter({ name: 'events_accepted_total', help: 'Events stored by POST /api/events/, by type', labelNames: ['type'], registers: [registry] }),
    published: new Counter({ name: 'events_published_total', help: 'Events the worker published, by type', labelNames: ['type'], registers: [registry] }),
    failed: new Counter({ name: 'event_attempts_failed_total', help: 'Worker attempts that failed (retried or not)', registers: [registry] }),
  };
}
