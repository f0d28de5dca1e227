import { type Job, Queue, QueueEvents } from 'bullmq';
import type { QueuedBatch } from '@parking-realtime/producer';
import { QUEUE_PREFIX } from '@parking-realtime/redis';
import { waitFor } from '@parking-realtime/testing';
import t from 'tap';
import { Cluster, deliveryFigures, printFigures } from '../support/cluster.js';

// The worker pauses 60 s around each publish, so the test can kill it holding a job.
const cluster = await Cluster.start({
  notifiers: 1,
  ingestEnv: { WORKER_LOCK_MS: '1000', WORKER_CONCURRENCY: '1', WORKER_FAULT_DELAY_MS: '60000', WORKER_FAULT_PHASE: 'before' },
});
const queue = new Queue<QueuedBatch>('notifications', { connection: { url: cluster.redis.url }, prefix: QUEUE_PREFIX });
// BullMQ's own events say when its stall check handed a job over.
const queueEvents = new QueueEvents('notifications', { connection: { url: cluster.redis.url }, prefix: QUEUE_PREFIX });
const stalls = new Map<string, number>();
queueEvents.on('stalled', ({ jobId }) => stalls.set(jobId, (stalls.get(jobId) ?? 0) + 1));
await queueEvents.waitUntilReady();
t.teardown(async () => {
  await queueEvents.close();
  await queue.close();
  await cluster.stop();
});

/** The job that holds an event: job ids are BullMQ's, so it is found by what it holds. */
async function jobOf(eventId: string): Promise<Job<QueuedBatch> | undefined> {
  const jobs = await queue.getJobs(['active', 'waiting', 'delayed', 'completed', 'failed'], 0, 100);
  return jobs.find((job) => job?.data.events.some((e) => e.id === eventId));
}
const stateOf = async (eventId: string) => (await (await jobOf(eventId))?.getState()) ?? 'absent';
/** A completed job is removed at once, so once the job was seen active, absent means completed. */
const finished = async (eventId: string) => ['completed', 'absent'].includes(await stateOf(eventId));

// Sent either way, the event is in a job that one worker holds at a time.
const cases = [
  ['before', 'producer'],
  ['after', 'producer'],
  ['after', 'http'],
  ['before', 'http'],
] as const;
let current = 'before';
for (const [phase, via] of cases) {
  t.test(`the worker killed mid-job (${phase} publishing, sent ${via === 'http' ? 'over HTTP' : 'with the producer'}): the job is retried and delivered once`, async (t) => {
    if (phase !== current) {
      await cluster.restartIngest({ WORKER_LOCK_MS: '1000', WORKER_CONCURRENCY: '1', WORKER_FAULT_DELAY_MS: '60000', WORKER_FAULT_PHASE: phase });
      current = phase;
    }
    const tag = `wk-${phase}-${via}`;
    const watcher = { client: cluster.client(tag), due: new Set([1]) };
    await watcher.client.start();
    const id = `worker-kill-${phase}-${via}`;
    const event = { id, type: 'reservation' as const, message: `killed ${phase}`, data: { tag, seq: 1 }, user_ids: [tag] };
    if (via === 'http') t.equal(await cluster.post(event), 202, 'accepted over HTTP');
    else await cluster.producer.send(event);
    const held = await waitFor(async () => ((await stateOf(id)) === 'active' ? jobOf(id) : null), 10_000, 'the worker to take the job');
    if (phase === 'after') await watcher.client.waitUntil((c) => c.notifications.length === 1, 10_000, 'the first publish');
    await cluster.ingest.kill('SIGKILL');
    // A healthy worker takes over once the dead one's lock lapses.
    await cluster.restartIngest({ WORKER_LOCK_MS: '1000' });
    current = 'none';
    await waitFor(() => finished(id), 20_000, 'the job to complete');
    // A marker published after the job completed: once it is here, a second copy would be too.
    await cluster.producer.send({ type: 'reservation', message: 'marker', data: { tag: 'marker' }, user_ids: [tag] });
    await watcher.client.waitUntil((c) => c.notifications.some((n) => (n.data as { tag?: string }).tag === 'marker'), 10_000, 'the marker');
    const figures = deliveryFigures([watcher], 1, 1, tag);
    const stalled = stalls.get(held.id!) ?? 0;
    printFigures(`worker killed ${phase} publishing, sent ${via}`, { ...figures, stalled });
    t.equal(stalled, 1, 'handed over by BullMQ\'s stall check');
    t.equal(figures.lost, 0);
    t.equal(figures.duplicated, 0, 'delivered once');
    await watcher.client.stop();
  });
}

// SIGTERM is the polite stop: the job in hand is finished (published and completed) before the process exits.
for (const via of ['producer', 'http'] as const) {
  t.test(`SIGTERM while the worker holds a job (sent ${via === 'http' ? 'over HTTP' : 'with the producer'}): it is finished before exit`, async (t) => {
    await cluster.restartIngest({ WORKER_CONCURRENCY: '1', WORKER_FAULT_DELAY_MS: '2000', WORKER_FAULT_PHASE: 'before' });
    const tag = `wt-${via}`;
    const watcher = { client: cluster.client(tag), due: new Set([1]) };
    await watcher.client.start();
    const id = `worker-term-${via}`;
    const event = { id, type: 'reservation' as const, message: 'stopped politely', data: { tag, seq: 1 }, user_ids: [tag] };
    if (via === 'http') t.equal(await cluster.post(event), 202, 'accepted over HTTP');
    else await cluster.producer.send(event);
    await waitFor(async () => (await stateOf(id)) === 'active' || null, 10_000, 'the worker to take the job');
    const stopping = cluster.ingest;
    await stopping.kill('SIGTERM');
    t.same(await stopping.exited, { code: 0, signal: null }, 'a clean exit');
    t.ok(await finished(id), 'completed before the process exited');
    await watcher.client.waitUntil((c) => c.notifications.length === 1, 10_000, 'the delivery');
    t.equal(deliveryFigures([watcher], 1, 1, tag).duplicated, 0);
    await watcher.client.stop();
  });
}
