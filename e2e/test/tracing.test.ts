import { propagation, SpanKind, trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { notificationFrameText } from '@parking-realtime/protocol';
import { createNotificationProducer, EVENT_BATCH_JOB } from '@parking-realtime/producer';
import { createRedis, epochKey, historyKey, type RedisClient, type RedisConnectionOptions, TokenStore, userChannel } from '@parking-realtime/redis';
import { startTracing, tracing } from '@parking-realtime/runtime';
import { startServiceTracing } from '@parking-realtime/server';
import { serviceJwt, startRedis, TestSocket } from '@parking-realtime/testing';
import type { Job, Queue } from 'bullmq';
import t from 'tap';
import { buildEventIngestApp } from '../../services/event-ingest/src/app.js';
import { loadEventIngestConfig } from '../../services/event-ingest/src/config.js';
import { NotificationPublisher } from '../../services/event-ingest/src/notification-publisher.js';
import { startNotificationWorker } from '../../services/event-ingest/src/notification-worker.js';
import { buildNotifierApp } from '../../services/notifier/src/app.js';
import { loadNotifierConfig } from '../../services/notifier/src/config.js';

// event-ingest (HTTP app and worker) and a notifier in this one process, as their main.ts wire
// them, on one Redis: one event posted, one socket receiving it, and the spans in memory.

const SERVICE_SECRET = 'service-secret-that-is-long-enough-012345';
const redisServer = await startRedis();
t.teardown(() => redisServer.stop());

/** Spans as they end, kept by an InMemorySpanExporter, and a wait for one of a given name. */
class EndedSpans implements SpanProcessor {
  readonly exporter = new InMemorySpanExporter();
  private readonly exporting = new SimpleSpanProcessor(this.exporter);
  private waiters: Array<{ name: string; resolve: (span: ReadableSpan) => void }> = [];

  onStart(): void {}

  onEnd(span: ReadableSpan): void {
    this.exporting.onEnd(span);
    for (const waiter of this.waiters.filter((w) => w.name === span.name)) waiter.resolve(span);
    this.waiters = this.waiters.filter((w) => w.name !== span.name);
  }

  /** The first span of this name to end (already ended, or still to come). */
  ended(name: string): Promise<ReadableSpan> {
    const done = this.exporter.getFinishedSpans().find((s) => s.name === name);
    if (done) return Promise.resolve(done);
    return new Promise((resolve) => this.waiters.push({ name, resolve }));
  }

  forceFlush(): Promise<void> {
    return this.exporting.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.exporting.shutdown();
  }
}

interface Delivery {
  /** The bytes the socket received. */
  frame: Buffer;
  /** The message published on the user's channel, as Redis carried it. */
  published: Buffer;
  /** The frame rebuilt from what the stream holds: what a client gets, by contract (docs/protocol.md). */
  fromHistory: string;
  /** The answer to the POST. */
  status: number;
  /** The notification's id as the socket got it, and its stream entry's. */
  ids: [unknown, string];
}

/**
 * Starts event-ingest and a notifier, connects user `userId`, posts one
 * reservation for them and returns what reached the socket and Redis, once the
 * worker finished the job. Everything is closed again before it returns.
 */
async function deliverOne(userId: string, headers: Record<string, string> = {}): Promise<Delivery> {
  const url = redisServer.url;
  const connections: RedisClient[] = [];
  const redis = (name: string, extra: Omit<RedisConnectionOptions, 'name'> = {}) => {
    const client = createRedis(url, { name, ...extra });
    connections.push(client);
    return client;
  };
  const config = loadEventIngestConfig({ SERVICE_JWT_SECRET: SERVICE_SECRET, REDIS_URL: url, LOG_LEVEL: 'silent' });
  const ingestRedis = redis('ingest', { failFast: true });
  const producer = createNotificationProducer({ connection: ingestRedis, queueName: config.queueName });
  const { app: ingest } = await buildEventIngestApp(config, { redis: ingestRedis, producer });
  await ingest.listen({ port: 0, host: '127.0.0.1' });
  const worker = startNotificationWorker({
    queueName: config.queueName,
    connection: redis('worker', { maxRetriesPerRequest: null }),
    publisher: new NotificationPublisher(redis('publisher'), config),
    log: ingest.log,
  });
  const notifierRedis = redis('notifier');
  const notifier = await buildNotifierApp(loadNotifierConfig({ REDIS_URL: url, LOG_LEVEL: 'silent' }), {
    redis: notifierRedis,
    subscriberRedis: redis('notifier-subscriber', { maxRetriesPerRequest: null }),
  });
  await notifier.listen({ port: 0, host: '127.0.0.1' });
  const notifierPort = (notifier.server.address() as { port: number }).port;
  const ingestPort = (ingest.server.address() as { port: number }).port;

  const channel = userChannel(userId, 'reservation');
  const listener = redis('listener', { maxRetriesPerRequest: null });
  const published = new Promise<Buffer>((resolve) => listener.on('messageBuffer', (_channel: Buffer, message: Buffer) => resolve(message)));
  await listener.subscribe(channel);

  const { token } = await new TokenStore(notifierRedis, 1800).issue(userId);
  const socket = await TestSocket.connect(`ws://127.0.0.1:${notifierPort}/ws/notifications/?token=${token}`);
  const frames: Buffer[] = [];
  socket.ws.on('message', (data: Buffer) => frames.push(data));
  await socket.subscribe(['reservation']);
  const completed = new Promise<Job>((resolve) => worker.worker.once('completed', (job) => resolve(job)));

  const res = await fetch(`http://127.0.0.1:${ingestPort}/api/events/`, {
    method: 'POST',
    headers: { authorization: `Bearer ${serviceJwt(SERVICE_SECRET)}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ type: 'reservation', message: 'New reservation created', data: { reservation_id: 123 }, user_ids: [Number(userId)] }),
  });
  await res.arrayBuffer();
  const notification = await socket.nextOfType('notification');
  await completed;
  const frame = frames.find((f) => f.includes('"type":"notification"'))!;

  const [id, fields] = ((await notifierRedis.xrange(historyKey(channel), '-', '+')) as Array<[string, string[]]>)[0]!;
  const body = fields[fields.indexOf('b') + 1];
  const epoch = await notifierRedis.get(epochKey(channel));

  await socket.close();
  await notifier.close();
  await ingest.close();
  await producer.close();
  await worker.close();
  for (const client of connections) client.disconnect();
  return {
    frame,
    published: await published,
    fromHistory: notificationFrameText(id, 'user:reservation', epoch!, body!),
    status: res.status,
    ids: [notification.id, id],
  };
}

const FRAME_FIELDS = ['type', 'id', 'stream', 'epoch', 'created_at', 'notification_type', 'message', 'data'];

t.test('with tracing off no span is recorded and the frame, as published, is byte for byte what history holds', async (t) => {
  // A recording provider behind the API: any span the services started would land here.
  const spans = new EndedSpans();
  const provider = new BasicTracerProvider({ spanProcessors: [spans] });
  trace.setGlobalTracerProvider(provider);
  t.teardown(() => trace.disable());
  t.equal(tracing.enabled, false);

  const delivery = await deliverOne('7');
  t.equal(delivery.status, 202);
  t.equal(delivery.ids[0], delivery.ids[1], "the socket got the stream's entry");
  t.equal(delivery.frame.toString(), delivery.fromHistory, 'the frame');
  t.ok(delivery.published.equals(delivery.frame), 'Redis carried exactly the frame: nothing extra is published');
  t.same(Object.keys(JSON.parse(delivery.frame.toString())), FRAME_FIELDS);
  await provider.forceFlush();
  t.same(
    spans.exporter.getFinishedSpans().map((s) => s.name),
    [],
    'no span',
  );
});

t.test('with tracing on one trace links the request, the job, the publish and the delivery, and the client sees no trace field', async (t) => {
  const spans = new EndedSpans();
  const handle = await startServiceTracing('tracing-test', { spanProcessors: [spans] });
  t.teardown(() => handle?.shutdown());
  t.equal(tracing.enabled, true);
  const caller = { traceId: 'a'.repeat(32), spanId: 'b'.repeat(16) };

  const delivery = await deliverOne('8', { traceparent: `00-${caller.traceId}-${caller.spanId}-01` });
  t.equal(delivery.status, 202);
  t.equal(delivery.ids[0], delivery.ids[1], "the socket got the stream's entry");
  const [http, send, process, publish, deliver] = await Promise.all(
    ['POST /api/events/', 'send notification', 'process notification', 'publish notification', 'deliver notification'].map((name) =>
      spans.ended(name),
    ),
  );
  const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;
  t.equal(http!.kind, SpanKind.SERVER, 'the request: a SERVER span');
  t.equal(http!.attributes['http.route'], '/api/events/');
  t.equal(http!.attributes['http.response.status_code'], 202);
  t.equal(parentOf(http!), caller.spanId, "continuing the caller's trace (its traceparent header)");
  t.equal(parentOf(send!), http!.spanContext().spanId, 'producer.send: child of the request');
  t.equal(parentOf(process!), send!.spanContext().spanId, 'the worker: child of the send, through the job');
  t.equal(parentOf(publish!), process!.spanContext().spanId, 'the Lua call: child of the worker');
  t.equal(publish!.attributes['notification.publish.result'], 'ok');
  t.equal(parentOf(deliver!), publish!.spanContext().spanId, "the notifier's delivery: child of the publish, through pub/sub");
  t.equal(deliver!.attributes['notification.recipients'], 1);
  for (const span of [http, send, process, publish, deliver]) t.equal(span!.spanContext().traceId, caller.traceId, `${span!.name}: one trace`);
  t.equal(new Set([send, process, publish].map((s) => s!.attributes['notification.id'])).size, 1, 'each names the event');

  const traceparent = `00-${caller.traceId}-${publish!.spanContext().spanId}-01`;
  t.equal(delivery.published.toString(), `${traceparent}\n${delivery.fromHistory}`, "Redis carried the publish span's traceparent before the frame");
  t.equal(delivery.frame.toString(), delivery.fromHistory, 'the client got the frame alone, byte for byte');
  t.same(Object.keys(JSON.parse(delivery.frame.toString())), FRAME_FIELDS, 'no trace field');
  t.notMatch(delivery.frame.toString(), caller.traceId);
});

t.test("producer.send from a domain service: the caller's span is the parent, and each event of a batched job carries its own context", async (t) => {
  const spans = new EndedSpans();
  const handle = await startTracing('domain-service', { spanProcessors: [spans] });
  t.teardown(() => handle?.shutdown());
  const connection = createRedis(redisServer.url, { name: 'domain' });
  t.teardown(() => connection.disconnect());
  const jobsOf = async (queue: Queue) => (await queue.getJobs(['waiting'], 0, -1, true)).filter((job) => job.name === EVENT_BATCH_JOB);

  // Sent in one turn of the event loop, both events leave in one job, as under load.
  const producer = createNotificationProducer({ connection, queueName: 'traced-sends' });
  const domain = trace.getTracer('domain-service');
  const send = (name: string, userId: number) =>
    domain.startActiveSpan(name, async (span) => {
      await producer.send({ type: 'reservation', message: name, data: {}, user_ids: [userId] });
      span.end();
      return span.spanContext();
    });
  const [first, second] = await Promise.all([send('reserve 1', 1), send('reserve 2', 2)]);
  const [job] = await jobsOf(producer.queue);
  t.equal(job?.data.events.length, 2, 'one job');
  const sends = spans.exporter.getFinishedSpans().filter((s) => s.name === 'send notification');
  t.equal(sends.length, 2);
  for (const [i, caller] of [first!, second!].entries()) {
    const sent = sends.find((s) => s.parentSpanContext?.spanId === caller.spanId);
    t.ok(sent, `send ${i + 1}: a child of its caller's span`);
    t.equal(sent?.spanContext().traceId, caller.traceId, `send ${i + 1}: in its caller's trace`);
    t.equal(job?.data.traceparents?.[i], `00-${caller.traceId}-${sent?.spanContext().spanId}-01`, `event ${i + 1}: its own traceparent in the job`);
  }
  await producer.close();

  const untraced = createNotificationProducer({ connection, queueName: 'untraced-sends', tracing: false });
  await untraced.send({ type: 'reservation', message: 'plain', data: {}, user_ids: [3] });
  const [plain] = await jobsOf(untraced.queue);
  t.same(Object.keys(plain?.data ?? {}), ['events'], 'tracing: false: the job holds the events alone');
  await untraced.close();
});

t.test('tracing stays off without OTEL_EXPORTER_OTLP_ENDPOINT, and a bad one is refused by name', async (t) => {
  t.equal(await startTracing('tracing-test', { env: {} }), undefined);
  t.equal(tracing.enabled, false);
  t.throws(() => loadEventIngestConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }), /OTEL_EXPORTER_OTLP_ENDPOINT/);
  t.throws(() => loadNotifierConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }), /OTEL_EXPORTER_OTLP_ENDPOINT/);
  t.same(propagation.fields(), [], 'the SDK of the test before was taken down with it');
});
