import { answerWithPositions, notifyIn, type ScriptedConnection, ScriptedNotifier, sendResumeGap, waitFor } from '@parking-realtime/testing';
import { createClock } from '@sinonjs/fake-timers';
import t, { type Test } from 'tap';
import WebSocket from 'ws';
import { type ClientEvents, fullJitterDelay, NotificationClient, type NotificationClientOptions, socketUrlFor } from '../src/index.js';

/** A client on fake timers (reconnects, pings) and real sockets. */
function setup(server: ScriptedNotifier, options: Partial<NotificationClientOptions> = {}) {
  const clock = createClock();
  const delays: number[] = [];
  const timers = {
    setTimeout: (fn: () => void, ms: number) => {
      delays.push(ms);
      return clock.setTimeout(fn, ms);
    },
    clearTimeout: (handle: unknown) => clock.clearTimeout(handle as never),
    now: () => clock.now,
  };
  let jwt = 'jwt-1';
  const client = new NotificationClient({
    getJwt: () => jwt,
    baseUrl: server.baseUrl,
    WebSocket: WebSocket as never,
    timers,
    random: () => 0.999,
    ...options,
  });
  return { client, clock, delays, setJwt: (v: string) => (jwt = v) };
}

/** Resolves once the client is (or becomes) in `status`. */
function statusReached(client: NotificationClient, status: string): Promise<void> {
  if (client.status === status) return Promise.resolve();
  return new Promise((resolve) => {
    const off = client.on('status', (s) => {
      if (s !== status) return;
      off();
      resolve();
    });
  });
}

/** Resolves with the next `event` whose value passes `match`. */
function nextEvent<K extends keyof ClientEvents>(client: NotificationClient, event: K, match: (value: ClientEvents[K]) => boolean = () => true): Promise<ClientEvents[K]> {
  return new Promise((resolve) => {
    const off = client.on(event, (value) => {
      if (!match(value)) return;
      off();
      resolve(value);
    });
  });
}

const statuses = (client: NotificationClient) => {
  const seen: string[] = [];
  client.on('status', (s) => seen.push(s));
  return seen;
};

t.test('connects: token with the JWT, socket with the token, subscribe, then open', async (t) => {
  const server = await ScriptedNotifier.start();
  t.teardown(() => server.stop());
  const { client } = setup(server, { types: ['reservation'] });
  const seen = statuses(client);
  client.connect();
  const conn = await server.until(() => server.connections[0]?.frames[0] && server.connections[0]);
  t.equal(server.tokenRequests[0]?.authorization, 'Bearer jwt-1');
  t.equal(conn.token, 't1');
  t.same(conn.frames[0], { type: 'subscribe', notification_types: ['reservation'] }, 'no last_id the first time');
  await statusReached(client, 'open');
  t.same(seen, ['connecting', 'open']);
  client.close();
  t.equal(client.status, 'closed');
});

t.test('every reconnect fetches a fresh token with the current JWT; a server without positions gets last_id alone', async (t) => {
  const server = await ScriptedNotifier.start();
  t.teardown(() => server.stop());
  const { client, clock, setJwt } = setup(server);
  client.connect();
  const first = await server.until(() => server.connections[0]?.frames[0] && server.connections[0]);
  server.push(first, { id: '100-0' });
  server.push(first, { id: '100-1' });
  await new Promise<void>((resolve) => client.on('notification', (n) => n.id === '100-1' && resolve()));
  setJwt('jwt-2'); // the app refreshed its JWT
  first.socket.close(1012);
  await statusReached(client, 'reconnecting');
  await clock.tickAsync(500);
  const second = await server.until(() => server.connections[1]?.frames[0] && server.connections[1]);
  t.equal(server.tokenRequests[1]?.authorization, 'Bearer jwt-2', 'the refreshed JWT is used');
  t.equal(second.token, 't2', 'a fresh token');
  t.same(second.frames[0], { type: 'subscribe', notification_types: ['reservation', 'parking_lot'], last_id: '100-1' });
  client.close();
});

t.test('backoff: exponential with full jitter, capped; reset once subscribed', async (t) => {
  t.equal(fullJitterDelay(0, { initialMs: 500, maxMs: 30_000 }, () => 0.5), 250);
  t.equal(fullJitterDelay(3, { initialMs: 500, maxMs: 30_000 }, () => 0.999), 3996);
  t.equal(fullJitterDelay(20, { initialMs: 500, maxMs: 30_000 }, () => 0.999), 29_970, 'capped');
  t.equal(fullJitterDelay(5, { initialMs: 500, maxMs: 30_000 }, () => 0), 0, 'jitter reaches down to zero');

  const server = await ScriptedNotifier.start();
  t.teardown(() => server.stop());
  server.tokenStatus = 503; // down: every attempt fails and is retried
  const { client, clock, delays } = setup(server);
  client.connect();
  const expected = [499, 999, 1998, 3996, 7992, 15_984, 29_970, 29_970];
  for (let i = 0; i < expected.length; i++) {
    await server.until(() => server.tokenRequests.length === i + 1 || undefined, 5000, `attempt ${i + 1}`);
    await waitFor(() => delays.length >= i + 1, 5000, `retry ${i + 1} to be scheduled`);
    t.equal(delays[i], expected[i], `retry ${i + 1} waits ${expected[i]} ms`);
    await clock.tickAsync(delays[i]! - 1);
    t.equal(server.tokenRequests.length, i + 1, 'not a moment before');
    if (i === expected.length - 1) server.tokenStatus = 200; // back up for the last attempt
    await clock.tickAsync(1);
  }
  await server.until(() => server.connections[0]?.frames[0]);
  await statusReached(client, 'open');
  server.connections[0]!.socket.close();
  await statusReached(client, 'reconnecting');
  t.equal(delays.at(-1), 499, 'a successful subscribe resets the backoff');
  client.close();
});

t.test('no reconnect after close()', async (t) => {
  const server = await ScriptedNotifier.start();
  t.teardown(() => server.stop());
  const { client, clock } = setup(server);
  client.connect();
  const conn = await server.until(() => server.connections[0]?.frames[0] && server.connections[0]);
  client.close();
  await new Promise<void>((resolve) => conn.socket.once('close', () => resolve()));
  await clock.tickAsync(120_000);
  t.equal(server.tokenRequests.length, 1, 'no further token request');
  t.equal(server.connections.length, 1, 'no further socket');
  t.equal(clock.countTimers(), 0, 'no timer left');
  t.equal(client.status, 'closed');
});

t.test('a 401 from the token endpoint stops and surfaces; no retry loop', async (t) => {
  const server = await ScriptedNotifier.start();
  t.teardown(() => server.stop());
  server.tokenStatus = 401;
  const { client, clock } = setup(server);
  const errors: string[] = [];
  client.on('error', (e) => errors.push(`${e.code}:${e.serverCode}:${e.fatal}`));
  client.connect();
  await statusReached(client, 'closed');
  await clock.tickAsync(120_000);
  t.equal(server.tokenRequests.length, 1, 'asked once');
  t.same(errors, ['auth_failed:auth_expired:true']);
  t.equal(client.error?.code, 'auth_failed');
  t.equal(clock.countTimers(), 0);
});

t.test('the notification buffer keeps the newest, up to its bound', async (t) => {
  const server = await ScriptedNotifier.start();
  t.teardown(() => server.stop());
  const { client } = setup(server, { bufferSize: 10 });
  client.connect();
  const conn = await server.until(() => server.connections[0]?.frames[0] && server.connections[0]);
  for (let i = 1; i <= 25; i++) server.push(conn, { id: `1-${i}` });
  await new Promise<void>((resolve) => client.on('notification', (n) => n.id === '1-25' && resolve()));
  t.equal(client.notifications.length, 10);
  t.same(client.notifications.map((n) => n.id), Array.from({ length: 10 }, (_, i) => `1-${i + 16}`));
  client.clear();
  t.equal(client.notifications.length, 0);
  t.equal(client.lastId, '1-25', 'clearing keeps the resume position');
  client.close();
});

t.test('a dead link (no pong) is dropped and replaced', async (t) => {
  const server = await ScriptedNotifier.start();
  t.teardown(() => server.stop());
  server.answerPings = false;
  const { client, clock } = setup(server, { pingIntervalMs: 1000, pongTimeoutMs: 500 });
  client.connect();
  await server.until(() => server.connections[0]?.frames[0]);
  await statusReached(client, 'open');
  await clock.tickAsync(1000);
  await server.until(() => server.connections[0]!.frames.some((f) => f.type === 'ping'), 5000, 'a ping');
  await clock.tickAsync(500);
  t.equal(client.status, 'reconnecting', 'gave up on the silent socket');
  await clock.tickAsync(500);
  await server.until(() => server.connections[1], 5000, 'a new connection');
  client.close();
});

t.test('the socket URL follows the page: wss on https', async (t) => {
  t.equal(socketUrlFor('https://parking.example/app'), 'wss://parking.example/ws/notifications/');
  t.equal(socketUrlFor('http://localhost:8000'), 'ws://localhost:8000/ws/notifications/');
  t.throws(() => new NotificationClient({ getJwt: () => 'x', WebSocket: WebSocket as never }), TypeError, 'no page, no baseUrl');
});

for (const [code, reason] of [[4011, 'displaced'], [4003, 'revoked']] as const) {
  t.test(`closed with ${code} (${reason}): no reconnect, the reason surfaces`, async (t) => {
    const server = await ScriptedNotifier.start();
    t.teardown(() => server.stop());
    const { client, clock } = setup(server);
    client.connect();
    const conn = await server.until(() => server.connections[0]?.frames[0] && server.connections[0]);
    await statusReached(client, 'open');
    conn.socket.close(code, reason);
    await statusReached(client, 'closed');
    t.equal(client.error?.code, reason);
    await clock.tickAsync(120_000);
    t.equal(server.tokenRequests.length, 1, 'it does not push the newer socket out in turn');
    t.equal(clock.countTimers(), 0);
  });
}

/** A connected client whose subscribes the test answers itself (with positions). */
async function connectedWithPositions(t: Test, positions: Parameters<typeof answerWithPositions>[1]) {
  const server = await ScriptedNotifier.start();
  t.teardown(() => server.stop());
  server.autoAnswerSubscribe = false;
  const { client, clock } = setup(server);
  t.teardown(() => client.close());
  client.connect();
  const first = await server.until(() => server.connections[0]?.frames[0] && server.connections[0]);
  answerWithPositions(first, positions);
  await statusReached(client, 'open');
  /** Drops the socket and returns the next one once its subscribe has arrived (unanswered). */
  const reconnect = async (conn: ScriptedConnection): Promise<ScriptedConnection> => {
    const index = server.connections.length;
    conn.socket.close(1012);
    await statusReached(client, 'reconnecting');
    await clock.tickAsync(500);
    return server.until(() => server.connections[index]?.frames[0] && server.connections[index], 5000, 'the next subscribe');
  };
  return { server, client, first, reconnect };
}

t.test('positions from subscribed and from notifications are sent back on reconnect, with last_id', async (t) => {
  const { client, first, reconnect } = await connectedWithPositions(t, {
    'user:reservation': { id: '100-0', epoch: '10-0' },
    'all:reservation': { id: '90-0', epoch: '20-0' },
    'user:parking_lot': { id: '80-0', epoch: '30-0' },
    'all:parking_lot': { id: '95-0', epoch: '' },
  });
  t.same(first.frames[0], { type: 'subscribe', notification_types: ['reservation', 'parking_lot'] }, 'nothing to resume the first time');
  t.same(client.positions['all:parking_lot'], { id: '95-0', epoch: '' }, 'taken from subscribed as soon as it is open');
  t.equal(client.lastId, undefined, 'no notification yet');

  notifyIn(first, 'user:reservation', '105-0', '10-0');
  notifyIn(first, 'all:parking_lot', '110-0', '110-0'); // the stream began: its first id is its epoch
  await nextEvent(client, 'notification', (n) => n.id === '110-0');
  const second = await reconnect(first);
  t.same(second.frames[0], {
    type: 'subscribe',
    notification_types: ['reservation', 'parking_lot'],
    positions: {
      'user:reservation': { id: '105-0', epoch: '10-0' },
      'all:reservation': { id: '90-0', epoch: '20-0' },
      'user:parking_lot': { id: '80-0', epoch: '30-0' },
      'all:parking_lot': { id: '110-0', epoch: '110-0' },
    },
    last_id: '110-0',
  });
});

t.test('positions from subscribed alone are sent back: a quiet client still resumes exactly', async (t) => {
  const { first, reconnect } = await connectedWithPositions(t, { 'user:reservation': { id: '100-0', epoch: '10-0' } });
  const second = await reconnect(first);
  t.same(second.frames[0], { type: 'subscribe', notification_types: ['reservation', 'parking_lot'], positions: { 'user:reservation': { id: '100-0', epoch: '10-0' } } }, 'no last_id: none was seen');
});

t.test('a notification behind the held position (same epoch) does not move it back', async (t) => {
  const { client, first, reconnect } = await connectedWithPositions(t, { 'user:reservation': { id: '200-0', epoch: '10-0' } });
  // Published while the subscription was being set up: it arrives after subscribed, behind its position.
  notifyIn(first, 'user:reservation', '150-0', '10-0');
  const late = await nextEvent(client, 'notification');
  t.equal(late.id, '150-0', 'still delivered to the app');
  t.same(client.positions['user:reservation'], { id: '200-0', epoch: '10-0' }, 'the position stays');
  t.equal(client.lastId, '150-0', 'last_id is the last notification seen, as before');
  const second = await reconnect(first);
  t.same(second.frames[0]?.positions, { 'user:reservation': { id: '200-0', epoch: '10-0' } });
});

t.test('a new epoch replaces the held position, even with a lower id', async (t) => {
  const { client, server, first, reconnect } = await connectedWithPositions(t, {
    'user:reservation': { id: '200-0', epoch: '10-0' },
    'all:reservation': { id: '300-0', epoch: '20-0' },
  });
  // Redis lost user:reservation and it began again.
  notifyIn(first, 'user:reservation', '50-0', '50-0');
  await nextEvent(client, 'notification');
  t.same(client.positions['user:reservation'], { id: '50-0', epoch: '50-0' }, 'by a notification');

  const second = await reconnect(first);
  t.same(second.frames[0]?.positions, { 'user:reservation': { id: '50-0', epoch: '50-0' }, 'all:reservation': { id: '300-0', epoch: '20-0' } });
  // all:reservation began again while the client was away.
  answerWithPositions(second, { 'user:reservation': { id: '50-0', epoch: '50-0' }, 'all:reservation': { id: '40-0', epoch: '40-0' } });
  await statusReached(client, 'open');
  t.same(client.positions['all:reservation'], { id: '40-0', epoch: '40-0' }, 'by subscribed');
  const third = await reconnect(second);
  t.same(third.frames[0]?.positions, { 'user:reservation': { id: '50-0', epoch: '50-0' }, 'all:reservation': { id: '40-0', epoch: '40-0' } });
  t.equal(server.connections.length, 3);
});

t.test('resume_gap reaches the app with the streams it names, and the last_id resumed from', async (t) => {
  const { client, first, reconnect } = await connectedWithPositions(t, { 'all:parking_lot': { id: '100-0', epoch: '10-0' } });
  notifyIn(first, 'all:parking_lot', '101-0', '10-0');
  await nextEvent(client, 'notification');
  const second = await reconnect(first);
  const gap = nextEvent(client, 'resume_gap');
  answerWithPositions(second, { 'all:parking_lot': { id: '500-0', epoch: '400-0' } });
  // A resume by positions gets no last_id back from the server.
  sendResumeGap(second, { streams: ['all:parking_lot'] });
  t.same(await gap, { streams: ['all:parking_lot'], last_id: '101-0' });

  const third = await reconnect(second);
  const echoed = nextEvent(client, 'resume_gap');
  answerWithPositions(third, {});
  sendResumeGap(third, { streams: ['user:reservation', 'all:reservation'], last_id: '99-0' });
  t.same(await echoed, { streams: ['user:reservation', 'all:reservation'], last_id: '99-0' }, 'a last_id the server sends wins');
});

t.test('positions is a snapshot the app cannot change', async (t) => {
  const { client, first, reconnect } = await connectedWithPositions(t, { 'user:reservation': { id: '100-0', epoch: '10-0' } });
  const snapshot = client.positions as Record<string, unknown>;
  delete snapshot['user:reservation'];
  snapshot['all:reservation'] = { id: '1-0', epoch: '' };
  const second = await reconnect(first);
  t.same(second.frames[0]?.positions, { 'user:reservation': { id: '100-0', epoch: '10-0' } });
});
