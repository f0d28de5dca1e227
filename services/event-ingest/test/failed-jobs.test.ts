import type { AcceptedEvent } from '@parking-realtime/protocol';
import { notificationJobOptions } from '@parking-realtime/producer';
import { createRedis, QUEUE_PREFIX, type Redis, userChannel } from '@parking-realtime/redis';
import { freePort, runNodeScript, type ScriptRun, startRedis, waitFor } from '@parking-realtime/testing';
import { type Job, Queue, type Worker } from 'bullmq';
import pino from 'pino';
import t from 'tap';
import { FailedJobError, listFailed, replayAllFailed, replayFailed } from '../src/failed-jobs.js';
import { NotificationPublisher } from '../src/notification-publisher.js';
import { startNotificationWorker } from '../src/notification-worker.js';

const QUEUE_NAME = 'notifications';
const publisherOptions = { dedupeTtlSeconds: 3600, historyMaxLength: 100, historyMaxAgeSeconds: 86_400 };
const redisServer = await startRedis();
const queue = new Queue(QUEUE_NAME, { connection: { url: redisServer.url }, prefix: QUEUE_PREFIX });
const listener = createRedis(redisServer.url, { name: 'listener' });
const connections: Redis[] = [listener];

const heard: Array<{ channel: string; frame: Record<string, unknown> }> = [];
listener.on('message', (channel: string, message: string) => heard.push({ channel, frame: JSON.parse(message) }));
await listener.subscribe(userChannel('77', 'reservation'));

t.teardown(async () => {
  await queue.close();
  for (const r of connections) r.disconnect();
  await redisServer.stop();
});

/** A worker like event-ingest's; `publisherUrl` may point at a closed port so publishing fails. */
function startWorker(publisherUrl = redisServer.url): { worker: Worker; close(): Promise<void> } {
  const workerRedis = createRedis(redisServer.url, { name: 'worker', maxRetriesPerRequest: null });
  const publisherRedis = createRedis(publisherUrl, { name: 'publisher', failFast: true });
  const { worker, close } = startNotificationWorker({
    queueName: QUEUE_NAME,
    connection: workerRedis,
    publisher: new NotificationPublisher(publisherRedis, publisherOptions),
    log: pino({ level: 'silent' }),
  });
  return {
    worker,
    async close() {
      await close();
      workerRedis.disconnect();
      publisherRedis.disconnect();
    },
  };
}

/** Resolves when the worker finishes the job `id` in the expected way, or rejects after `timeoutMs`. */
function outcome(worker: Worker, id: string, expected: 'completed' | 'failed', timeoutMs = 10_000): Promise<Job> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for job ${id} to be ${expected}`));
    }, timeoutMs);
    const onCompleted = (job: Job) => settle(job, 'completed');
    const onFailed = (job: Job | undefined) => job && settle(job, 'failed');
    const settle = (job: Job, got: 'completed' | 'failed') => {
      // Every failure in this suite is final: jobs have one attempt or fail as unrecoverable.
      if (job.id !== id) return;
      cleanup();
      if (got === expected) resolve(job);
      else reject(new Error(`job ${id} ${got}, expected ${expected}: ${job.failedReason}`));
    };
    const cleanup = () => {
      clearTimeout(timer);
      worker.off('completed', onCompleted);
      worker.off('failed', onFailed);
    };
    worker.on('completed', onCompleted);
    worker.on('failed', onFailed);
  });
}

const validEvent = (id: string): AcceptedEvent => ({
  id,
  type: 'reservation',
  message: `Reservation ${id} confirmed`,
  data: { reservation_id: 9, status: 'active' },
  user_ids: [77],
  created_at: new Date().toISOString(),
});

/** Runs the CLI as `npm run jobs` does, from the repository root. */
function runCli(args: string[], env: Record<string, string> = {}, timeoutMs = 30_000): Promise<ScriptRun> {
  return runNodeScript('services/event-ingest/src/jobs-cli.ts', args, {
    env: { PATH: process.env.PATH ?? '', REDIS_URL: redisServer.url, ...env },
    timeoutMs,
  });
}

t.test('a poisoned job is listed as failed with its reason', async (t) => {
  const healthy = startWorker();
  t.teardown(() => healthy.close());
  const failed = outcome(healthy.worker, 'poison-1', 'failed');
  await queue.add('reservation', { type: 'reservation', message: 42, data: 'x', user_ids: [1, 2] }, { jobId: 'poison-1', attempts: 5 });
  await failed;

  const list = await listFailed(queue, { start: 0, end: 9 });
  const entry = list.find((j) => j.id === 'poison-1');
  t.ok(entry, 'listed');
  t.match(entry!.failedReason, /^invalid_event/);
  t.equal(entry!.attemptsMade, 1, 'not retried');
  t.equal(entry!.name, 'reservation');
  t.match(entry!.failedAt, /^\d{4}-\d\d-\d\dT/);
  t.same(entry!.event, { type: 'reservation', message: null, user_ids_count: 2 });
});

t.test('a job failed for a transient reason is replayed and published exactly once', async (t) => {
  const id = 'transient-1';
  // Added while no worker runs; the first worker to see it cannot reach the publisher's Redis.
  await queue.add('reservation', validEvent(id), { ...notificationJobOptions(), jobId: id, attempts: 1 });
  const broken = startWorker(`redis://127.0.0.1:${await freePort()}`);
  await outcome(broken.worker, id, 'failed');
  await broken.close();

  const entry = (await listFailed(queue)).find((j) => j.id === id);
  t.ok(entry, 'listed as failed');
  t.notMatch(entry!.failedReason, /invalid_event/, 'failed for a transient reason');
  t.same(entry!.event, { type: 'reservation', message: `Reservation ${id} confirmed`, user_ids_count: 1 });
  t.equal(heard.filter((h) => h.frame.message === `Reservation ${id} confirmed`).length, 0, 'nothing published yet');

  const healthy = startWorker();
  t.teardown(() => healthy.close());
  const completed = outcome(healthy.worker, id, 'completed');
  await replayFailed(queue, id);
  await completed;
  t.equal(await queue.getJob(id), undefined, 'completed, and removed as completed jobs are');

  // A sentinel published after the replay arrives after any frame the replay produced.
  const publisher = createRedis(redisServer.url, { name: 'sentinel' });
  connections.push(publisher);
  await new NotificationPublisher(publisher, publisherOptions).publish({ ...validEvent('sentinel-1'), message: 'sentinel' });
  await waitFor(() => heard.some((h) => h.frame.message === 'sentinel'), 5000, 'the sentinel');
  const frames = heard.filter((h) => h.frame.message === `Reservation ${id} confirmed`);
  t.equal(frames.length, 1, 'published exactly once');
  t.equal(frames[0]!.channel, userChannel('77', 'reservation'));

  await t.rejects(replayFailed(queue, id), { code: 'not_found' }, 'a completed job is not replayed');
  const keptDone = outcome(healthy.worker, 'kept-1', 'completed');
  await queue.add('reservation', validEvent('kept-1'), { jobId: 'kept-1', removeOnComplete: false });
  await keptDone;
  await t.rejects(replayFailed(queue, 'kept-1'), { code: 'not_failed' }, 'nor is a completed job that was kept');
});

t.test('replaying an unknown id rejects with not_found', async (t) => {
  await t.rejects(replayFailed(queue, 'no-such-job'), { code: 'not_found' });
  await t.rejects(replayFailed(queue, 'no-such-job'), FailedJobError);
});

t.test('replayAllFailed replays every failed job and counts them', async (t) => {
  const failedIds = (await listFailed(queue)).map((j) => j.id);
  t.same(failedIds, ['poison-1']);
  const healthy = startWorker();
  t.teardown(() => healthy.close());
  const failedAgain = outcome(healthy.worker, 'poison-1', 'failed');
  t.equal(await replayAllFailed(queue), 1);
  const job = await failedAgain;
  t.equal(job.attemptsMade, 1, 'the replay started from a fresh attempt count');
  const failedOnceMore = outcome(healthy.worker, 'poison-1', 'failed');
  t.equal(await replayAllFailed(queue), 1, 'it failed again and can be replayed again');
  await failedOnceMore;

  const empty = new Queue('empty', { connection: { url: redisServer.url }, prefix: QUEUE_PREFIX });
  t.teardown(() => empty.close());
  t.equal(await replayAllFailed(empty), 0, 'nothing to replay');
});

t.test('the CLI lists failed jobs, counts, replays and rejects bad usage', async (t) => {
  const [failed, counts, unknown, bad, noId] = await Promise.all([
    runCli(['failed', '--limit', '10']),
    runCli(['counts']),
    runCli(['replay', 'no-such-job']),
    runCli(['nope']),
    runCli(['replay']),
  ]);
  t.equal(failed.code, 0, failed.stderr);
  const lines = failed.stdout.trim().split('\n').map((l) => JSON.parse(l) as { id: string; failedReason: string });
  t.same(
    lines.map((l) => l.id),
    ['poison-1'],
  );
  t.match(lines[0]!.failedReason, /^invalid_event/);

  t.equal(counts.code, 0, counts.stderr);
  t.match(JSON.parse(counts.stdout), { failed: 1, completed: Number });

  t.equal(unknown.code, 1);
  t.match(unknown.stderr, /not_found/);

  t.equal(bad.code, 2);
  t.match(bad.stderr, /usage: npm run jobs/);
  t.equal(bad.stdout, '');
  t.equal(noId.code, 2);
});

t.test('the CLI replays one job by id', async (t) => {
  const healthy = startWorker();
  t.teardown(() => healthy.close());
  const failedAgain = outcome(healthy.worker, 'poison-1', 'failed');
  const replay = await runCli(['replay', 'poison-1']);
  t.equal(replay.code, 0, replay.stderr);
  t.same(JSON.parse(replay.stdout), { replayed: 1, id: 'poison-1' });
  await failedAgain;
});
