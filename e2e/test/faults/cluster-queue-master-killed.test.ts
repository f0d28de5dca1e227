import { QUEUE_PREFIX, slotOf } from '@parking-realtime/redis';
import t from 'tap';
import { Cluster, deliveryFigures, printFigures, waitForDue } from '../support/cluster.js';

const CLIENTS = 20;
const EVENTS = 400;

// The queue's master dies: every 202 must survive it. event-ingest answers only once a job is on
// a replica too (QUEUE_MIN_REPLICAS, 1 by default on a cluster); a job its worker held when the
// master died is taken up again after BullMQ's stall check (WORKER_LOCK_MS, short here).
const cluster = await Cluster.start({
  notifiers: 2,
  redisCluster: true,
  ingestEnv: { WORKER_LOCK_MS: '3000' },
});
t.teardown(() => cluster.stop());
const redisCluster = cluster.redisCluster!;

t.test(`kill -9 the queue's master while events are posted: every 202 delivered once, in order per stream`, async (t) => {
  const clients = Array.from({ length: CLIENTS }, (_, i) => ({ user: `q${i}`, client: cluster.client(`q${i}`, i % 2), due: new Set<number>() }));
  for (const c of clients) await c.client.start();
  // Every key of the queue carries the {pr} hash tag: its slot is the slot of the prefix itself.
  const victim = await redisCluster.masterOf(slotOf(QUEUE_PREFIX));

  let acknowledged = 0;
  let refused = 0;
  for (let seq = 1; seq <= EVENTS; seq += 10) {
    const batch = [];
    for (let s = seq; s < seq + 10 && s <= EVENTS; s++) {
      const target = s % 2 === 0 ? clients[(s * 7) % CLIENTS]! : undefined;
      batch.push(
        cluster
          .post(target ? { type: 'reservation', message: `r${s}`, data: { tag: 'queue', seq: s }, user_ids: [target.user] } : { type: 'parking_lot', message: `l${s}`, data: { tag: 'queue', seq: s } })
          .then((status) => {
            if (status !== 202) {
              refused += 1;
              return;
            }
            acknowledged += 1;
            for (const c of target ? [target] : clients) c.due.add(s);
          }),
      );
    }
    await Promise.all(batch);
    if (seq === 101) await victim.kill();
  }

  await redisCluster.healthy();
  await waitForDue(clients, 'queue', 90_000);
  const figures = deliveryFigures(clients, EVENTS, acknowledged, 'queue');
  printFigures('Redis Cluster queue master killed (kill -9)', { ...figures, refused });
  t.equal(acknowledged + refused, EVENTS, 'every post was answered');
  t.ok(acknowledged > EVENTS / 2, `${acknowledged} answered 202, ${refused} refused while the queue had no master`);
  t.equal(figures.lost, 0, 'no 202 lost');
  t.equal(figures.duplicated, 0, 'duplicated');
  t.equal(figures.outOfOrder, 0, 'out of order within each stream');
  await Promise.all(clients.map((c) => c.client.stop()));
});
