import { inAct, renderHook } from './support/render.js';
import type { ResumeGap } from '@parking-realtime/web';
import { answerWithPositions, clockTimers, notifyIn, ScriptedNotifier, sendResumeGap } from '@parking-realtime/testing';
import { createClock } from '@sinonjs/fake-timers';
import t from 'tap';
import WebSocket from 'ws';
import { type UseNotificationsOptions, useNotifications } from '../src/index.js';

const server = await ScriptedNotifier.start();
t.teardown(() => server.stop());
t.beforeEach(() => server.reset());

/** Hook options against the test server, on a fake clock (reconnects, pings) and real sockets. */
function setup(overrides: Partial<UseNotificationsOptions> = {}) {
  const clock = createClock();
  const options: UseNotificationsOptions = {
    getJwt: () => 'jwt-1',
    baseUrl: server.baseUrl,
    WebSocket: WebSocket as never,
    timers: clockTimers(clock),
    random: () => 0.999,
    ...overrides,
  };
  return { clock, options };
}

const BACKOFF_CAP_MS = 30_000;

t.test('isConnected turns true only once the server answers the subscription', async (t) => {
  server.autoAnswerSubscribe = false;
  const { options } = setup();
  const hook = await renderHook(useNotifications, options);
  t.teardown(() => hook.unmount());
  t.equal(hook.current.isConnected, false);

  const conn = await server.until(() => server.connections.find((c) => c.frames.some((f) => f.type === 'subscribe')), 5000, 'a subscribe frame');
  t.same(conn.frames[0], { type: 'subscribe', notification_types: ['reservation', 'parking_lot'] }, 'subscribes to both types by default');
  t.same(server.tokenRequests, [{ authorization: 'Bearer jwt-1' }], 'the token was fetched with the JWT');
  t.equal(hook.current.status, 'connecting');
  t.equal(hook.current.isConnected, false, 'an open socket is not yet connected');

  server.answerSubscribe(conn);
  await hook.until((r) => r.isConnected, 'isConnected');
  t.equal(hook.current.status, 'open');
  t.equal(hook.current.error, undefined);
});

t.test('a pushed notification appears in messages and becomes lastId', async (t) => {
  const { options } = setup();
  const hook = await renderHook(useNotifications, options);
  t.teardown(() => hook.unmount());
  await hook.until((r) => r.isConnected, 'isConnected');
  const conn = server.openConnections()[0]!;

  const sent = server.push(conn, { notification_type: 'reservation', message: 'New reservation created', data: { reservation_id: 123, status: 'active' } });
  await hook.until((r) => r.messages.length === 1, 'one message');
  t.same(hook.current.messages, [sent]);
  t.equal(hook.current.lastId, sent.id);
});

t.test('messages keep only the latest bufferSize notifications, oldest first', async (t) => {
  const { options } = setup({ bufferSize: 3 });
  const hook = await renderHook(useNotifications, options);
  t.teardown(() => hook.unmount());
  await hook.until((r) => r.isConnected, 'isConnected');
  const conn = server.openConnections()[0]!;

  const sent = [1, 2, 3, 4, 5].map((n) => server.push(conn, { message: `m${n}` }));
  await hook.until((r) => r.lastId === sent[4]!.id, 'the fifth notification');
  t.same(
    hook.current.messages.map((m) => m.message),
    ['m3', 'm4', 'm5'],
  );
});

t.test('clear() empties messages and the next notification starts a new list', async (t) => {
  const { options } = setup();
  const hook = await renderHook(useNotifications, options);
  t.teardown(() => hook.unmount());
  await hook.until((r) => r.isConnected, 'isConnected');
  const conn = server.openConnections()[0]!;
  server.push(conn, { message: 'first' });
  await hook.until((r) => r.messages.length === 1, 'one message');

  await inAct(() => hook.current.clear());
  t.same(hook.current.messages, []);
  server.push(conn, { message: 'second' });
  await hook.until((r) => r.messages.length === 1, 'the next message');
  t.same(
    hook.current.messages.map((m) => m.message),
    ['second'],
  );
});

t.test('unmount closes the socket, leaves no timer and never reconnects', async (t) => {
  const { clock, options } = setup();
  const hook = await renderHook(useNotifications, options);
  await hook.until((r) => r.isConnected, 'isConnected');
  const conn = server.openConnections()[0]!;
  t.ok(clock.countTimers() > 0, 'a ping timer runs while connected');

  await hook.unmount();
  const code = await server.until(() => conn.closeCode, 5000, 'the server to see the close');
  t.equal(code, 1000, 'closed normally by the client');
  t.equal(clock.countTimers(), 0, 'no timer left');

  await clock.tickAsync(10 * BACKOFF_CAP_MS);
  t.equal(server.tokenRequests.length, 1, 'no new token request');
  t.equal(server.connections.length, 1, 'no new connection');
});

t.test('when the server drops the socket, the hook reconnects with the latest getJwt', async (t) => {
  const { clock, options } = setup();
  const hook = await renderHook(useNotifications, options);
  t.teardown(() => hook.unmount());
  await hook.until((r) => r.isConnected, 'isConnected');

  // A new function identity on every render must not reconnect.
  await hook.rerender({ ...options, getJwt: () => 'jwt-2' });
  t.equal(server.connections.length, 1, 'still the first connection');
  t.equal(hook.current.isConnected, true);

  server.openConnections()[0]!.socket.close(1012, 'service restart');
  await hook.until((r) => r.status === 'reconnecting', 'reconnecting');
  t.equal(hook.current.isConnected, false);
  await clock.tickAsync(BACKOFF_CAP_MS);
  await hook.until((r) => r.isConnected, 'isConnected again');
  t.same(
    server.tokenRequests.map((r) => r.authorization),
    ['Bearer jwt-1', 'Bearer jwt-2'],
  );
  t.equal(server.openConnections().length, 1);
});

t.test('new types reconnect with the new subscription; enabled false closes and goes idle', async (t) => {
  const { clock, options } = setup({ types: ['reservation', 'parking_lot'] });
  const hook = await renderHook(useNotifications, options);
  await hook.until((r) => r.isConnected, 'isConnected');
  const first = server.openConnections()[0]!;

  // The same types in a new array: nothing changes.
  await hook.rerender({ ...options, types: ['reservation', 'parking_lot'] });
  t.equal(server.connections.length, 1);

  await hook.rerender({ ...options, types: ['parking_lot'] });
  await server.until(() => first.closeCode, 5000, 'the first socket to close');
  const second = await server.until(() => server.openConnections().find((c) => c.frames.some((f) => f.type === 'subscribe')), 5000, 'a second subscription');
  t.same(second.frames[0]?.notification_types, ['parking_lot']);
  await hook.until((r) => r.isConnected, 'isConnected with the new types');

  await hook.rerender({ ...options, types: ['parking_lot'], enabled: false });
  await server.until(() => second.closeCode, 5000, 'the second socket to close');
  t.equal(hook.current.status, 'idle');
  t.equal(clock.countTimers(), 0, 'no timer left');
  await hook.unmount();
});

t.test('a 401 from the token endpoint: status closed, error auth_failed, one token request and no retry', async (t) => {
  server.tokenStatus = 401;
  const { clock, options } = setup();
  const hook = await renderHook(useNotifications, options);
  t.teardown(() => hook.unmount());

  await hook.until((r) => r.status === 'closed', 'status closed');
  t.equal(hook.current.error?.code, 'auth_failed');
  t.equal(hook.current.isConnected, false);
  t.equal(clock.countTimers(), 0, 'no retry scheduled');
  await clock.tickAsync(10 * BACKOFF_CAP_MS);
  t.equal(server.tokenRequests.length, 1, 'exactly one token request');
  t.equal(server.connections.length, 0);
});

t.test('StrictMode double mount leaves exactly one live client', async (t) => {
  const { clock, options } = setup();
  const hook = await renderHook(useNotifications, options, { strict: true });
  await hook.until((r) => r.isConnected, 'isConnected');
  t.equal(server.openConnections().length, 1, 'one socket');
  t.equal(server.tokenRequests.length, 1, 'the discarded mount never asked for a token');

  await hook.unmount();
  await server.until(() => server.openConnections().length === 0, 5000, 'every socket to close');
  t.equal(clock.countTimers(), 0);
});

t.test('positions from subscribed and notifications show in the result and are sent back on reconnect', async (t) => {
  server.autoAnswerSubscribe = false;
  const gaps: ResumeGap[] = [];
  let gapReported: () => void = () => {};
  const firstGap = new Promise<void>((resolve) => (gapReported = resolve));
  const onResumeGap = (gap: ResumeGap) => {
    gaps.push(gap);
    gapReported();
  };
  const { clock, options } = setup({ types: ['reservation'], onResumeGap });
  const hook = await renderHook(useNotifications, options);
  t.teardown(() => hook.unmount());
  const first = await server.until(() => server.connections[0]?.frames[0] && server.connections[0], 5000, 'a subscribe frame');
  t.same(first.frames[0], { type: 'subscribe', notification_types: ['reservation'] }, 'nothing to resume the first time');

  answerWithPositions(first, { 'user:reservation': { id: '100-0', epoch: '10-0' }, 'all:reservation': { id: '90-0', epoch: '20-0' } });
  await hook.until((r) => r.isConnected, 'isConnected');
  t.same(hook.current.positions, { 'user:reservation': { id: '100-0', epoch: '10-0' }, 'all:reservation': { id: '90-0', epoch: '20-0' } });
  notifyIn(first, 'all:reservation', '120-0', '20-0');
  notifyIn(first, 'user:reservation', '95-0', '10-0'); // behind subscribed's position: delivered, the position stays
  await hook.until((r) => r.lastId === '95-0', 'the second notification');
  t.same(hook.current.positions, { 'user:reservation': { id: '100-0', epoch: '10-0' }, 'all:reservation': { id: '120-0', epoch: '20-0' } });

  first.socket.close(1012, 'service restart');
  await hook.until((r) => r.status === 'reconnecting', 'reconnecting');
  await clock.tickAsync(BACKOFF_CAP_MS);
  const second = await server.until(() => server.connections[1]?.frames[0] && server.connections[1], 5000, 'the second subscribe');
  t.same(second.frames[0], {
    type: 'subscribe',
    notification_types: ['reservation'],
    positions: { 'user:reservation': { id: '100-0', epoch: '10-0' }, 'all:reservation': { id: '120-0', epoch: '20-0' } },
    last_id: '95-0',
  });

  // user:reservation began again while the client was away.
  answerWithPositions(second, { 'user:reservation': { id: '300-0', epoch: '300-0' }, 'all:reservation': { id: '120-0', epoch: '20-0' } });
  sendResumeGap(second, { streams: ['user:reservation'] });
  await hook.until((r) => r.positions?.['user:reservation']?.epoch === '300-0', 'the new epoch');
  await firstGap;
  t.same(gaps, [{ streams: ['user:reservation'], last_id: '95-0' }], 'onResumeGap names the streams');
});
