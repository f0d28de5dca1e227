import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { DEV_SECRETS } from '@parking-realtime/runtime';
import { freePort, metricValue, serviceJwt, simpleJwtAccessToken, TestSocket, waitFor } from '@parking-realtime/testing';
import t from 'tap';
import { printFigures } from '../support/cluster.js';
import { broadcastListeners, runKillScenario, type ScenarioClient, startClients } from '../support/kill-scenario.js';
import { ComposeProject, type ContainerState, IMAGES_ENV, readEnvFile, ROOT } from './compose-project.js';

// `npm run test:compose` (infra/containers/test-compose.sh), not e2e's `npm
// test`: the file is not named *.test.ts, so the e2e glob leaves it out. It
// needs a container engine; the script prepares one first.
//
// docker-compose.yml for real: built and started with three notifiers under a
// project name of its own, nginx published on a free port of 127.0.0.1. Then
// the README walk-through through nginx, sockets over all three notifiers, one
// notifier container killed under a stream of broadcasts (its clients resume
// on the others, nothing lost), the restart policy bringing it back, and a
// fourth replica added to the running stack. `down -v` at the end, always.

// Issue #18's scenario, on the default history: it must reach back past the outage at the rated load.
const CLIENTS = 100;
const EVENTS = 1000;
const PER_SECOND = 200;
const TAG = 'compose-kill';
const NOTIFIER_PORT = 8002;

const hostPort = await freePort();
const url = `http://127.0.0.1:${hostPort}`;
const wsBase = url.replace('http', 'ws');
// One fixed name (test-compose.sh sets it): a run killed before its teardown is
// cleaned up by the script, or by the next run's first `down`.
const project = new ComposeProject(process.env.COMPOSE_TEST_PROJECT ?? 'pr-compose-test', {
  ...readEnvFile(IMAGES_ENV),
  NGINX_HOST_PORT: `127.0.0.1:${hostPort}`,
  // No secrets given: development mode with the development secrets, as a
  // developer's first `docker compose up`; `npm run dev-jwt` signs with them.
  DEMO_MODE: '1',
  LOG_LEVEL: 'warn',
});

const clients: ScenarioClient[] = [];
const sockets: TestSocket[] = [];
t.teardown(async () => {
  await Promise.all(clients.map((c) => c.client.stop()));
  await Promise.all(sockets.map((s) => s.close()));
  await project.down();
});

/** `npm run -s dev-jwt -- <args>`, as the README has it. */
function devJwt(...args: string[]): string {
  const result = spawnSync('npm', ['run', '-s', 'dev-jwt', '--', ...args], { cwd: ROOT, encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } });
  if (result.status !== 0) throw new Error(`npm run dev-jwt failed: ${result.stderr}`);
  return result.stdout.trim();
}

async function wsToken(jwt: string): Promise<string> {
  const res = await fetch(`${url}/api/user/ws-token/`, { headers: { authorization: `Bearer ${jwt}` } });
  if (res.status !== 200) throw new Error(`token via nginx: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { ws_token: string }).ws_token;
}

const userSocket = async (userId: number, types = ['reservation', 'parking_lot']) => {
  const socket = await TestSocket.connect(`${wsBase}/ws/notifications/?token=${await wsToken(simpleJwtAccessToken(DEV_SECRETS.JWT_SECRET, userId))}`);
  sockets.push(socket);
  await socket.subscribe(types);
  return socket;
};

/** POST /api/events/ through nginx; the HTTP status, 0 for no answer. */
async function post(event: Record<string, unknown>, jwt = serviceJwt(DEV_SECRETS.SERVICE_JWT_SECRET)): Promise<number> {
  try {
    const res = await fetch(`${url}/api/events/`, {
      method: 'POST',
      headers: { authorization: `Bearer ${jwt}`, 'content-type': 'application/json' },
      body: JSON.stringify(event),
    });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}

const notifiers = async () => project.inspect(await project.containers('notifier'));
const openOn = async (c: ContainerState) => metricValue(await project.metrics(c.id, NOTIFIER_PORT), 'ws_connections_open');

t.test(`${project.flavour} up --build --scale notifier=3: every container healthy`, async (t) => {
  await project.down(); // a run killed before its teardown leaves nothing in the way
  const began = performance.now();
  await project.compose(['build'], 1_200_000, 'compose-build.log');
  const built = performance.now();
  await project.compose(['up', '-d', '--scale', 'notifier=3'], 600_000, 'compose-up.log');
  const containers = await project.waitHealthy(300_000);
  const healthy = performance.now();
  printFigures('compose: build and up', {
    compose: project.flavour,
    images: readEnvFile(IMAGES_ENV),
    buildS: Math.round((built - began) / 100) / 10,
    upUntilHealthyS: Math.round((healthy - built) / 100) / 10,
  });
  const services = containers.map((c) => c.name.replace(new RegExp(`^${project.name}[_-]`), '').replace(/[_-]\d+$/, '')).sort();
  t.same(services, ['auth-token', 'event-ingest', 'nginx', 'notifier', 'notifier', 'notifier', 'redis'], 'Redis, auth-token, event-ingest, three notifiers and nginx');
  t.ok(containers.every((c) => c.health === 'healthy'), 'all healthy');
});

t.test('the README walk-through through nginx: dev JWT, ws token, WebSocket, targeted and broadcast events', async (t) => {
  const page = await fetch(`${url}/`);
  t.equal(page.status, 200, 'nginx serves the demo page at /');
  t.match(await page.text(), /<script/, 'the built demo page');

  const login = await fetch(`${url}/api/user/demo-login/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"user_id":1}' });
  t.equal(login.status, 200, 'DEMO_MODE=1: the demo login answers');

  const jwt = devJwt('1');
  const tokenRes = await fetch(`${url}/api/user/ws-token/`, { headers: { authorization: `Bearer ${jwt}` } });
  t.equal(tokenRes.status, 200, 'GET /api/user/ws-token/ with the dev JWT');
  const token = (await tokenRes.json()) as { ws_token: string; expires_in: number };
  t.equal(token.expires_in, 1800);

  // `npm run -s listen -- "ws://…/ws/notifications/?token=$WS_TOKEN"`, as a second terminal would.
  const listener = spawn('npm', ['run', '-s', 'listen', '--', `${wsBase}/ws/notifications/?token=${token.ws_token}`], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '' },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group: Ctrl-C reaches npm, its shell and the listener, as in a terminal.
    detached: true,
  });
  const exited = once(listener, 'exit');
  const ctrlC = () => {
    if (listener.exitCode === null && listener.signalCode === null) process.kill(-listener.pid!, 'SIGINT');
  };
  t.teardown(ctrlC);
  let printed = '';
  const printedLine = (pattern: RegExp) =>
    waitFor(() => printed.split('\n').find((line) => pattern.test(line)), 30_000, `the listener printing ${pattern}`);
  listener.stdout.on('data', (chunk: Buffer) => {
    printed += chunk.toString();
  });
  await printedLine(/"type":"subscribed"/);
  // Another user's socket: the targeted event is not for it.
  const other = await userSocket(2);

  const serviceJwtFromReadme = devJwt('--service');
  t.equal(
    await post({ type: 'parking_lot', message: 'Lot A: 12 free spots', data: { lot_id: 1, free: 12 } }, serviceJwtFromReadme),
    202,
    'a broadcast is accepted',
  );
  t.equal(
    await post(
      { type: 'reservation', message: 'New reservation created', data: { reservation_id: 123, status: 'active' }, user_ids: [1] },
      serviceJwtFromReadme,
    ),
    202,
    'a targeted event is accepted',
  );
  const broadcast = JSON.parse(await printedLine(/"notification_type":"parking_lot"/)) as Record<string, unknown>;
  t.match(broadcast, { type: 'notification', stream: 'all:parking_lot', message: 'Lot A: 12 free spots', data: { lot_id: 1, free: 12 } }, 'the listener prints the broadcast');
  const targeted = JSON.parse(await printedLine(/"notification_type":"reservation"/)) as Record<string, unknown>;
  t.match(
    targeted,
    { type: 'notification', stream: 'user:reservation', message: 'New reservation created', data: { reservation_id: 123, status: 'active' } },
    'and the event for user 1',
  );
  t.type(targeted.id, 'string', 'with its position to resume from');
  t.match(await other.nextOfType('notification', 30_000), { notification_type: 'parking_lot' }, "user 2 gets the broadcast");
  t.equal(
    await post({ type: 'reservation', message: 'for user 2', data: { n: 2 }, user_ids: [2] }, serviceJwtFromReadme),
    202,
  );
  t.match(await other.nextOfType('notification', 30_000), { notification_type: 'reservation', message: 'for user 2' }, 'user 2 gets its own event');
  t.notOk(other.notifications().some((n) => n.message === 'New reservation created'), "and never user 1's");
  ctrlC();
  const ended = await Promise.race([exited.then(() => 'ended'), new Promise((r) => setTimeout(() => r('still running 30 s later'), 30_000))]);
  t.equal(ended, 'ended', 'Ctrl-C ends the listener');
  await other.close();
});

t.test(`${CLIENTS} sockets through nginx spread over all three notifiers; one killed under ${EVENTS} broadcasts at ${PER_SECOND}/s: nothing lost, and it comes back`, async (t) => {
  clients.push(
    ...broadcastListeners(CLIENTS, EVENTS, async (i) => `${wsBase}/ws/notifications/?token=${await wsToken(simpleJwtAccessToken(DEV_SECRETS.JWT_SECRET, 5000 + i))}`),
  );
  await startClients(clients);

  const before = await notifiers();
  t.equal(before.length, 3, 'three notifier containers');
  // The walk-through's sockets may still be closing on their notifiers.
  let open: number[] = [];
  await waitFor(
    async () => {
      open = await Promise.all(before.map(openOn));
      return open.reduce((a, b) => a + b, 0) === CLIENTS;
    },
    30_000,
    `the ${CLIENTS} sockets, and no other, open on the notifiers`,
  ).catch(() => undefined);
  t.ok(
    open.every((n) => n > 0),
    `every notifier holds sockets (${open.join(', ')})`,
  );
  t.equal(
    open.reduce((a, b) => a + b, 0),
    CLIENTS,
    'and together all of them',
  );

  // One broadcast first: every socket, on every notifier, receives it.
  t.equal(await post({ type: 'parking_lot', message: 'to everyone', data: { tag: 'compose-all' } }), 202);
  for (const { client } of clients) {
    await client.waitUntil((c) => c.notifications.some((n) => (n.data as { tag?: string }).tag === 'compose-all'), 30_000, 'the first broadcast');
  }
  t.pass(`all ${CLIENTS} clients received the broadcast`);

  // The victim: the notifier holding the most sockets. Killed as a crash kills
  // it (SIGKILL to its process from outside): `docker kill` would count as an
  // explicit stop, which no restart policy undoes.
  const victimIndex = open.indexOf(Math.max(...open));
  const victim = before[victimIndex]!;
  const onVictim = open[victimIndex]!;
  let running = 0;
  let healthyAt = 0;
  const { figures, reconnected, killedAt } = await runKillScenario(t, {
    clients,
    events: EVENTS,
    perSecond: PER_SECOND,
    tag: TAG,
    // Acknowledged: answered 202 through nginx.
    send: async (seq) => (await post({ type: 'parking_lot', message: `lot ${seq}`, data: { tag: TAG, seq } })) === 202,
    kill: () => process.kill(victim.pid, 'SIGKILL'),
    // The restart is timed as it happens, before the clients' catching up is waited for.
    afterSending: async () => {
      running = await waitFor(
        async () => {
          const [now] = await project.inspect([victim.id]);
          return now && now.status === 'running' && now.restartCount > victim.restartCount ? performance.now() : undefined;
        },
        120_000,
        'the killed notifier container running again',
      );
      await waitFor(async () => (await project.inspect([victim.id]))[0]?.health === 'healthy', 120_000, 'the killed notifier healthy again');
      healthyAt = performance.now();
    },
    deliveryTimeoutMs: 120_000,
  });
  printFigures('compose: notifier container killed (SIGKILL), restart: unless-stopped', {
    ...figures,
    notifiers: open,
    onKilledNotifier: onVictim,
    reconnected,
    runningAgainAfterMs: Math.round(running - killedAt),
    healthyAgainAfterMs: Math.round(healthyAt - killedAt),
  });

  t.equal(reconnected, onVictim, `exactly the ${onVictim} clients of the killed notifier were cut off, and came back through nginx`);
  const [after] = await project.inspect([victim.id]);
  t.equal(after?.restartCount, victim.restartCount + 1, 'the restart policy restarted that same container, once');
  t.not(after?.pid, victim.pid, 'a new process');

  // nginx re-reads Docker's DNS: the container, back at its address, gets new sockets again.
  await waitFor(
    async () => {
      await userSocket(9000 + sockets.length, ['parking_lot']);
      return (await openOn(after!)) > 0;
    },
    60_000,
    'a new socket through nginx on the restarted notifier',
  );
  t.pass(`new sockets through nginx reach the restarted notifier (after ${sockets.length})`);
});

t.test('a fourth notifier added to the running stack (--scale notifier=4) gets sockets through the same nginx', async (t) => {
  const nginxBefore = await project.inspect(await project.containers('nginx'));
  const three = new Set((await notifiers()).map((c) => c.id));
  await project.compose(['up', '-d', '--no-recreate', '--scale', 'notifier=4'], 600_000, 'compose-scale.log');
  await project.waitHealthy(120_000);
  const four = await notifiers();
  t.equal(four.length, 4, 'four notifier containers');
  const newcomer = four.find((c) => !three.has(c.id));
  t.ok(newcomer, 'one of them new');
  await waitFor(
    async () => {
      await userSocket(9500 + sockets.length, ['parking_lot']);
      return (await openOn(newcomer!)) > 0;
    },
    60_000,
    'a new socket through nginx on the fourth notifier',
  );
  t.pass(`it gets new sockets (after ${sockets.length} sockets in all)`);
  const nginxAfter = await project.inspect(await project.containers('nginx'));
  t.same(
    nginxAfter.map((c) => [c.id, c.pid]),
    nginxBefore.map((c) => [c.id, c.pid]),
    'nginx was neither recreated nor restarted: it found the replica by itself',
  );
});
