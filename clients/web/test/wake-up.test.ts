import { clockTimers, ScriptedNotifier } from '@parking-realtime/testing';
import { createClock } from '@sinonjs/fake-timers';
import t, { type Test } from 'tap';
import WebSocket from 'ws';
import { NotificationClient, type NotificationClientOptions } from '../src/index.js';

/** An EventTarget standing in for the window or the document, counting the listeners it holds. */
class FakeEventSource extends EventTarget {
  visibilityState: 'visible' | 'hidden' = 'visible';
  readonly listening = new Map<string, number>();

  override addEventListener(type: string, listener: () => void): void {
    this.listening.set(type, (this.listening.get(type) ?? 0) + 1);
    super.addEventListener(type, listener);
  }

  override removeEventListener(type: string, listener: () => void): void {
    this.listening.set(type, (this.listening.get(type) ?? 0) - 1);
    super.removeEventListener(type, listener);
  }

  fire(type: string): void {
    this.dispatchEvent(new Event(type));
  }

  becomes(state: 'visible' | 'hidden'): void {
    this.visibilityState = state;
    this.fire('visibilitychange');
  }
}

/**
 * A client on fake timers against a real server, with fake window and
 * document. The clock is never advanced here, so a retry's backoff never
 * runs out: a reconnect can only come from a wake-up event.
 */
async function setup(t: Test, options: Partial<NotificationClientOptions> = {}) {
  const server = await ScriptedNotifier.start();
  t.teardown(() => server.stop());
  const clock = createClock();
  const window = new FakeEventSource();
  const document = new FakeEventSource();
  let jwtCalls = 0;
  const client = new NotificationClient({
    // Called synchronously as an attempt starts: counting calls tells at once whether an event started one.
    getJwt: () => `jwt-${++jwtCalls}`,
    baseUrl: server.baseUrl,
    WebSocket: WebSocket as never,
    timers: clockTimers(clock),
    random: () => 0.999,
    window,
    document,
    ...options,
  });
  t.teardown(() => client.close());
  return { server, clock, window, document, client, attempts: () => jwtCalls };
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

/** Connects and waits for the first socket to be subscribed and open. */
async function connected(env: Awaited<ReturnType<typeof setup>>) {
  env.client.connect();
  const conn = await env.server.until(() => env.server.connections[0]?.frames[0] && env.server.connections[0]);
  await statusReached(env.client, 'open');
  return conn;
}

t.test('a client in backoff after a drop reconnects at once on online', async (t) => {
  // No ping within the minute ticked below: pongs cannot arrive while fake time jumps.
  const env = await setup(t, { backoff: { initialMs: 60_000, maxMs: 60_000 }, pingIntervalMs: 600_000 });
  const first = await connected(env);
  first.socket.close(1012);
  await statusReached(env.client, 'reconnecting');
  t.equal(env.clock.countTimers(), 1, 'a retry waits a minute of fake time that never passes');

  env.window.fire('online');
  t.equal(env.attempts(), 2, 'the attempt started at once');
  const second = await env.server.until(() => env.server.connections[1]?.frames[0] && env.server.connections[1], 5000, 'a second socket');
  await statusReached(env.client, 'open');
  t.equal(second.token, 't2', 'with a fresh token');
  t.equal(env.clock.now, 0, 'no fake time passed');

  await env.clock.tickAsync(60_000);
  t.equal(env.server.tokenRequests.length, 2, 'the cancelled retry never fires: no third attempt');
  t.equal(env.server.openConnections().length, 1, 'the new socket is the only one');
});

t.test('online while the token endpoint is down retries it at once', async (t) => {
  const env = await setup(t);
  env.server.tokenStatus = 503; // as a phone without a network would find it
  env.client.connect();
  await env.server.until(() => env.server.tokenRequests.length === 1 || undefined);
  await statusReached(env.client, 'reconnecting');
  env.server.tokenStatus = 200;
  env.window.fire('online');
  await env.server.until(() => env.server.connections[0]?.frames[0], 5000, 'a socket');
  await statusReached(env.client, 'open');
  t.equal(env.clock.now, 0, 'no fake time passed');
});

t.test('a hidden page becoming visible with a dead socket reconnects', async (t) => {
  const env = await setup(t);
  const first = await connected(env);
  env.document.becomes('hidden');
  first.socket.close(1012);
  await statusReached(env.client, 'reconnecting');

  env.document.becomes('hidden'); // still hidden: another change that is not a return
  t.equal(env.attempts(), 1, 'no attempt while the page stays hidden');
  env.document.becomes('visible');
  t.equal(env.attempts(), 2, 'the attempt started at once');
  await env.server.until(() => env.server.connections[1]?.frames[0], 5000, 'a second socket');
  await statusReached(env.client, 'open');
  t.equal(env.clock.now, 0, 'no fake time passed');
});

t.test('visible with a live socket opens no second one, and pings the one it has', async (t) => {
  const env = await setup(t);
  const conn = await connected(env);
  env.document.becomes('hidden');
  env.document.becomes('visible');
  t.equal(env.attempts(), 1, 'no second attempt');
  await env.server.until(() => conn.frames.some((f) => f.type === 'ping'), 5000, 'a ping before any ping interval passed');
  t.equal(env.clock.now, 0);
  env.window.fire('online');
  t.equal(env.attempts(), 1, 'online with a live socket: no second attempt either');
  t.equal(env.server.connections.length, 1);
  t.equal(env.server.tokenRequests.length, 1);
  t.equal(env.client.status, 'open');
});

t.test('a socket still connecting (token on its way) is not doubled by online or visible', async (t) => {
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  const env = await setup(t, { fetch: async (...args) => held.then(() => fetch(...args)) });
  env.client.connect();
  t.equal(env.attempts(), 1);
  env.window.fire('online');
  env.document.becomes('visible');
  t.equal(env.attempts(), 1, 'no second attempt while the first fetches its token');
  release();
  await env.server.until(() => env.server.connections[0]?.frames[0], 5000, 'the socket');
  await statusReached(env.client, 'open');
  t.equal(env.server.tokenRequests.length, 1);
  t.equal(env.server.connections.length, 1);
});

t.test('after a 4003 close nothing reconnects, and the listeners are gone', async (t) => {
  const env = await setup(t);
  const conn = await connected(env);
  t.same([env.window.listening.get('online'), env.document.listening.get('visibilitychange')], [1, 1], 'listening while connected');
  conn.socket.close(4003, 'revoked');
  await statusReached(env.client, 'closed');
  t.same([env.window.listening.get('online'), env.document.listening.get('visibilitychange')], [0, 0], 'listeners removed');

  env.window.fire('online');
  env.document.becomes('hidden');
  env.document.becomes('visible');
  t.equal(env.attempts(), 1, 'no attempt');
  await env.clock.tickAsync(120_000);
  t.equal(env.server.tokenRequests.length, 1);
  t.equal(env.server.connections.length, 1);
  t.equal(env.client.status, 'closed');
});

t.test('after close() nothing reconnects; connect() listens again', async (t) => {
  const env = await setup(t);
  const first = await connected(env);
  first.socket.close(1012);
  await statusReached(env.client, 'reconnecting');
  env.client.close();
  t.same([env.window.listening.get('online'), env.document.listening.get('visibilitychange')], [0, 0], 'listeners removed');
  env.window.fire('online');
  env.document.becomes('visible');
  t.equal(env.attempts(), 1, 'no attempt after close()');
  t.equal(env.clock.countTimers(), 0, 'no retry left either');

  env.client.connect();
  await env.server.until(() => env.server.connections[1]?.frames[0] && env.server.connections[1], 5000, 'a new socket');
  await statusReached(env.client, 'open');
  env.server.connections[1]!.socket.close(1012);
  await statusReached(env.client, 'reconnecting');
  env.window.fire('online');
  await env.server.until(() => env.server.connections[2]?.frames[0], 5000, 'a third socket, from online');
  t.equal(env.clock.now, 0, 'no fake time passed');
});

t.test('without a window or document (Node), nothing is listened to', async (t) => {
  const env = await setup(t, { window: undefined, document: undefined });
  t.equal(typeof (globalThis as { addEventListener?: unknown }).addEventListener, 'undefined', 'Node has no global listeners');
  await connected(env);
  t.equal(env.window.listening.size, 0, 'the fakes were not given');
  t.equal(env.client.status, 'open', 'and the client works without them');
});
