import {
  countAuthFailures,
  createNotificationProducer,
  createServiceMetrics,
  healthRoutes,
  metricsRoute,
  type ServiceMetrics,
  installErrorHandler,
  fastifyLoggerOptions,
  type NotificationProducer,
  type Redis,
  registerHttpSecurity,
  registerJwt,
} from '@parking-realtime/server';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { DestinationStream } from 'pino';
import type { EventIngestConfig } from './config.js';
import { disconnectRoute } from './disconnect-route.js';
import { eventsRoute } from './events-route.js';
import { createIngestMetrics, type IngestMetrics } from './ingest-metrics.js';

export interface EventIngestDeps {
  /** A fail-fast connection (no offline queue), so a Redis outage answers 503 at once. */
  redis: Redis;
  logStream?: DestinationStream;
  metrics?: ServiceMetrics;
  /**
   * Where `POST /api/events/` sends accepted events; by default the queue's
   * producer. An instance that runs the worker hands them to it (JobHandoff).
   */
  events?: (context: { log: FastifyBaseLogger; metrics: IngestMetrics }) => Pick<NotificationProducer, 'send'>;
}

export async function buildEventIngestApp(
  config: EventIngestConfig,
  deps: EventIngestDeps,
): Promise<{ app: FastifyInstance; producer: NotificationProducer; metrics: IngestMetrics }> {
  const app = Fastify({
    logger: fastifyLoggerOptions('event-ingest', config.logLevel, deps.logStream),
    bodyLimit: config.bodyLimitBytes,
  });
  const serviceMetrics = deps.metrics ?? createServiceMetrics('event-ingest');
  await registerHttpSecurity(app, config.corsOrigins);
  installErrorHandler(app, countAuthFailures(serviceMetrics));
  // A handful of services, each sending its one token with every event.
  await registerJwt(app, config.serviceJwt, { verifiedCacheSize: 64 });
  // Events are JSON; Fastify would also parse text/plain, and a string body only fails later as invalid.
  app.removeContentTypeParser('text/plain');
  const producer = createNotificationProducer({
    connection: deps.redis,
    queueName: config.queueName,
    dedupeTtlSeconds: config.dedupeTtlSeconds,
  });
  const metrics = createIngestMetrics(serviceMetrics, producer.queue);
  eventsRoute(app, deps.events?.({ log: app.log, metrics }) ?? producer, (type) => metrics.accepted.inc({ type }));
  disconnectRoute(app, deps.redis);
  healthRoutes(app, { redis: deps.redis });
  metricsRoute(app, serviceMetrics.registry);
  app.addHook('onClose', () => producer.close());
  return { app, producer, metrics };
}
