import t from 'tap';
import { Cluster, printFigures } from '../support/cluster.js';
import { runKillScenario, startClients } from '../support/kill-scenario.js';

const CLIENTS = 200;
const EVENTS = 2000;

// With the default history (2 minutes of everything, issue #18): a client cut off mid-stream resumes.
const cluster = await Cluster.start({ notifiers: 2 });
t.teardown(() => cluster.stop());

t.test(`kill -9 one of two notifiers mid-stream: ${CLIENTS} clients, ${EVENTS} events, nothing lost, nothing twice, in order`, async (t) => {
  const clients = Array.from({ length: CLIENTS }, (_, i) => ({ user: `k${i}`, client: cluster.client(`k${i}`, i % 2), due: new Set<number>() }));
  // One in five is a reservation for one user; the rest are lot broadcasts.
  const targetOf = (seq: number) => (seq % 5 === 0 ? clients[(seq * 7) % CLIENTS]! : undefined);
  for (let seq = 1; seq <= EVENTS; seq++) {
    const target = targetOf(seq);
    for (const c of target ? [target] : clients) c.due.add(seq);
  }
  await startClients(clients);

  const victim = cluster.notifiers[0]!;
  const { figures, reconnected } = await runKillScenario(t, {
    clients,
    events: EVENTS,
    tag: 'kill',
    send: async (seq) => {
      const target = targetOf(seq);
      await cluster.producer.send(
        target
          ? { type: 'reservation', message: `r${seq}`, data: { tag: 'kill', seq }, user_ids: [target.user] }
          : { type: 'parking_lot', message: `l${seq}`, data: { tag: 'kill', seq } },
      );
      return true;
    },
    kill: () => victim.kill('SIGKILL'),
    deliveryTimeoutMs: 60_000,
  });
  printFigures('notifier killed (kill -9)', { ...figures, reconnected });
  t.ok(reconnected > 0 && reconnected <= CLIENTS / 2, `${reconnected} clients were cut off and came back`);
  await Promise.all(clients.map((c) => c.client.stop()));
});
