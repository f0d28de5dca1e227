import t from 'tap';
import { Cluster, printFigures } from './support/cluster.js';

const USERS = 500;
const EVENTS = 5000;

const cluster = await Cluster.start({ notifiers: 2 });
t.teardown(() => cluster.stop());

t.test(`cross-user isolation under load: ${USERS} users, ${EVENTS} targeted events over two notifiers, none to the wrong user`, async (t) => {
  const users = Array.from({ length: USERS }, (_, i) => ({ id: `iso${i}`, client: cluster.client(`iso${i}`, i % 2), due: new Set<number>() }));
  for (let i = 0; i < users.length; i += 25) await Promise.all(users.slice(i, i + 25).map((u) => u.client.start()));

  for (let seq = 1; seq <= EVENTS; seq += 50) {
    await Promise.all(
      Array.from({ length: 50 }, (_, k) => {
        const s = seq + k;
        // Mostly one recipient, sometimes three: a user must see exactly the events naming it.
        const recipients = s % 10 === 0 ? [s % USERS, (s * 7) % USERS, (s * 13) % USERS] : [(s * 31) % USERS];
        for (const r of recipients) users[r]!.due.add(s);
        return cluster.producer.send({
          type: 'reservation',
          message: `for ${recipients.join(',')}`,
          data: { tag: 'iso', seq: s, to: recipients.map((r) => users[r]!.id) },
          user_ids: recipients.map((r) => users[r]!.id),
        });
      }),
    );
  }
  for (const u of users) {
    await u.client.waitUntil((c) => c.notifications.length >= u.due.size, 30_000, `${u.id}'s events`);
  }
  // One broadcast after everything: once each client has it, nothing else is still on its way.
  await cluster.producer.send({ type: 'reservation', message: 'end', data: { tag: 'end' } });
  for (const u of users) await u.client.waitUntil((c) => c.notifications.some((n) => (n.data as { tag?: string }).tag === 'end'), 30_000, 'the end');

  let delivered = 0;
  let misdelivered = 0;
  let lost = 0;
  let duplicated = 0;
  for (const u of users) {
    const mine = u.client.notifications.filter((n) => (n.data as { tag?: string }).tag === 'iso');
    delivered += mine.length;
    misdelivered += mine.filter((n) => !(n.data as { to: string[] }).to.includes(u.id)).length;
    const seqs = new Set(mine.map((n) => (n.data as { seq: number }).seq));
    duplicated += mine.length - seqs.size;
    for (const s of u.due) if (!seqs.has(s)) lost += 1;
  }
  printFigures('cross-user isolation', { users: USERS, events: EVENTS, delivered, misdelivered, lost, duplicated });
  t.equal(misdelivered, 0, 'nobody saw another user\'s notification');
  t.equal(lost, 0);
  t.equal(duplicated, 0);
  await Promise.all(users.map((u) => u.client.stop()));
});
