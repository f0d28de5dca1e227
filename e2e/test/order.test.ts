import { TestSocket, waitFor } from '@parking-realtime/testing';
import t from 'tap';
import { Cluster } from './support/cluster.js';

// What a domain service expects: what it sends one after another reaches the user in that order,
// even while other senders are sending at the same time, to either of two event-ingest instances
// whose workers both take from the queue.
const cluster = await Cluster.start({ notifiers: 1 });
const second = await cluster.startExtraIngest();
t.teardown(() => cluster.stop());
const notifier = cluster.notifiers[0]!;
const EVENTS = 1200;
const SENDERS = 4;

for (const via of ['producer', 'http', 'two instances over HTTP'] as const) {
  t.test(`events each sender sends one after another (${via}) arrive in that order`, async (t) => {
    const user = `order-${via.replaceAll(' ', '-')}`;
    const socket = await TestSocket.connect(`${notifier.url.replace('http', 'ws')}/ws/notifications/?token=${await cluster.wsToken(user)}`);
    await socket.subscribe(['reservation']);
    const seen: number[] = [];
    socket.ws.on('message', (data: Buffer) => {
      const frame = JSON.parse(data.toString()) as { data?: { seq?: number } };
      if (frame.data?.seq !== undefined) seen.push(frame.data.seq);
    });
    // Each sender waits for each send to be accepted before the next; the senders overlap.
    const refused: number[] = [];
    await Promise.all(
      Array.from({ length: SENDERS }, async (_, sender) => {
        for (let seq = sender; seq < EVENTS; seq += SENDERS) {
          const event = { type: 'reservation' as const, message: `#${seq}`, data: { seq }, user_ids: [user] };
          // Over two instances, half the senders send to each: each sender keeps to one.
          const ingest = via === 'two instances over HTTP' && sender % 2 === 1 ? second : cluster.ingest;
          if (via === 'producer') await cluster.producer.send(event);
          else if ((await cluster.post(event, ingest)) !== 202) refused.push(seq);
        }
      }),
    );
    t.same(refused, [], 'every send accepted');
    await waitFor(() => seen.length >= EVENTS || null, 30_000, 'every event');
    for (let sender = 0; sender < SENDERS; sender++) {
      const order = seen.filter((seq) => seq % SENDERS === sender);
      t.same(order, [...order].sort((a, b) => a - b), `sender ${sender}'s ${order.length} events in the order sent`);
    }
    t.equal(seen.length, EVENTS, 'each once');
    await socket.close();
  });
}
