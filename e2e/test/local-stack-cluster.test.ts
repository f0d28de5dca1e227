import { connect } from 'node:net';
import { advancePosition, compareNotificationIds, type StreamName, type StreamPositions } from '@parking-realtime/protocol';
import { type Frame, freePort, serviceJwt, simpleJwtAccessToken, TestSocket, waitFor } from '@parking-realtime/testing';
import t from 'tap';
import { startStack } from '@parking-realtime/local-stack';
import { postEventTo } from './support/post-event.js';

// `REDIS_CLUSTER=3 npm start`: the local stack on its own Redis Cluster
// (3 masters, 1 replica each), walked through as the README does, through nginx.

const JWT_SECRET = 'cluster-stack-jwt-secret-long-enough-0123';
const SERVICE_JWT_SECRET = 'cluster-stack-service-secret-long-enough-0';
const stack = await startStack({
  redisCluster: 3,
  authTokenPort: 0,
  notifierPorts: [0, 0],
  eventIngestPort: 0,
  nginxPort: await freePort(),
  // A REDIS_URL left in the environment must not win over the cluster.
  env: { JWT_SECRET, SERVICE_JWT_SECRET, SHUTDOWN_SPREAD_MS: '300', REDIS_URL: 'redis://127.0.0.1:1', PATH: process.env.PATH ?? '' },
});
/** Every socket opened, closed before the stack stops (nginx waits for open sockets as it quits). */
const sockets: TestSocket[] = [];
let stopped = false;
t.teardown(async () => {
  await Promise.all(sockets.map((s) => s.close()));
  if (!stopped) await stack.stop();
});

const wsBase = stack.url.replace('http', 'ws');
const tagOf = (f: Frame) => (f.data as { tag?: string }).tag;
const isNotification = (tag: string) => (f: Frame) => f.type === 'notification' && tagOf(f) === tag;

async function wsToken(userId: number): Promise<string> {
  const res = await fetch(`${stack.url}/api/user/ws-token/`, {
    headers: { authorization: `Bearer ${simpleJwtAccessToken(JWT_SECRET, userId)}` },
  });
  if (res.status !== 200) throw new Error(`token via nginx: ${res.status}`);
  return ((await res.json()) as { ws_token: string }).ws_token;
}

async function openSocket(userId: number): Promise<TestSocket> {
  const socket = await TestSocket.connect(`${wsBase}/ws/notifications/?token=${await wsToken(userId)}`);
  sockets.push(socket);
  return socket;
}

async function postEvent(tag: string, event: Record<string, unknown>): Promise<void> {
  await postEventTo(stack.url, `Bearer ${serviceJwt(SERVICE_JWT_SECRET)}`, { message: tag, ...event, data: { tag } });
}

/** Where user 1's client is in each stream, from `subscribed` and every notification, as an app's client keeps it. */
const positions: StreamPositions = {};
function track(frame: Frame): void {
  if (frame.type === 'subscribed') {
    for (const [stream, at] of Object.entries(frame.positions as StreamPositions)) {
      if (at) advancePosition(positions, stream as StreamName, at.id, at.epoch);
    }
  }
  if (frame.type === 'notification') advancePosition(positions, frame.stream as StreamName, frame.id as string, frame.epoch as string);
}

t.test('every service runs on the local Redis Cluster: 3 masters, one replica each', async (t) => {
  const cluster = stack.redisCluster;
  t.ok(cluster, 'the stack started a cluster');
  t.equal(cluster?.nodes.length, 6, 'six redis-server children');
  t.equal(stack.redisUrl, undefined, 'no single Redis');
  t.equal(stack.redisClusterNodes, cluster?.seeds, 'REDIS_CLUSTER_NODES names every node');
  await cluster?.healthy();
  for (const service of [stack.authToken, stack.eventIngest, ...stack.notifiers]) {
    const ready = await waitFor(() => service.logs.find((l) => typeof l.msg === 'string' && l.msg.endsWith(' ready')), 10_000, `${service.name} ready`);
    t.equal(ready.redis, `cluster ${cluster?.seeds}`, `${service.name} connected as a cluster client`);
  }
});

t.test('the walk-through through nginx: a ws token, both types subscribed, a targeted and a broadcast event arrive', async (t) => {
  const socket = await openSocket(1);
  const subscribed = await socket.subscribe(['reservation', 'parking_lot']);
  track(subscribed);
  t.same(Object.keys(subscribed.positions as object).sort(), ['all:parking_lot', 'all:reservation', 'user:parking_lot', 'user:reservation'], 'a position in each of the four streams');

  // Users 1, 2 and 3 live in slots of different masters: one event, one call per slot group.
  await postEvent('targeted', { type: 'reservation', user_ids: [1, 2, 3] });
  await postEvent('broadcast', { type: 'parking_lot' });
  const targeted = await socket.next(isNotification('targeted'), 10_000);
  const broadcast = await socket.next(isNotification('broadcast'), 10_000);
  t.match(targeted, { notification_type: 'reservation', stream: 'user:reservation', message: 'targeted' }, "the targeted event, in user 1's reservation stream");
  t.match(broadcast, { notification_type: 'parking_lot', stream: 'all:parking_lot', message: 'broadcast' }, 'the broadcast, in the parking_lot broadcast stream');
  for (const frame of socket.received) track(frame);
  t.same(positions['user:reservation']?.id, targeted.id, 'the position in user:reservation is the targeted event');
  await socket.close();
});

t.test('reconnecting with its positions, the client gets exactly what was posted while it was away', async (t) => {
  // Another tab of the same user stays connected: once it has seen every event below,
  // they are all in history, so the reconnecting client can only get them by its positions.
  const otherTab = await openSocket(1);
  await otherTab.subscribe(['reservation', 'parking_lot']);
  // One in each of the four streams (all:reservation never had an entry before), and one for someone else.
  const away: Array<[string, Record<string, unknown>, StreamName]> = [
    ['away-user-reservation', { type: 'reservation', user_ids: [1] }, 'user:reservation'],
    ['away-all-parking-lot', { type: 'parking_lot' }, 'all:parking_lot'],
    ['away-all-reservation', { type: 'reservation' }, 'all:reservation'],
    ['away-user-parking-lot', { type: 'parking_lot', user_ids: [1] }, 'user:parking_lot'],
  ];
  await postEvent('for-user-2', { type: 'reservation', user_ids: [2] });
  for (const [tag, event] of away) await postEvent(tag, event);
  for (const [tag] of away) await otherTab.next(isNotification(tag), 10_000);
  await otherTab.close();

  const socket = await openSocket(1);
  await socket.subscribe(['reservation', 'parking_lot'], { positions: { ...positions } });
  // The replay is written right after `subscribed`, before anything live: a live
  // event posted now arrives after all of it.
  await postEvent('live', { type: 'parking_lot' });
  await socket.next(isNotification('live'), 10_000);

  const received = socket.received.filter((f) => f.type !== 'subscribed');
  const replayed = received.slice(0, -1);
  t.same(replayed.map(tagOf).sort(), away.map(([tag]) => tag).sort(), 'replayed: exactly the four missed events, nothing seen before');
  t.same(
    Object.fromEntries(replayed.map((n) => [tagOf(n), n.stream])),
    Object.fromEntries(away.map(([tag, , stream]) => [tag, stream])),
    'each from its own stream',
  );
  t.match(received.at(-1), { type: 'notification', data: { tag: 'live' } }, 'then the live one');
  t.equal(received.length, away.length + 1, 'and no other frame (no resume_gap)');
  t.notOk(otherTab.received.some(isNotification('for-user-2')), "the other tab never saw user 2's event either");
  for (const n of replayed) {
    const held = positions[n.stream as StreamName];
    t.ok(held === undefined || held.epoch !== n.epoch || compareNotificationIds(n.id as string, held.id) > 0, `${tagOf(n)} is past the position held`);
  }
  await socket.close();
});

t.test('stopping the stack stops every cluster node', async (t) => {
  const ports = stack.redisCluster?.nodes.map((n) => n.port) ?? [];
  await Promise.all(sockets.map((s) => s.close()));
  stopped = true;
  await stack.stop();
  const refused = (port: number) =>
    new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(false);
      });
      socket.once('error', () => resolve(true));
    });
  t.same(await Promise.all(ports.map(refused)), ports.map(() => true), `nothing listens on ${ports.join(', ')} any more`);
});
