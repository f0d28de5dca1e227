import { Queue } from 'bullmq';
import { QUEUE_PREFIX } from '@parking-realtime/server';
import { waitFor } from '@parking-realtime/testing';
import t from 'tap';
import { Cluster, deliveryFigures, printFigures } from '../support/cluster.js';

// The worker pauses 60 s around each publish, so the test can kill it holding a job.
const cluster = await Cluster.start({
  notifiers: 1,
  ingestEnv: { WORKER_LOCK_MS: '1000', WORKER_CONCURRENCY: '1', WORKER_FAULT_DELAY_MS: '60000', WORKER_FAULT_PHASE: 'before' },
});
const queue = new Queue('notifications', { connection: { url: cluster.redis.url }, prefix: QUEUE_PREFIX });
t.teardown(async () => {
  await queue.close();
  await cluster.stop();
});

for (const phase of ['before', 'after'] as const) {
  t.test(`the worker killed mid-job (${phase} publishing): the job is retried and delivered once`, async (t) => {
    if (phase === 'after') await cluster.restartIngest({ WORKER_LOCK_MS: '1000', WORKER_CONCURRENCY: '1', WORKER_FAULT_DELAY_MS: '60000', WORKER_FAULT_PHASE: 'after' });
    const watcher = { client: cluster.client(`wk-${phase}`), due: new Set([1]) };
    await watcher.client.start();
    const id = `worker-kill-${phase}`;
    await cluster.producer.send({ id, type: 'reservation', message: `killed ${phase}`, data: { tag: `wk-${phase}`, seq: 1 }, user_ids: [`wk-${phase}`] });
    await waitFor(async () => (await queue.getJobState(id)) === 'active', 10_000, 'the worker to take the job');
    if (phase === 'after') await watcher.client.waitUntil((c) => c.notifications.length === 1, 10_000, 'the first publish');
    await cluster.ingest.kill('SIGKILL');
    // A healthy worker takes over once the dead one's lock lapses.
    await cluster.restartIngest({ WORKER_LOCK_MS: '1000' });
    await waitFor(async () => (await queue.getJobState(id)) === 'completed', 20_000, 'the job to complete');
    // A marker published after the job completed: once it is here, a second copy would be too.
    await cluster.producer.send({ type: 'reservation', message: 'marker', data: { tag: 'marker' }, user_ids: [`wk-${phase}`] });
    await watcher.client.waitUntil((c) => c.notifications.some((n) => (n.data as { tag?: string }).tag === 'marker'), 10_000, 'the marker');
    const job = await queue.getJob(id);
    const figures = deliveryFigures([watcher], 1, 1, `wk-${phase}`);
    printFigures(`worker killed ${phase} publishing`, { ...figures, attemptsStarted: job?.attemptsStarted, stalled: job?.stalledCounter });
    t.equal(figures.lost, 0);
    t.equal(figures.duplicated, 0, 'delivered once');
    await watcher.client.stop();
  });
}
