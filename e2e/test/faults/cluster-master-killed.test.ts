import { broadcastChannel, QUEUE_PREFIX, slotOf, userChannel } from '@parking-realtime/redis';
import t from 'tap';
import { Cluster, deliveryFigures, printFigures, waitForDue } from '../support/cluster.js';

const CLIENTS = 40;
const EVENTS = 600;

const cluster = await Cluster.start({ notifiers: 2, redisCluster: true });
t.teardown(() => cluster.stop());
const redisCluster = cluster.redisCluster!;

t.test(`kill -9 the master of a user's slot while events flow: ${CLIENTS} clients, every accepted event once, in order per stream`, async (t) => {
  const clients = Array.from({ length: CLIENTS }, (_, i) => ({ user: `m${i}`, client: cluster.client(`m${i}`, i % 2), due: new Set<number>() }));
  for (const c of clients) await c.client.start();

  // The victim serves users' streams, but neither the queue (a queue lost with its master would
  // lose what it held: replication is asynchronous, and no client can resume what was never
  // published) nor a broadcast stream (every client would depend on it).
  // Every key of the queue carries the {pr} hash tag: its slot is the slot of the prefix itself.
  const shared = [QUEUE_PREFIX, broadcastChannel('reservation'), broadcastChannel('parking_lot')];
  const sharedMasters = new Set(await Promise.all(shared.map(async (key) => (await redisCluster.masterOf(slotOf(key))).port)));
  const mastersOfUsers = await Promise.all(clients.map(async (c) => (await redisCluster.masterOf(slotOf(userChannel(c.user, 'reservation')))).port));
  const victimPort = mastersOfUsers.find((port) => !sharedMasters.has(port));
  t.ok(victimPort, 'a master serves only users (the slots of the queue and the broadcast streams leave one)');
  const victim = redisCluster.nodes.find((n) => n.port === victimPort)!;
  const affected = clients.filter((_, i) => mastersOfUsers[i] === victimPort);
  const user = affected[0]!;

  let sent = 0;
  let acknowledged = 0;
  let refused = 0;
  for (let seq = 1; seq <= EVENTS; seq += 10) {
    const batch = [];
    for (let s = seq; s < seq + 10 && s <= EVENTS; s++) {
      // Every other event is addressed to the user whose master dies; the rest are lot broadcasts.
      const target = s % 2 === 0 ? (s % 4 === 0 ? user : clients[(s * 7) % CLIENTS]!) : undefined;
      sent += 1;
      batch.push(
        cluster.producer
          .send(
            target
              ? { type: 'reservation', message: `r${s}`, data: { tag: 'master', seq: s }, user_ids: [target.user] }
              : { type: 'parking_lot', message: `l${s}`, data: { tag: 'master', seq: s } },
          )
          .then(
            () => {
              acknowledged += 1;
              for (const c of target ? [target] : clients) c.due.add(s);
            },
            () => {
              refused += 1;
            },
          ),
      );
    }
    await Promise.all(batch);
    if (seq === 201) await victim.kill();
  }

  await redisCluster.healthy();
  await waitForDue(clients, 'master', 90_000);
  const figures = deliveryFigures(clients, sent, acknowledged, 'master');
  const resynced = clients.filter((c) => c.client.reconnects > 0).length;
  printFigures('Redis Cluster master killed (kill -9)', { ...figures, refused, resynced });
  t.equal(figures.acknowledged + refused, EVENTS, 'every send was answered');
  t.equal(resynced, affected.length, `the ${affected.length} clients whose streams the lost master served resynced, and only they`);
  t.ok(affected.every((c) => c.client.reconnects > 0), 'each of them');
  t.equal(figures.lost, 0, 'lost');
  t.equal(figures.duplicated, 0, 'duplicated');
  t.equal(figures.outOfOrder, 0, 'out of order within each stream');
  for (const service of [cluster.auth, cluster.ingest, ...cluster.notifiers]) {
    const res = await fetch(`${service.url}/readyz`);
    t.equal(res.status, 200, `${service.name} is ready again on the failed-over cluster`);
  }
  await Promise.all(clients.map((c) => c.client.stop()));
});
