import type { NotificationFrame } from '@parking-realtime/protocol';
import { type ServiceProcess, serviceJwt, simpleJwtAccessToken, startNodeProcess, startRedis, type TestRedis } from '@parking-realtime/testing';
import { io, type Socket } from 'socket.io-client';
import t from 'tap';
import type { ClientToServerEvents, ServerToClientEvents } from '../src/socketio/types.js';

type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

const JWT_SECRET = 'socketio-test-jwt-secret-long-enough-0123';
const SERVICE_JWT_SECRET = 'socketio-test-service-secret-long-enough-0';
const TIMEOUT_MS = 5000;

const sockets: ClientSocket[] = [];
let redis: TestRedis | undefined;
let server: ServiceProcess | undefined;
t.teardown(async () => {
  for (const socket of sockets) socket.close();
  await server?.kill();
  await redis?.stop();
});
redis = await startRedis();
server = await startNodeProcess({
  name: 'socketio',
  script: 'bench/src/socketio/main.ts',
  env: { REDIS_URL: redis.url, JWT_SECRET, SERVICE_JWT_SECRET },
});
const baseUrl = server.url;

/** The first `event` the emitter fires, or a rejection after the timeout. */
function next<T>(emitter: { once(event: string, fn: (value: T) => void): unknown }, event: string, what = event): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${what} within ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
    emitter.once(event, (value) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}

async function wsToken(userId: number): Promise<string> {
  const res = await fetch(`${baseUrl}/api/user/ws-token/`, { headers: { authorization: `Bearer ${simpleJwtAccessToken(JWT_SECRET, userId)}` } });
  const body = (await res.json()) as { ws_token: string; expires_in: number };
  if (res.status !== 200) throw new Error(`token endpoint answered ${res.status}`);
  return body.ws_token;
}

function open(token: string): ClientSocket {
  const socket: ClientSocket = io(baseUrl, { transports: ['websocket'], auth: { token }, reconnection: false, forceNew: true });
  sockets.push(socket);
  return socket;
}

async function connect(userId: number, types: string[]): Promise<ClientSocket> {
  const socket = open(await wsToken(userId));
  await next(socket, 'connect');
  const ack = await socket.timeout(TIMEOUT_MS).emitWithAck('subscribe', { notification_types: types });
  if (ack.type !== 'subscribed') throw new Error(`subscribe refused: ${JSON.stringify(ack)}`);
  return socket;
}

function postEvent(body: unknown, token = serviceJwt(SERVICE_JWT_SECRET)): Promise<Response> {
  return fetch(`${baseUrl}/api/events/`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

t.test('token endpoint: 401 without a JWT, a token with one', async (t) => {
  const res = await fetch(`${baseUrl}/api/user/ws-token/`);
  t.equal(res.status, 401);
  t.equal(((await res.json()) as { code: string }).code, 'unauthorized');
  const refresh = await fetch(`${baseUrl}/api/user/ws-token/`, {
    headers: { authorization: `Bearer ${simpleJwtAccessToken(JWT_SECRET, 1, { token_type: 'refresh' })}` },
  });
  t.equal(refresh.status, 401, 'a refresh token is refused');
  t.match(await wsToken(1), /^[A-Za-z0-9_-]{43}$/);
});

t.test('an unknown token gets a connect_error', async (t) => {
  const err = await next<Error>(open('A'.repeat(43)), 'connect_error');
  t.equal(err.message, 'forbidden');
});

t.test('a token is single-use', async (t) => {
  const token = await wsToken(5);
  await next(open(token), 'connect');
  const err = await next<Error>(open(token), 'connect_error');
  t.equal(err.message, 'forbidden');
});

t.test('a targeted event reaches its user and no one else', async (t) => {
  const socket = await connect(1, ['reservation']);
  const received = next<NotificationFrame>(socket, 'notification');
  const other = await postEvent({ type: 'reservation', message: 'for user 2', data: {}, user_ids: [2] });
  t.equal(other.status, 202);
  const mine = await postEvent({ id: 'evt-user-1', type: 'reservation', message: 'for user 1', data: { spot: 7 }, user_ids: [1] });
  t.same(await mine.json(), { id: 'evt-user-1' });
  const frame = await received;
  t.match(frame, { type: 'notification', id: 'evt-user-1', notification_type: 'reservation', message: 'for user 1', data: { spot: 7 } });
  t.ok(!Number.isNaN(Date.parse(frame.created_at)), 'created_at is a date');
});

t.test('a broadcast reaches every socket subscribed to its type', async (t) => {
  const [a, b] = await Promise.all([connect(3, ['parking_lot']), connect(4, ['parking_lot', 'reservation'])]);
  const received = Promise.all([a, b].map((s) => next<NotificationFrame>(s, 'notification')));
  const res = await postEvent({ type: 'parking_lot', message: 'lot full', data: { lot: 'A' } });
  t.equal(res.status, 202);
  const { id } = (await res.json()) as { id: string };
  for (const frame of await received) t.match(frame, { id, notification_type: 'parking_lot', message: 'lot full' });
});

t.test('subscribe refuses an unknown notification type', async (t) => {
  const socket = open(await wsToken(6));
  await next(socket, 'connect');
  const ack = await socket.timeout(TIMEOUT_MS).emitWithAck('subscribe', { notification_types: ['weather'] });
  t.match(ack, { type: 'error', code: 'unknown_notification_type' });
});

t.test('the event endpoint refuses bad bodies and bad credentials', async (t) => {
  const bad = await postEvent({ type: 'weather', message: '', data: {} });
  t.equal(bad.status, 400);
  t.equal(((await bad.json()) as { code: string }).code, 'invalid_event');
  const noScope = await postEvent({ type: 'reservation', message: 'x', data: {} }, serviceJwt(SERVICE_JWT_SECRET, 'events:read'));
  t.equal(noScope.status, 403);
  const userJwt = await postEvent({ type: 'reservation', message: 'x', data: {} }, simpleJwtAccessToken(JWT_SECRET, 1));
  t.equal(userJwt.status, 401, 'a user JWT is not a service JWT');
});

t.test('SIGTERM closes the live sockets and exits 0', async (t) => {
  const socket = await connect(7, ['reservation']);
  const disconnected = next(socket, 'disconnect');
  await server.kill('SIGTERM');
  t.same(await server.exited, { code: 0, signal: null });
  await disconnected;
});
