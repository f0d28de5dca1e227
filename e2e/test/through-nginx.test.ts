import { compareNotificationIds } from '@parking-realtime/protocol';
import {
  type Frame,
  freePort,
  metricValue,
  oversizedFrames,
  ReconnectingClient,
  type ResumeFields,
  serviceJwt,
  simpleJwtAccessToken,
  TestSocket,
} from '@parking-realtime/testing';
import t from 'tap';
import { startStack, testNginxConfig } from '@parking-realtime/local-stack';
import { postEventTo } from './support/post-event.js';

const JWT_SECRET = 'nginx-jwt-secret-that-is-long-enough-0123';
const SERVICE_JWT_SECRET = 'nginx-service-secret-long-enough-01234567';
const stack = await startStack({
  authTokenPort: 0,
  notifierPorts: [0, 0],
  eventIngestPort: 0,
  nginxPort: await freePort(),
  env: { JWT_SECRET, SERVICE_JWT_SECRET, SHUTDOWN_SPREAD_MS: '300', PATH: process.env.PATH ?? '' },
});
const clients: ReconnectingClient[] = [];
const tokensSeen: string[] = [];
t.teardown(async () => {
  await Promise.all(clients.map((c) => c.stop()));
  await stack.stop();
});

async function wsToken(userId: number): Promise<string> {
  const res = await fetch(`${stack.url}/api/user/ws-token/`, {
    headers: { authorization: `Bearer ${simpleJwtAccessToken(JWT_SECRET, userId)}` },
  });
  if (res.status !== 200) throw new Error(`token via nginx: ${res.status}`);
  const { ws_token } = (await res.json()) as { ws_token: string };
  tokensSeen.push(ws_token);
  return ws_token;
}

const wsBase = stack.url.replace('http', 'ws');
async function openSocket(userId: number, resume: ResumeFields = {}): Promise<TestSocket> {
  const socket = await TestSocket.connect(`${wsBase}/ws/notifications/?token=${await wsToken(userId)}`);
  await socket.subscribe(['parking_lot', 'reservation'], resume);
  return socket;
}

async function postEvent(event: Record<string, unknown>): Promise<void> {
  await postEventTo(stack.url, `Bearer ${serviceJwt(SERVICE_JWT_SECRET)}`, event);
}

async function openConnections(port: number): Promise<number> {
  return metricValue(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text(), 'ws_connections_open');
}

t.test('nginx -t passes on the rendered config', async (t) => {
  const result = testNginxConfig(stack.nginx.configPath, stack.nginx.dir);
  t.ok(result.ok, result.output);
});

t.test('the demo page is served at /', async (t) => {
  const res = await fetch(`${stack.url}/`);
  t.equal(res.status, 200);
  t.match(await res.text(), /Smart Parking Davao/);
});

t.test('through nginx, large event bodies get the service\'s own answer: 400 for 10,000 levels, 202 for 60 KB', async (t) => {
  const post = (body: string) =>
    fetch(`${stack.url}/api/events/`, {
      method: 'POST',
      headers: { authorization: `Bearer ${serviceJwt(SERVICE_JWT_SECRET)}`, 'content-type': 'application/json' },
      body,
    });
  // ~20 KB, past nginx's default in-memory body buffer: once answered 500 by nginx itself.
  const deep = await post(`{"type":"reservation","message":"m","user_ids":[1],"data":{"a":${'['.repeat(10_000)}${']'.repeat(10_000)}}}`);
  t.equal(deep.status, 400);
  t.equal(((await deep.json()) as { code: string }).code, 'invalid_event');
  const large = await post(JSON.stringify({ type: 'reservation', message: 'large', user_ids: [1], data: { pad: 'x'.repeat(60_000) } }));
  t.equal(large.status, 202, 'a body under the 64 KB limit is accepted');
});

t.test('clients spread over both notifiers through nginx all receive a broadcast', async (t) => {
  for (let user = 1; user <= 8; user++) {
    const client = new ReconnectingClient((resume) => openSocket(user, resume));
    await client.start();
    clients.push(client);
  }
  const [a, b] = stack.notifiers;
  const onA = await openConnections(a!.port);
  const onB = await openConnections(b!.port);
  t.equal(onA + onB, 8, 'every socket is open on some notifier');
  t.ok(onA > 0 && onB > 0, `both notifiers hold sockets (${onA} and ${onB})`);

  await postEvent({ type: 'parking_lot', message: 'Lot A: 3 free', data: { lot_id: 1, free: 3, tag: 'hello' } });
  for (const client of clients) {
    await client.waitUntil((c) => c.notifications.some((n) => (n.data as { tag?: string }).tag === 'hello'), 10_000, 'the broadcast');
  }
  t.pass('all eight received it');
});

t.test('SIGTERM one notifier mid-stream: its clients reconnect through nginx and miss nothing', async (t) => {
  const total = 100;
  const killAt = 30;
  const victim = stack.notifiers[0]!;
  const isStream = (n: Frame) => (n.data as { tag?: string }).tag === 'stream';
  let stopped: Promise<void> | undefined;
  for (let seq = 1; seq <= total; seq++) {
    await postEvent({ type: 'parking_lot', message: `n${seq}`, data: { tag: 'stream', seq } });
    // Not awaited: events keep flowing while the notifier shuts down.
    if (seq === killAt) stopped = victim.kill('SIGTERM');
  }
  await stopped;
  for (const client of clients) {
    await client.waitUntil((c) => c.notifications.filter(isStream).length >= total, 20_000, `all ${total} events`);
  }
  const moved = clients.filter((c) => c.closeCodes.includes(1012));
  t.ok(moved.length > 0, `${moved.length} clients were told 1012 (service restart) and reconnected`);
  t.equal(await openConnections(stack.notifiers[1]!.port), clients.length, 'all sockets now on the surviving notifier');
  for (const client of clients) {
    const stream = client.notifications.filter(isStream);
    t.same(
      stream.map((n) => (n.data as { seq: number }).seq).sort((x, y) => x - y),
      Array.from({ length: total }, (_, i) => i + 1),
      'every event exactly once',
    );
    if (new Set(stream.map((n) => n.id)).size !== stream.length || stream.length !== total) {
      t.comment(`codes=${client.closeCodes} resumed=${client.resumedFrom} ${JSON.stringify(client.notifications.map((n, i) => [(n.data as { seq: number }).seq, n.id, client.origins[i]]))}`);
    }
    const ordered = stream.every((n, i) => i === 0 || compareNotificationIds(stream[i - 1]!.id as string, n.id as string) < 0);
    t.ok(ordered, 'in id order');
  }
});

t.test('through nginx, a frame far past the limit (10,000 types, 10 MB) ends with a close frame the client sees (1009)', async (t) => {
  const other = await openSocket(9001);
  for (const [what, frame] of oversizedFrames()) {
    const socket = await TestSocket.connect(`${wsBase}/ws/notifications/?token=${await wsToken(9000)}`);
    socket.ws.send(frame);
    t.equal((await socket.closedWithin(20_000)).code, 1009, what);
  }
  other.send({ type: 'ping' });
  t.same(await other.nextOfType('pong'), { type: 'pong' }, 'another socket through nginx keeps working');
  await other.close();
});

t.test('nginx logs the socket path but never the ws token', async (t) => {
  const log = stack.nginx.accessLog();
  t.match(log, /GET \/ws\/notifications\/ HTTP\/1\.1/);
  for (const token of tokensSeen) t.notOk(log.includes(token), 'no token in the access log');
  t.notOk(/token=/.test(log), 'no query string at all');
});

t.test('through nginx, a page\'s own origin may open a socket and another site may not', async (t) => {
  const own = await TestSocket.connect(`${wsBase}/ws/notifications/?token=${await wsToken(99)}`, { origin: stack.url });
  t.pass('same origin: nginx passes Host with its port, so the notifier recognises the page');
  await own.close();
  const refused = await TestSocket.refused(`${wsBase}/ws/notifications/?token=${await wsToken(99)}`, { origin: 'https://evil.example' });
  t.equal(refused.status, 403);
  t.equal(JSON.parse(refused.body).code, 'origin_not_allowed');
});
