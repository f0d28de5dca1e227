import type { NotificationsResponse, StreamPositions } from '@parking-realtime/protocol';
import { type Frame, freePort, serviceJwt, simpleJwtAccessToken, TestSocket } from '@parking-realtime/testing';
import t from 'tap';
// The browser client, by path (e2e does not depend on the published package).
import { NotificationClient } from '../../clients/web/src/index.js';
import { startStack } from '@parking-realtime/local-stack';
import { postEventTo } from './support/post-event.js';

// GET /api/notifications/ through nginx, on every service as its own process: what the
// sockets got is what the endpoint serves, for its user only.

const JWT_SECRET = 'notifications-api-jwt-secret-long-enough-0';
const SERVICE_JWT_SECRET = 'notifications-api-service-secret-long-01';
const stack = await startStack({
  authTokenPort: 0,
  notifierPorts: [0],
  eventIngestPort: 0,
  nginxPort: await freePort(),
  env: { JWT_SECRET, SERVICE_JWT_SECRET, PATH: process.env.PATH ?? '' },
});
const sockets: TestSocket[] = [];
t.teardown(async () => {
  await Promise.all(sockets.map((s) => s.close()));
  await stack.stop();
});

const jwt = (userId: number) => simpleJwtAccessToken(JWT_SECRET, userId, {}, 600);

async function openSocket(userId: number): Promise<{ socket: TestSocket; positions: StreamPositions }> {
  const res = await fetch(`${stack.url}/api/user/ws-token/`, { headers: { authorization: `Bearer ${jwt(userId)}` } });
  const { ws_token } = (await res.json()) as { ws_token: string };
  const socket = await TestSocket.connect(`${stack.url.replace('http', 'ws')}/ws/notifications/?token=${ws_token}`);
  sockets.push(socket);
  const subscribed = await socket.subscribe(['reservation', 'parking_lot']);
  return { socket, positions: subscribed.positions as StreamPositions };
}

async function postEvent(event: Record<string, unknown>): Promise<void> {
  await postEventTo(stack.url, `Bearer ${serviceJwt(SERVICE_JWT_SECRET)}`, event);
}

const getNotifications = (query: string, authorization?: string) =>
  fetch(`${stack.url}/api/notifications/${query ? `?${query}` : ''}`, { headers: authorization ? { authorization } : {} });

function afterQuery(positions: StreamPositions): string {
  const params = new URLSearchParams();
  for (const [stream, at] of Object.entries(positions)) params.append('after', `${stream}:${at!.id}:${at!.epoch}`);
  return params.toString();
}

/** Frames in the answer's order: by id, the same id in two streams by stream name. */
function inAnswerOrder(frames: Frame[]): Frame[] {
  const id = (f: Frame) => (f.id as string).split('-').map(Number) as [number, number];
  return [...frames].sort((a, b) => id(a)[0] - id(b)[0] || id(a)[1] - id(b)[1] || ((a.stream as string) < (b.stream as string) ? -1 : 1));
}

const one = await openSocket(1);
const two = await openSocket(2);
await postEvent({ type: 'reservation', message: 'for 1', data: { reservation_id: 1 }, user_ids: [1] });
await postEvent({ type: 'reservation', message: 'for 2', data: { reservation_id: 2 }, user_ids: [2] });
await postEvent({ type: 'parking_lot', message: 'Lot A: 3 free', data: { lot_id: 1, free: 3 } });
await postEvent({ type: 'reservation', message: 'for both', data: { reservation_id: 3 }, user_ids: [1, 2] });
const seenByOne = [
  await one.socket.next((f) => f.message === 'for 1', 10_000),
  await one.socket.next((f) => f.message === 'Lot A: 3 free', 10_000),
  await one.socket.next((f) => f.message === 'for both', 10_000),
];
const seenByTwo = [
  await two.socket.next((f) => f.message === 'for 2', 10_000),
  await two.socket.next((f) => f.message === 'Lot A: 3 free', 10_000),
  await two.socket.next((f) => f.message === 'for both', 10_000),
];

t.test('through nginx: the user\'s own notifications and the broadcasts, the very frames the socket got', async (t) => {
  const res = await getNotifications('', `Bearer ${jwt(1)}`);
  t.equal(res.status, 200);
  t.equal(res.headers.get('cache-control'), 'no-store');
  t.match(res.headers.get('content-type'), /^application\/json/);
  const body = (await res.json()) as NotificationsResponse;
  t.same(body.notifications, inAnswerOrder(seenByOne), 'frame for frame what the WebSocket delivered, oldest first');
  t.same(body.gap, []);
  t.equal(body.more, false);

  const theirs = (await (await getNotifications('', `Bearer ${jwt(2)}`)).json()) as NotificationsResponse;
  t.same(theirs.notifications, inAnswerOrder(seenByTwo), "user 2's view");
  t.notOk(JSON.stringify(theirs).includes('for 1'), "user 1's notification never reaches user 2");
});

t.test('through nginx: after the positions subscribed handed out, exactly what came after', async (t) => {
  const body = (await (await getNotifications(afterQuery(one.positions), `Bearer ${jwt(1)}`)).json()) as NotificationsResponse;
  t.same(body.notifications, inAnswerOrder(seenByOne));
  const last = (stream: string) => seenByOne.filter((f) => f.stream === stream).at(-1)!;
  t.same(body.positions['user:reservation'], { id: last('user:reservation').id, epoch: last('user:reservation').epoch }, 'where the socket stands too');
  t.same(body.positions['all:parking_lot'], { id: last('all:parking_lot').id, epoch: last('all:parking_lot').epoch });

  const limited = (await (await getNotifications(`${afterQuery(one.positions)}&limit=2`, `Bearer ${jwt(1)}`)).json()) as NotificationsResponse;
  t.same(limited.notifications, inAnswerOrder(seenByOne).slice(0, 2));
  t.equal(limited.more, true);
  const rest = (await (await getNotifications(afterQuery(limited.positions), `Bearer ${jwt(1)}`)).json()) as NotificationsResponse;
  t.same(rest.notifications, inAnswerOrder(seenByOne).slice(2), 'the rest, from the positions the first page handed out');
});

t.test("through nginx, the browser client's fetchMissed() gets the same", async (t) => {
  const client = new NotificationClient({ getJwt: () => jwt(1), baseUrl: stack.url, WebSocket: class {} as never, window: null, document: null });
  const caught = await client.fetchMissed();
  t.same(caught.notifications, inAnswerOrder(seenByOne));
  t.same(caught.gap, []);
  client.close();
});

t.test('through nginx, refusals keep their codes: 401 without a JWT, 400 for a bad query', async (t) => {
  const none = await getNotifications('');
  t.equal(none.status, 401);
  t.equal(((await none.json()) as { code: string }).code, 'auth_missing');
  const bad = await getNotifications('after=user:reservation:nope:', `Bearer ${jwt(1)}`);
  t.equal(bad.status, 400);
  const body = (await bad.json()) as { code: string; errors: Array<{ path: string }> };
  t.equal(body.code, 'invalid_request');
  t.equal(body.errors[0]?.path, '/after/0');
});
