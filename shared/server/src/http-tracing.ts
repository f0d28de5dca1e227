import type { AsyncLocalStorage } from 'node:async_hooks';
import diagnostics from 'node:diagnostics_channel';
import type { IncomingMessage } from 'node:http';
import { type Attributes, type Context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { type StartTracingOptions, startSpan, startTracing, type TracingHandle } from '@parking-realtime/runtime';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { WebSocketServer } from 'ws';

/**
 * A service's tracing: the runtime's (startTracing), plus a SERVER span for
 * each HTTP request of every Fastify instance created after it, so call it
 * before the app is built. Resolves with undefined, having loaded nothing,
 * when tracing stays off.
 */
export function startServiceTracing(service: string, options: Omit<StartTracingOptions, 'instrumentations'> = {}): Promise<TracingHandle | undefined> {
  return startTracing(service, { ...options, instrumentations: [traceFastifyRequests] });
}

/** Polled by probes and scrapers every few seconds: a span each would bury the traces that matter. */
const UNTRACED_ROUTES = new Set(['/healthz', '/readyz', '/metrics']);

interface HandlerMessage {
  request: FastifyRequest;
}

/**
 * A SERVER span for each request of every Fastify instance created from now
 * on, named by its method and route pattern (`POST /api/events/`; never the
 * raw URL, whose query may hold a WebSocket token), child of the caller's
 * `traceparent` header if any, and the active context while the route's
 * handler runs (Fastify's `fastify.request.handler` tracing channel), so what
 * the handler starts (producer.send) is its child. A WebSocket upgrade's span
 * ends with the 101 ws writes. Returns what undoes it.
 */
function traceFastifyRequests(storage: AsyncLocalStorage<Context>): () => void {
  const contexts = new WeakMap<IncomingMessage, Context>();
  const finish = (raw: IncomingMessage, status: number | undefined, error?: string) => {
    const ctx = contexts.get(raw);
    if (!ctx) return;
    contexts.delete(raw);
    const span = trace.getSpan(ctx)!;
    if (status !== undefined) span.setAttribute('http.response.status_code', status);
    if (error !== undefined || (status !== undefined && status >= 500)) span.setStatus({ code: SpanStatusCode.ERROR, ...(error ? { message: error } : {}) });
    span.end();
  };
  const onRequest = (request: FastifyRequest, _reply: FastifyReply, done: () => void) => {
    const route = request.routeOptions.url;
    if (route === undefined || !UNTRACED_ROUTES.has(route)) {
      const parent = propagation.extract(ROOT_CONTEXT, request.headers);
      const attributes: Attributes = { 'http.request.method': request.method };
      if (route !== undefined) attributes['http.route'] = route;
      const span = startSpan(route === undefined ? request.method : `${request.method} ${route}`, SpanKind.SERVER, attributes, parent);
      contexts.set(request.raw, trace.setSpan(parent, span));
    }
    done();
  };
  const onResponse = (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
    finish(request.raw, reply.statusCode);
    done();
  };
  const onRequestAbort = (request: FastifyRequest, done: () => void) => {
    finish(request.raw, undefined, 'the client went away before the answer');
    done();
  };
  function onReady(this: FastifyInstance, done: () => void) {
    // ws writes a successful upgrade's 101 itself, on a reply Fastify no longer sees.
    if (this.hasDecorator('websocketServer')) {
      (this as FastifyInstance & { websocketServer: WebSocketServer }).websocketServer.on('headers', (_headers, raw) => finish(raw, 101));
    }
    done();
  }
  const onInstance = (message: unknown) => {
    const { fastify } = message as { fastify: FastifyInstance };
    fastify.addHook('onRequest', onRequest);
    fastify.addHook('onResponse', onResponse);
    fastify.addHook('onRequestAbort', onRequestAbort);
    fastify.addHook('onReady', onReady);
  };
  diagnostics.subscribe('fastify.initialization', onInstance);
  const handler = diagnostics.tracingChannel<unknown, HandlerMessage & object>('fastify.request.handler');
  handler.start.bindStore(storage, (message) => contexts.get(message.request.raw) ?? storage.getStore() ?? ROOT_CONTEXT);
  return () => {
    diagnostics.unsubscribe('fastify.initialization', onInstance);
    handler.start.unbindStore(storage);
  };
}
