import type { NotificationProducer } from '@parking-realtime/producer';
import type { RedisClient } from '@parking-realtime/redis';
import { fastifyLoggerOptions } from '@parking-realtime/runtime';
import { countAuthFailures, createServiceMetrics, healthRoutes, metricsRoute, type ServiceMetrics, installErrorHandler, registerHttpSecurity, registerJwt, registerOpenApi } from '@parking-realtime/server';
import Fastify, { type FastifyInstance } from 'fastify';
import type { DestinationStream } from 'pino';
import type { EventIngestConfig } from './config.js';
import { disconnectRoute } from './disconnect-route.js';
import { eventsRoute } from './events-route.js';
import { createIngestMetrics, type IngestMetrics } from './ingest-metrics.js';

export interface EventIngestDeps {
  /** A fail-fast connection (no offline queue), so a Redis outage answers 503 at once. */
  redis: RedisClient;
  logStream?: DestinationStream;
  metrics?: ServiceMetrics;
  /** What accepts the events `POST /api/events/` receives: the producer main.ts chose. */
  producer: NotificationProducer;
}

export async function buildEventIngestApp(
  config: EventIngestConfig,
  deps: EventIngestDeps,
): Promise<{ app: FastifyInstance; metrics: IngestMetrics }> {
  const app = Fastify({
    logger: fastifyLoggerOptions('event-ingest', config.logLevel, deps.logStream),
    bodyLimit: config.bodyLimitBytes,
  });
  const serviceMetrics = deps.metrics ?? createServiceMetrics('event-ingest');
  await registerOpenApi(app, {
    service: 'event-ingest',
    description: 'Takes notification events from domain services and queues them for publishing; disconnects users. The wire contract: docs/protocol.md.',
    securitySchemes: ['serviceJwt'],
  });
  await registerHttpSecurity(app, config.corsOrigins);
  installErrorHandler(app, countAuthFailures(serviceMetrics));
  // A handful of services, each sending its one token with every event.
  await registerJwt(app, config.serviceJwt, { verifiedCacheSize: 64 });
  // Events are JSON; Fastify would also parse text/plain, and a string body only fails later as invalid.
  app.removeContentTypeParser('text/plain');
  const metrics = createIngestMetrics(serviceMetrics, deps.producer.queue);
  eventsRoute(app, deps.producer, (type) => metrics.accepted.inc({ type }));
  disconnectRoute(app, deps.redis);
  healthRoutes(app, { redis: deps.redis });
  metricsRoute(app, serviceMetrics.registry);
  return { app, metrics };
}
