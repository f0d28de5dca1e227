import { metricValue, serviceJwt, simpleJwtAccessToken, TestSocket, waitFor } from '@parking-realtime/testing';
import t from 'tap';
import { printFigures } from '../support/cluster.js';
import { broadcastListeners, runKillScenario, type ScenarioClient, startClients } from '../support/kill-scenario.js';
import { runLocalStack, serviceProcess, stillRunning } from '../support/local-stack.js';

// Issue #14's Done-when, under `npm start` itself: 100 clients through nginx's
// port receive 1,000 broadcasts sent at 200/s; one notifier is killed with
// kill -9 halfway. Nothing is lost, duplicated or reordered, and the stack
// brings the killed notifier back on its port.

const CLIENTS = 100;
const EVENTS = 1000;
const PER_SECOND = 200;
const TAG = 'npm-start-kill';
const JWT_SECRET = 'local-stack-kill-jwt-secret-long-enough-01';
const SERVICE_JWT_SECRET = 'local-stack-kill-service-secret-long-enough';

const stack = await runLocalStack({
  JWT_SECRET,
  SERVICE_JWT_SECRET,
  // Readiness comes from /readyz, so the services can be this quiet.
  LOG_LEVEL: 'warn',
  // Every client fetches its tokens from 127.0.0.1, one address.
  TOKEN_RATE_LIMIT_PER_IP: '100000',
});
const clients: ScenarioClient[] = [];
const extraSockets: TestSocket[] = [];
t.teardown(async () => {
  await Promise.all(clients.map((c) => c.client.stop()));
  await Promise.all(extraSockets.map((s) => s.close()));
  await stack.stop();
});

const wsBase = stack.url.replace('http', 'ws');
async function wsToken(userId: number): Promise<string> {
  const res = await fetch(`${stack.url}/api/user/ws-token/`, { headers: { authorization: `Bearer ${simpleJwtAccessToken(JWT_SECRET, userId)}` } });
  if (res.status !== 200) throw new Error(`token via nginx: ${res.status}`);
  return ((await res.json()) as { ws_token: string }).ws_token;
}

/** POST /api/events/ through nginx; the HTTP status, 0 for no answer. */
async function post(seq: number): Promise<number> {
  try {
    const res = await fetch(`${stack.url}/api/events/`, {
      method: 'POST',
      headers: { authorization: `Bearer ${serviceJwt(SERVICE_JWT_SECRET)}`, 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'parking_lot', message: `lot ${seq}`, data: { tag: TAG, seq } }),
    });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}

const openOn = async (port: number) => metricValue(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text(), 'ws_connections_open');

t.test(`npm start, kill -9 one of two notifiers halfway: ${CLIENTS} clients, ${EVENTS} broadcasts at ${PER_SECOND}/s, nothing lost, twice or out of order; the notifier is back`, async (t) => {
  clients.push(...broadcastListeners(CLIENTS, EVENTS, async (i) => `${wsBase}/ws/notifications/?token=${await wsToken(5000 + i)}`));
  await startClients(clients);

  const [victimPort, survivorPort] = stack.ports.notifiers as [number, number];
  const victim = serviceProcess(stack.pid, 'notifier', victimPort);
  const others = [
    serviceProcess(stack.pid, 'notifier', survivorPort),
    serviceProcess(stack.pid, 'auth-token', stack.ports.authToken),
    serviceProcess(stack.pid, 'event-ingest', stack.ports.eventIngest),
  ];
  t.ok(victim && others.every(Boolean), 'every service process found under the start process');
  const onVictim = await openOn(victimPort);
  t.equal(onVictim + (await openOn(survivorPort)), CLIENTS, 'nginx spread the sockets over both notifiers');

  const { figures, reconnected, killedAt } = await runKillScenario(t, {
    clients,
    events: EVENTS,
    perSecond: PER_SECOND,
    tag: TAG,
    // Acknowledged: answered 202 through nginx.
    send: async (seq) => (await post(seq)) === 202,
    kill: () => process.kill(victim!.pid, 'SIGKILL'),
    deliveryTimeoutMs: 60_000,
  });

  const back = await stack.line(new RegExp(`notifier on :${victimPort} is back \\(pid (\\d+)\\), ([\\d.]+) s after it died`), 60_000);
  const backAfterMs = Math.round(performance.now() - killedAt);
  const ready = await fetch(`http://127.0.0.1:${victimPort}/readyz`);
  printFigures('npm start: notifier killed (kill -9)', {
    ...figures,
    onKilledNotifier: onVictim,
    reconnected,
    backAfterS: Number(back[2]),
    backSeenAfterMs: backAfterMs,
  });

  t.ok(onVictim > 0, `${onVictim} clients were on the killed notifier`);
  t.equal(reconnected, onVictim, 'exactly those were cut off, and came back through nginx');
  t.match(stack.stderr(), new RegExp(`notifier on :${victimPort} died \\(SIGKILL, pid ${victim!.pid}\\); restarting it in`), 'the death is logged');
  t.equal(ready.status, 200, 'the killed notifier answers /readyz on its port again');
  const revived = serviceProcess(stack.pid, 'notifier', victimPort);
  t.equal(revived?.pid, Number(back[1]), 'a new process, the one the stack reported');
  t.not(revived?.pid, victim!.pid, 'not the killed one');
  t.ok(others.every((p) => stillRunning(p!)), 'the other notifier, auth-token and event-ingest were never restarted');

  // nginx left it out after the refused connections; a few seconds on, new sockets reach it again.
  await waitFor(
    async () => {
      const socket = await TestSocket.connect(`${wsBase}/ws/notifications/?token=${await wsToken(9000 + extraSockets.length)}`);
      extraSockets.push(socket);
      return (await openOn(victimPort)) > 0;
    },
    20_000,
    'a new socket through nginx on the restarted notifier',
  );
  t.pass(`new sockets through nginx reach the restarted notifier (after ${extraSockets.length})`);
});
