import t from 'tap';
import { Cluster, deliveryFigures, printFigures, waitForDue } from '../support/cluster.js';

const CLIENTS = 20;
const ACCEPTED_TARGET = 300;

// Append-only file with fsync on every write: what Redis acknowledged survives its death.
const cluster = await Cluster.start({
  notifiers: 1,
  redis: { appendonly: true },
  env: { SHUTDOWN_SPREAD_MS: '500' },
  ingestEnv: { WORKER_LOCK_MS: '2000' },
});
t.teardown(() => cluster.stop());

t.test('Redis restarted while events are posted: every 202 is delivered, the outage answers 503', async (t) => {
  const clients = Array.from({ length: CLIENTS }, (_, i) => ({ client: cluster.client(`rr${i}`), due: new Set<number>() }));
  await Promise.all(clients.map((c) => c.client.start()));

  let seq = 0;
  let accepted = 0;
  let refused503 = 0;
  let otherAnswers = 0;
  let phase: 'before' | 'outage' | 'after' = 'before';
  while (accepted < ACCEPTED_TARGET) {
    seq += 1;
    const status = await cluster.post({ type: 'parking_lot', message: `e${seq}`, data: { tag: 'restart', seq } });
    if (status === 202) {
      accepted += 1;
      for (const c of clients) c.due.add(seq);
    } else if (status === 503) {
      refused503 += 1;
    } else {
      otherAnswers += 1;
    }
    if (phase === 'before' && accepted === 100) {
      phase = 'outage';
      await cluster.redis.kill();
    } else if (phase === 'outage' && refused503 >= 20) {
      // Posts kept arriving during the outage and were all refused; now bring Redis back.
      phase = 'after';
      await cluster.redis.restart();
    }
    if (seq > 100_000) throw new Error('never reached the target');
  }

  await waitForDue(clients, 'restart', 60_000);
  const figures = deliveryFigures(clients, seq, accepted, 'restart');
  printFigures('Redis restarted (AOF)', { ...figures, refused503, otherAnswers });
  t.ok(refused503 >= 20, `${refused503} posts during the outage were answered 503`);
  t.equal(otherAnswers, 0, 'every post was answered 202 or 503');
  t.equal(figures.lost, 0, 'no event answered 202 was lost');
  t.equal(figures.duplicated, 0, 'none delivered twice');
  t.equal(figures.outOfOrder, 0, 'in order');
  await Promise.all(clients.map((c) => c.client.stop()));
});
