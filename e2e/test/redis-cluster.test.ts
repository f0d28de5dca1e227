import t from 'tap';
import { Cluster, deliveryFigures, printFigures } from './support/cluster.js';

// The whole path on a Redis Cluster (3 masters, 3 replicas): every service
// with REDIS_CLUSTER_NODES, two notifiers, sharded pub/sub, per-stream resume.
const cluster = await Cluster.start({ notifiers: 2, redisCluster: true });
t.teardown(() => cluster.stop());

let seq = 0;
const post = (tag: string, over: Record<string, unknown>) =>
  cluster.post({ type: 'reservation', message: `${tag} ${++seq}`, data: { tag, seq }, ...over });

t.test('tokens, targeted and broadcast events reach exactly their users, on either notifier', async (t) => {
  const users = ['c-1', 'c-2', 'c-3', 'c-4'];
  const clients = users.map((user, i) => cluster.client(user, i % 2));
  await Promise.all(clients.map((c) => c.start()));
  const due = users.map(() => new Set<number>());
  let sent = 0;
  let acknowledged = 0;
  for (let i = 0; i < 40; i++) {
    const target = i % 5 === 0 ? undefined : i % users.length;
    const status = await post('routing', target === undefined ? { type: 'parking_lot' } : { user_ids: [users[target]] });
    sent += 1;
    if (status !== 202) continue;
    acknowledged += 1;
    for (const [u, set] of due.entries()) if (target === undefined || target === u) set.add(seq);
  }
  t.equal(acknowledged, sent, 'every event accepted');
  await Promise.all(clients.map((c, i) => c.waitUntil((x) => x.notifications.filter((n) => (n.data as { tag?: string }).tag === 'routing').length >= due[i]!.size, 15_000)));
  const figures = deliveryFigures(clients.map((client, i) => ({ client, due: due[i]! })), sent, acknowledged, 'routing');
  printFigures('redis cluster routing', figures);
  t.match(figures, { lost: 0, duplicated: 0, outOfOrder: 0 });
  t.equal(figures.delivered, figures.due, 'nobody got anything meant for someone else');
  await Promise.all(clients.map((c) => c.stop()));
});

t.test('a client away resumes by its positions: exactly what it missed, in each stream, no gap', async (t) => {
  const client = cluster.client('c-away');
  await client.start();
  await post('away', { user_ids: ['c-away'] });
  const seen = seq;
  await client.waitUntil((c) => c.notifications.length === 1, 10_000);
  await client.stop();
  const missed = new Set<number>();
  for (let i = 0; i < 10; i++) {
    const status = await post('away', i % 2 ? { user_ids: ['c-away'] } : { type: 'parking_lot' });
    t.equal(status, 202);
    missed.add(seq);
  }
  await client.start();
  await client.waitUntil((c) => c.notifications.length === 11, 10_000, 'the missed ten');
  const figures = deliveryFigures([{ client, due: new Set([seen, ...missed]) }], 11, 11, 'away');
  t.match(figures, { lost: 0, duplicated: 0, outOfOrder: 0 });
  t.same(client.resumedFrom.length, 2);
  await client.stop();
});
