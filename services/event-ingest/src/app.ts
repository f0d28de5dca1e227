import {
  createNotificationProducer,
  healthRoutes,
  installErrorHandler,
  loggerOptions,
  type NotificationProducer,
  type Redis,
  registerJwt,
} from '@parking-realtime/server';
import Fastify, { type FastifyInstance } from 'fastify';
import type { DestinationStream } from 'pino';
import type { EventIngestConfig } from './config.js';
import { eventsRoute } from './events-route.js';

export interface EventIngestDeps {
  /** A fail-fast connection (no offline queue), so a Redis outage answers 503 at once. */
  redis: Redis;
  logStream?: DestinationStream;
}

export async function buildEventIngestApp(
  config: EventIngestConfig,
  deps: EventIngestDeps,
): Promise<{ app: FastifyInstance; producer: NotificationProducer }> {
  const app = Fastify({
    logger: { ...loggerOptions('event-ingest', config.logLevel), ...(deps.logStream ? { stream: deps.logStream } : {}) },
    bodyLimit: config.bodyLimitBytes,
  });
  installErrorHandler(app);
  await registerJwt(app, config.serviceJwt);
  const producer = createNotificationProducer({
    connection: deps.redis,
    queueName: config.queueName,
    dedupeTtlSeconds: config.dedupeTtlSeconds,
  });
  eventsRoute(app, producer);
  healthRoutes(app, { redis: deps.redis });
  app.addHook('onClose', () => producer.close());
  return { app, producer };
}
