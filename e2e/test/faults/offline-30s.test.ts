import t from 'tap';
import { Cluster, deliveryFigures, printFigures } from '../support/cluster.js';

const OFFLINE_MS = 30_000;
const EVERY_MS = 500;

const cluster = await Cluster.start({ notifiers: 1 });
t.teardown(() => cluster.stop());

t.test('a client offline for 30 s, back with its last id, receives exactly what it missed', async (t) => {
  const wanderer = { client: cluster.client('offline-1'), due: new Set<number>() };
  const bystander = { client: cluster.client('offline-2'), due: new Set<number>() };
  await wanderer.client.start();
  await bystander.client.start();
  const send = async (seq: number, broadcast = false) => {
    // In turn: a reservation for the wanderer, one for the bystander, a lot broadcast.
    const targeted = !broadcast && seq % 3 === 1;
    const other = !broadcast && seq % 3 === 2;
    if (!other) wanderer.due.add(seq);
    if (!targeted) bystander.due.add(seq);
    await cluster.producer.send(
      targeted
        ? { type: 'reservation', message: `r${seq}`, data: { tag: 'offline', seq }, user_ids: ['offline-1'] }
        : other
          ? { type: 'reservation', message: `o${seq}`, data: { tag: 'offline', seq }, user_ids: ['offline-2'] }
          : { type: 'parking_lot', message: `l${seq}`, data: { tag: 'offline', seq } },
    );
  };
  let seq = 0;
  await send(++seq);
  await wanderer.client.waitUntil((c) => c.notifications.length === 1, 10_000, 'the first event');
  await wanderer.client.stop();

  // The scenario itself is 30 s of wall time: events keep coming while the client is away.
  const until = Date.now() + OFFLINE_MS;
  while (Date.now() < until) {
    await send(++seq);
    await new Promise((resolve) => setTimeout(resolve, EVERY_MS));
  }
  const missed = [...wanderer.due].filter((s) => s > 1).length;
  await wanderer.client.start(); // resumes from its last id
  await send(++seq, true);
  await wanderer.client.waitUntil((c) => c.notifications.some((n) => (n.data as { seq?: number }).seq === seq), 10_000, 'the live one after');
  await bystander.client.waitUntil((c) => c.notifications.some((n) => (n.data as { seq?: number }).seq === seq), 10_000, 'the bystander');

  const figures = deliveryFigures([wanderer], seq, seq, 'offline');
  printFigures('client offline 30 s', { ...figures, missedWhileOffline: missed });
  t.ok(missed > 30, `${missed} events were due while it was away`);
  t.equal(figures.lost, 0);
  t.equal(figures.duplicated, 0);
  t.equal(figures.outOfOrder, 0);
  t.equal(figures.delivered, wanderer.due.size, 'nothing it was not due');
  t.notOk(wanderer.client.notifications.some((n) => String(n.message).startsWith('o')), 'nothing of the other user');
  await bystander.client.stop();
  await wanderer.client.stop();
});
