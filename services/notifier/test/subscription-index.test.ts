import { broadcastChannel, userChannel } from '@parking-realtime/redis';
import t from 'tap';
import { SubscriptionIndex } from '../src/subscription-index.js';

const conn = (userId: string) => ({ userId });

t.test('the first subscriber of a channel adds it; the last one to leave removes it', async (t) => {
  const index = new SubscriptionIndex<{ userId: string }>();
  const a1 = conn('1');
  const a2 = conn('1');
  const b = conn('2');
  t.same(index.subscribe(a1, ['reservation']).sort(), [broadcastChannel('reservation'), userChannel('1', 'reservation')].sort());
  t.same(index.subscribe(a2, ['reservation']), [], 'a second socket of the same user needs nothing new');
  t.same(index.subscribe(b, ['reservation']), [userChannel('2', 'reservation')]);
  t.same(index.subscribe(b, ['reservation']), [], 'subscribing twice is a no-op');

  t.same([...index.recipients(userChannel('1', 'reservation'))!], [a1, a2]);
  t.same([...index.recipients(broadcastChannel('reservation'))!], [a1, a2, b]);
  t.equal(index.recipients(userChannel('1', 'parking_lot')), undefined);

  t.same(index.remove(a1), []);
  t.same(index.remove(a2), [userChannel('1', 'reservation')]);
  t.same(index.unsubscribe(b, ['reservation']).sort(), [broadcastChannel('reservation'), userChannel('2', 'reservation')].sort());
  t.same(index.channels(), []);
  t.equal(index.connectionCount, 0);
});

t.test('unsubscribing a type never subscribed changes nothing', async (t) => {
  const index = new SubscriptionIndex<{ userId: string }>();
  const a = conn('1');
  index.subscribe(a, ['parking_lot']);
  t.same(index.unsubscribe(a, ['reservation']), []);
  t.same([...index.typesOf(a)], ['parking_lot']);
});
