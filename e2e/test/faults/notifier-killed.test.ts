import t from 'tap';
import { Cluster, deliveryFigures, printFigures, waitForDue } from '../support/cluster.js';

const CLIENTS = 200;
const EVENTS = 2000;

// With the default history (2 minutes of everything, issue #18): a client cut off mid-stream resumes.
const cluster = await Cluster.start({ notifiers: 2 });
t.teardown(() => cluster.stop());

t.test(`kill -9 one of two notifiers mid-stream: ${CLIENTS} clients, ${EVENTS} events, nothing lost, nothing twice, in order`, async (t) => {
  const clients = Array.from({ length: CLIENTS }, (_, i) => ({ user: `k${i}`, client: cluster.client(`k${i}`, i % 2), due: new Set<number>() }));
  for (let i = 0; i < clients.length; i += 20) await Promise.all(clients.slice(i, i + 20).map((c) => c.client.start()));

  let acknowledged = 0;
  const victim = cluster.notifiers[0]!;
  for (let seq = 1; seq <= EVENTS; seq += 20) {
    const batch = [];
    for (let s = seq; s < seq + 20 && s <= EVENTS; s++) {
      // One in five is a reservation for one user; the rest are lot broadcasts.
      const target = s % 5 === 0 ? clients[(s * 7) % CLIENTS]! : undefined;
      for (const c of target ? [target] : clients) c.due.add(s);
      batch.push(
        cluster.producer.send(
          target
            ? { type: 'reservation', message: `r${s}`, data: { tag: 'kill', seq: s }, user_ids: [target.user] }
            : { type: 'parking_lot', message: `l${s}`, data: { tag: 'kill', seq: s } },
        ),
      );
    }
    acknowledged += (await Promise.all(batch)).length;
    if (seq === 1001) await victim.kill('SIGKILL');
  }

  await waitForDue(clients, 'kill', 60_000);
  const figures = deliveryFigures(clients, EVENTS, acknowledged, 'kill');
  const moved = clients.filter((c) => c.client.reconnects > 0).length;
  printFigures('notifier killed (kill -9)', { ...figures, reconnected: moved });
  t.equal(figures.acknowledged, EVENTS);
  t.ok(moved > 0 && moved <= CLIENTS / 2, `${moved} clients were cut off and came back`);
  t.equal(figures.lost, 0, 'lost');
  t.equal(figures.duplicated, 0, 'duplicated');
  t.equal(figures.outOfOrder, 0, 'out of order');
  t.equal(clients.reduce((sum, c) => sum + c.client.gaps.length, 0), 0, 'no resume_gap: history (the default 2-minute window) reached back past the outage');
  t.equal(figures.delivered, figures.due);
  await Promise.all(clients.map((c) => c.client.stop()));
});
