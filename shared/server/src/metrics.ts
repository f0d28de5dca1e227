import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Registry } from 'prom-client';

/** A Prometheus registry for one service: process metrics plus the service's own, all labelled with its name. */
export function createMetricsRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return registry;
}

/** `GET /metrics` in Prometheus' text format. Not routed by nginx: scrape the service directly. */
export function metricsRoute(app: FastifyInstance, registry: Registry): void {
  const schema = {
    summary: "Prometheus metrics: the service's own and Node's process metrics",
    response: { 200: { description: "Prometheus' text exposition format", content: { 'text/plain': { schema: { type: 'string' } } } } },
  };
  app.get('/metrics', { schema, logLevel: 'warn' }, async (_request, reply) => {
    reply.type(registry.contentType);
    return registry.metrics();
  });
}

/** Counts reconnect attempts of each Redis connection, by connection name. */
export function redisReconnectsCounter(registry: Registry): Counter<'connection'> {
  return new Counter({
    name: 'redis_reconnects_total',
    help: 'Reconnect attempts to Redis, by connection',
    labelNames: ['connection'],
    registers: [registry],
  });
}

/** Requests refused for authentication, by machine code (auth_expired, ws_token_invalid, …). */
export function authFailuresCounter(registry: Registry): Counter<'reason'> {
  return new Counter({
    name: 'auth_failures_total',
    help: 'Requests refused for authentication, by reason code',
    labelNames: ['reason'],
    registers: [registry],
  });
}

/** What every service measures besides its own work. */
export interface ServiceMetrics {
  registry: Registry;
  redisReconnects: Counter<'connection'>;
  authFailures: Counter<'reason'>;
}

export function createServiceMetrics(service: string): ServiceMetrics {
  const registry = createMetricsRegistry(service);
  return { registry, redisReconnects: redisReconnectsCounter(registry), authFailures: authFailuresCounter(registry) };
}

/** Counts 401 and 403 answers by their code; pass to installErrorHandler. */
export function countAuthFailures(metrics: ServiceMetrics): (status: number, code: string) => void {
  return (status, code) => {
    if (status === 401 || status === 403) metrics.authFailures.inc({ reason: code });
  };
}
