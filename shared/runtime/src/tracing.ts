import { AsyncLocalStorage } from 'node:async_hooks';
import {
  type Attributes,
  type Context,
  type ContextManager,
  context,
  isSpanContextValid,
  propagation,
  ROOT_CONTEXT,
  type Span,
  type SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
// Types only: the SDK itself is imported by startTracing(), and only when tracing is on.
import type { SpanProcessor } from '@opentelemetry/sdk-trace-node';
import { loadEnv, tracingEnv } from './config.js';

/*
 * OpenTelemetry tracing, off unless OTEL_EXPORTER_OTLP_ENDPOINT is set. Off,
 * no SDK is loaded, no hook is installed, and every traced path in the
 * services checks the one boolean `tracing.enabled` and goes on as before.
 * On, one trace follows each event: the HTTP request (or the caller's span
 * around producer.send), `send notification` (the producer), `process
 * notification` (the worker), `publish notification` (the Lua call) and, on
 * each notifier with a recipient, `deliver notification`. docs/observability.md
 * lists the spans and their attributes.
 */

export { type Context, type Span, SpanKind } from '@opentelemetry/api';

const state: { enabled: boolean; tracer: Tracer | undefined } = { enabled: false, tracer: undefined };

/** Whether this process traces. Read it before anything else on a hot path: off, that is all tracing costs. */
export const tracing: { readonly enabled: boolean } = state;

const TRACER_NAME = '@parking-realtime/runtime';

/** Starts a span with this process's tracer (the global one when startTracing() was not called: a domain service's own SDK). */
export function startSpan(name: string, kind: SpanKind, attributes: Attributes, parent: Context = context.active()): Span {
  return (state.tracer ?? trace.getTracer(TRACER_NAME)).startSpan(name, { kind, attributes }, parent);
}

/** A context whose active span is this one: the parent to give what it starts. */
export function contextOf(span: Span): Context {
  return trace.setSpan(ROOT_CONTEXT, span);
}

/** Ends a span, marking it failed when there is an error. */
export function endSpan(span: Span, error?: unknown): void {
  if (error !== undefined) {
    const message = error instanceof Error ? error.message : String(error);
    span.setStatus({ code: SpanStatusCode.ERROR, message });
  }
  span.end();
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/**
 * The span's W3C `traceparent` (version 00), or '' for a span that carries no
 * trace (a non-recording span of the API's no-op tracer). Built from the span
 * itself, so what travels in a job or a published message does not depend on
 * which propagators a process configured.
 */
export function traceparentOf(span: Span): string {
  const { traceId, spanId, traceFlags } = span.spanContext();
  if (!isSpanContextValid(span.spanContext())) return '';
  return `00-${traceId}-${spanId}-${(traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

/** A context whose parent is the span a `traceparent` names; the root context for '' or anything malformed. */
export function contextOfTraceparent(traceparent: string | undefined): Context {
  const match = traceparent ? TRACEPARENT.exec(traceparent) : null;
  if (!match) return ROOT_CONTEXT;
  const spanContext = { traceId: match[1]!, spanId: match[2]!, traceFlags: Number.parseInt(match[3]!, 16), isRemote: true };
  return isSpanContextValid(spanContext) ? trace.setSpanContext(ROOT_CONTEXT, spanContext) : ROOT_CONTEXT;
}

/**
 * A notification published on a Redis channel is its frame, which always
 * begins with `{`. With tracing on, event-ingest puts the publish span's
 * `traceparent` and a newline before it (publish-notifications.lua): the
 * context crosses pub/sub inside the message it belongs to, with no second
 * message to pair up, and a notifier strips it before anything reaches a
 * client. With tracing off nothing is added, and the message is the frame.
 */
const FRAME_START = 0x7b; // `{`
const TRACE_HEADER_END = 0x0a; // `\n`

/** Whether a published message carries a trace header before its frame. One byte read: call it on every message. */
export function hasTraceHeader(message: Buffer): boolean {
  return message[0] !== FRAME_START;
}

/** The frame of a message that has a trace header (hasTraceHeader): the bytes after it, not copied. */
export function frameAfterTraceHeader(message: Buffer): Buffer {
  return message.subarray(message.indexOf(TRACE_HEADER_END) + 1);
}

/** The `traceparent` of a message that has a trace header. */
export function traceHeaderOf(message: Buffer): string {
  const end = message.indexOf(TRACE_HEADER_END);
  return end < 0 ? '' : message.toString('latin1', 0, end);
}

/** What startTracing() started; shutdown() sends the spans still buffered and turns tracing off. */
export interface TracingHandle {
  shutdown(): Promise<void>;
}

export interface StartTracingOptions {
  /** Where spans go. Default: a batching OTLP/HTTP exporter to OTEL_EXPORTER_OTLP_ENDPOINT, or nothing (tracing off) when it is unset. */
  spanProcessors?: SpanProcessor[];
  /** Where OTEL_EXPORTER_OTLP_ENDPOINT and OTEL_SERVICE_NAME are read (default process.env); the exporter reads process.env itself. */
  env?: NodeJS.ProcessEnv;
  /**
   * What else to trace once the SDK is up, each given the context storage and
   * returning what undoes it: the services' HTTP requests
   * (@parking-realtime/server's startServiceTracing). Kept out of here so a
   * domain service tracing its producer loads no web framework.
   */
  instrumentations?: Array<(storage: AsyncLocalStorage<Context>) => () => void>;
}

/**
 * Turns tracing on for this process when OTEL_EXPORTER_OTLP_ENDPOINT is set
 * (or span processors are given, as tests do), before the app is built. Resolves with
 * undefined, having loaded nothing, when tracing stays off. The exporter reads
 * the standard OTEL_EXPORTER_OTLP_* variables and the SDK OTEL_TRACES_SAMPLER.
 */
export async function startTracing(service: string, options: StartTracingOptions = {}): Promise<TracingHandle | undefined> {
  const env = loadEnv(tracingEnv, options.env);
  let spanProcessors = options.spanProcessors;
  if (!spanProcessors && !env.OTEL_EXPORTER_OTLP_ENDPOINT) return undefined;
  const { BatchSpanProcessor, NodeTracerProvider } = await import('@opentelemetry/sdk-trace-node');
  if (!spanProcessors) {
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
    spanProcessors = [new BatchSpanProcessor(new OTLPTraceExporter())];
  }
  const { resourceFromAttributes } = await import('@opentelemetry/resources');
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': env.OTEL_SERVICE_NAME ?? service }),
    spanProcessors,
  });
  const contextManager = new StorageContextManager();
  // W3C trace context and baggage, the SDK's default propagators, read from incoming HTTP headers.
  provider.register({ contextManager });
  state.tracer = provider.getTracer(TRACER_NAME);
  const undo = (options.instrumentations ?? []).map((instrument) => instrument(contextManager.storage));
  state.enabled = true;
  return {
    async shutdown() {
      state.enabled = false;
      for (const stop of undo) stop();
      await provider.shutdown();
      state.tracer = undefined;
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
}

/**
 * OpenTelemetry's active context, kept in an AsyncLocalStorage of our own so
 * that an instrumentation (the services' HTTP requests: @parking-realtime/server's
 * http-tracing.ts) can enter a request's context. The SDK's manager hides its storage.
 */
class StorageContextManager implements ContextManager {
  readonly storage = new AsyncLocalStorage<Context>();

  active(): Context {
    return this.storage.getStore() ?? ROOT_CONTEXT;
  }

  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(ctx: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    return this.storage.run(ctx, () => fn.apply(thisArg, args));
  }

  bind<T>(ctx: Context, target: T): T {
    if (typeof target !== 'function') return target;
    const manager = this;
    return function (this: unknown, ...args: unknown[]) {
      return manager.with(ctx, () => (target as (...a: unknown[]) => unknown).apply(this, args));
    } as T;
  }

  enable(): this {
    return this;
  }

  disable(): this {
    this.storage.disable();
    return this;
  }
}
