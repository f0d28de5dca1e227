import { inAct, renderHook } from './support/render.js';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type NotificationFrame, NotificationsResponse, type StreamName } from '@parking-realtime/protocol';
import type { CatchUp, HistoryGap } from '@parking-realtime/web';
import { answerWithPositions, clockTimers, notifyIn, ScriptedNotifier, sendResumeGap } from '@parking-realtime/testing';
import { createClock } from '@sinonjs/fake-timers';
import t from 'tap';
import { Compile } from 'typebox/compile';
import WebSocket from 'ws';
import { type UseNotificationsOptions, useNotifications } from '../src/index.js';

const validAnswer = Compile(NotificationsResponse);

/**
 * Stands in for auth-token's `GET /api/notifications/`: records each request
 * and answers what the test queued, refusing to send an answer that breaks
 * the response schema (the stub must not teach the hook a wrong contract).
 */
const requests: Array<{ url: URL; authorization: string | undefined }> = [];
const answers: Array<{ status: number; body: unknown }> = [];
const endpoint = createServer((req: IncomingMessage, res) => {
  const url = new URL(req.url ?? '/', 'http://stub');
  requests.push({ url, authorization: req.headers.authorization });
  const next = answers.shift() ?? { status: 500, body: { code: 'internal_error', message: 'nothing queued' } };
  if (next.status === 200 && !validAnswer.Check(next.body)) throw new Error(`the test queued an answer that is not a NotificationsResponse: ${JSON.stringify(next.body)}`);
  res.writeHead(next.status, { 'content-type': 'application/json' }).end(JSON.stringify(next.body));
});
await new Promise<void>((resolve) => endpoint.listen(0, '127.0.0.1', resolve));
const notificationsUrl = `http://127.0.0.1:${(endpoint.address() as AddressInfo).port}/api/notifications/`;
const server = await ScriptedNotifier.start();
t.teardown(async () => {
  await server.stop();
  endpoint.closeAllConnections();
  await new Promise<void>((resolve) => endpoint.close(() => resolve()));
});
t.beforeEach(() => {
  server.reset();
  server.autoAnswerSubscribe = false;
  requests.length = 0;
  answers.length = 0;
});

function options(overrides: Partial<UseNotificationsOptions> = {}): UseNotificationsOptions & { clock: ReturnType<typeof createClock> } {
  const clock = createClock();
  return {
    clock,
    getJwt: () => 'jwt-1',
    baseUrl: server.baseUrl,
    notificationsUrl,
    types: ['reservation'],
    WebSocket: WebSocket as never,
    timers: clockTimers(clock),
    random: () => 0.999,
    window: null,
    document: null,
    ...overrides,
  };
}

function frame(stream: StreamName, id: string, epoch: string): NotificationFrame {
  return {
    type: 'notification',
    id,
    stream,
    epoch,
    notification_type: 'reservation',
    message: `${id} in ${stream}`,
    data: {},
    created_at: new Date(Number(id.split('-')[0])).toISOString(),
  };
}

t.test('refetch() asks after the held positions with the JWT; what it brings joins messages like live notifications, in id order', async (t) => {
  const hook = await renderHook(useNotifications, options());
  t.teardown(() => hook.unmount());
  const conn = await server.until(() => server.connections[0]?.frames[0] && server.connections[0], 5000, 'a subscribe');
  answerWithPositions(conn, { 'user:reservation': { id: '100-0', epoch: '10-0' }, 'all:reservation': { id: '90-0', epoch: '20-0' } });
  await hook.until((r) => r.isConnected, 'isConnected');
  notifyIn(conn, 'user:reservation', '200-0', '10-0');
  await hook.until((r) => r.messages.length === 1, 'a live notification');

  const older = frame('all:reservation', '150-0', '20-0');
  const newer = frame('user:reservation', '300-0', '10-0');
  answers.push({
    status: 200,
    body: {
      notifications: [older, frame('user:reservation', '200-0', '10-0'), newer],
      positions: { 'user:reservation': { id: '300-0', epoch: '10-0' }, 'all:reservation': { id: '150-0', epoch: '20-0' } },
      gap: [],
      more: false,
    },
  });
  let result: CatchUp | undefined;
  await inAct(async () => {
    result = await hook.current.refetch!();
  });
  await hook.until((r) => r.messages.length === 3, 'the fetched notifications');

  t.equal(requests.length, 1);
  t.equal(requests[0]!.url.pathname, '/api/notifications/');
  t.equal(requests[0]!.authorization, 'Bearer jwt-1');
  t.equal(requests[0]!.url.searchParams.get('types'), 'reservation');
  t.same(requests[0]!.url.searchParams.getAll('after').sort(), ['all:reservation:90-0:20-0', 'user:reservation:200-0:10-0'], 'after the positions the hook holds');
  t.same(
    hook.current.messages.map((m) => m.id),
    ['150-0', '200-0', '300-0'],
    'the one it already had is not repeated; the rest in id order',
  );
  t.same(
    result?.notifications.map((n) => n.id),
    ['150-0', '300-0'],
    'refetch resolves with what was new',
  );
  t.same(hook.current.positions, { 'user:reservation': { id: '300-0', epoch: '10-0' }, 'all:reservation': { id: '150-0', epoch: '20-0' } });
});

t.test('after resume_gap the hook catches up by itself; onHistoryGap hears what history could not fill', async (t) => {
  const gaps: HistoryGap[] = [];
  const settings = options({ onHistoryGap: (gap) => gaps.push(gap) });
  const hook = await renderHook(useNotifications, settings);
  t.teardown(() => hook.unmount());
  const first = await server.until(() => server.connections[0]?.frames[0] && server.connections[0], 5000, 'a subscribe');
  answerWithPositions(first, { 'user:reservation': { id: '100-0', epoch: '10-0' }, 'all:reservation': { id: '90-0', epoch: '20-0' } });
  await hook.until((r) => r.isConnected, 'isConnected');

  first.socket.close(1012);
  await hook.until((r) => r.status === 'reconnecting', 'reconnecting');
  await settings.clock.tickAsync(500);
  const second = await server.until(() => server.connections[1]?.frames[0] && server.connections[1], 5000, 'the second subscribe');
  answers.push({
    status: 200,
    body: {
      notifications: [frame('user:reservation', '400-0', '400-0')],
      positions: { 'user:reservation': { id: '400-0', epoch: '400-0' }, 'all:reservation': { id: '90-0', epoch: '20-0' } },
      gap: ['user:reservation'],
      more: false,
    },
  });
  answerWithPositions(second, { 'all:reservation': { id: '90-0', epoch: '20-0' } });
  sendResumeGap(second, { streams: ['user:reservation'] });
  await hook.until((r) => r.messages.length === 1, 'the notification from history');
  t.same(requests[0]!.url.searchParams.getAll('after'), ['user:reservation:100-0:10-0'], 'the gapped stream, from where the resume started');
  t.equal(hook.current.messages[0]!.id, '400-0');
  t.same(gaps, [{ streams: ['user:reservation'] }], 'refetching state is still advised');
});

t.test('a refetch that fails resolves undefined and shows in error; the connection stays', async (t) => {
  const hook = await renderHook(useNotifications, options());
  t.teardown(() => hook.unmount());
  const conn = await server.until(() => server.connections[0]?.frames[0] && server.connections[0], 5000, 'a subscribe');
  answerWithPositions(conn, {});
  await hook.until((r) => r.isConnected, 'isConnected');
  answers.push({ status: 503, body: { code: 'redis_unavailable', message: 'Notifications are unavailable right now; try again' } });
  let result: unknown = 'unset';
  await inAct(async () => {
    result = await hook.current.refetch!();
  });
  t.equal(result, undefined);
  t.equal(hook.current.error?.code, 'notifications_unavailable');
  t.equal(hook.current.error?.serverCode, 'redis_unavailable');
  t.equal(hook.current.status, 'open');
  t.same(requests[0]!.url.searchParams.getAll('after'), [], 'no positions yet: the most recent');
});
