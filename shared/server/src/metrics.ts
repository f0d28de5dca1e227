import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import type { WebSocketServer } from 'ws';

/** A Prometheus registry for one service: process metrics plus the service's own, all labelled with its name. */
export function createMetricsRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return registry;
}

/**
 * `GET /metrics` in Prometheus' text format, with the service's HTTP request
 * durations by route (httpRequestMetrics). Not routed by nginx: scrape the
 * service directly.
 */
export function metricsRoute(app: FastifyInstance, registry: Registry): void {
  httpRequestMetrics(app, registry);
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

/** The `route` of a request that matched no route (a 404): never its path, which may hold ids or tokens and has no bound. */
export const UNMATCHED_ROUTE = 'unmatched';

/** From a millisecond to ten seconds: answers take milliseconds here; seconds mean trouble. */
const HTTP_DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * `http_request_duration_seconds{method,route,status_code}`: each answer,
 * labelled with its route's pattern (`/ws/notifications/`, never the URL with
 * its query), from the request's arrival to the answer's end. A WebSocket
 * upgrade counts its HTTP answer: a refusal like any answer, a success as
 * 101 when ws writes it (Fastify does not see that reply), which needs
 * @fastify/websocket registered before this is called. Hooks added here reach
 * every route of the app, those declared before included (Fastify builds
 * each route's hooks when the app gets ready).
 */
export function httpRequestMetrics(app: FastifyInstance, registry: Registry): void {
  const name = 'http_request_duration_seconds';
  const histogram =
    (registry.getSingleMetric(name) as Histogram<'method' | 'route' | 'status_code'> | undefined) ??
    new Histogram({
      name,
      help: 'HTTP answers by method, route pattern and status, from the request to the end of the answer',
      labelNames: ['method', 'route', 'status_code'],
      buckets: HTTP_DURATION_BUCKETS,
      registers: [registry],
    });
  const observe = (method: string, route: string | undefined, status: number, elapsedMs: number) =>
    histogram.observe({ method, route: route ?? UNMATCHED_ROUTE, status_code: status }, elapsedMs / 1000);
  app.addHook('onResponse', (request, reply, done) => {
    observe(request.method, request.routeOptions.url, reply.statusCode, reply.elapsedTime);
    done();
  });
  if (!app.hasDecorator('websocketServer')) return;
  const upgrades = new WeakMap<IncomingMessage, FastifyReply>();
  app.addHook('onRequest', (request, reply, done) => {
    if (request.headers.upgrade !== undefined) upgrades.set(request.raw, reply);
    done();
  });
  (app as FastifyInstance & { websocketServer: WebSocketServer }).websocketServer.on('headers', (_headers, raw) => {
    const reply = upgrades.get(raw);
    if (!reply) return;
    upgrades.delete(raw);
    observe(raw.method ?? 'GET', reply.request.routeOptions.url, 101, reply.elapsedTime);
  });
}
