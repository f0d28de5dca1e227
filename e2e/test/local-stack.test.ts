import { readFileSync } from 'node:fs';
import { serviceJwt, simpleJwtAccessToken, TestSocket, waitFor } from '@parking-realtime/testing';
import t from 'tap';
import { descendantsOf, type LocalStackRun, runLocalStack, serviceProcess, spawnLocalStack, stillRunning } from './support/local-stack.js';

// `npm start` as users run it (infra/local-stack/src/start.ts, on free ports):
// readiness from /readyz at any LOG_LEVEL, a service that dies is restarted
// while the others serve, Ctrl-C leaves nothing behind (also mid-restart), and
// nginx's limits come from NGINX_* variables.

const JWT_SECRET = 'local-stack-jwt-secret-that-is-long-enough';
const SERVICE_JWT_SECRET = 'local-stack-service-secret-long-enough-012';
const runs: LocalStackRun[] = [];
const sockets: TestSocket[] = [];
t.teardown(async () => {
  await Promise.all(sockets.map((s) => s.close()));
  await Promise.all(runs.map((r) => r.stop()));
});

async function start(env: Record<string, string> = {}): Promise<LocalStackRun> {
  const run = await runLocalStack({ JWT_SECRET, SERVICE_JWT_SECRET, ...env });
  runs.push(run);
  return run;
}

async function wsToken(run: LocalStackRun, userId: number): Promise<Response> {
  return fetch(`${run.url}/api/user/ws-token/`, { headers: { authorization: `Bearer ${simpleJwtAccessToken(JWT_SECRET, userId)}` } });
}

async function subscribedSocket(run: LocalStackRun, userId: number): Promise<TestSocket> {
  const res = await wsToken(run, userId);
  if (res.status !== 200) throw new Error(`token via nginx: ${res.status}`);
  const { ws_token } = (await res.json()) as { ws_token: string };
  const socket = await TestSocket.connect(`${run.url.replace('http', 'ws')}/ws/notifications/?token=${ws_token}`);
  sockets.push(socket);
  await socket.subscribe(['parking_lot', 'reservation']);
  return socket;
}

async function postEvent(run: LocalStackRun, event: Record<string, unknown>): Promise<number> {
  const res = await fetch(`${run.url}/api/events/`, {
    method: 'POST',
    headers: { authorization: `Bearer ${serviceJwt(SERVICE_JWT_SECRET)}`, 'content-type': 'application/json' },
    body: JSON.stringify(event),
  });
  await res.arrayBuffer();
  return res.status;
}

const tagged = (tag: string) => (f: { type: string; data?: unknown }) => f.type === 'notification' && (f.data as { tag?: string }).tag === tag;

/** The stack's process tree, then SIGINT (Ctrl-C) to the start process alone; resolves with what still runs once it has exited. */
async function interrupt(run: LocalStackRun, alsoWatch: Array<{ pid: number; startTime: string; ppid: number; command: string }> = []) {
  const tree = [...descendantsOf(run.pid), ...alsoWatch];
  const exit = await run.stop();
  return { exit, tree, left: tree.filter(stillRunning) };
}

t.test('with LOG_LEVEL=warn the stack comes up (readiness from /readyz) and serves the walk-through through nginx', async (t) => {
  const run = await start({ LOG_LEVEL: 'warn' });
  t.notMatch(run.stdout(), /"level":30/, 'the services logged nothing at info, so no listening line was there to read');
  const socket = await subscribedSocket(run, 1);
  t.equal(await postEvent(run, { type: 'reservation', message: 'held', data: { tag: 'warn-targeted' }, user_ids: [1] }), 202);
  t.equal(await postEvent(run, { type: 'parking_lot', message: 'lot', data: { tag: 'warn-broadcast' } }), 202);
  t.match(await socket.next(tagged('warn-targeted'), 10_000), { stream: 'user:reservation' }, 'the targeted event arrives');
  t.match(await socket.next(tagged('warn-broadcast'), 10_000), { stream: 'all:parking_lot' }, 'and the broadcast');
});

/** The local addresses (hex, as /proc/net shows them) listening on `port`. */
function listeningAddresses(port: number): string[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  return ['/proc/net/tcp', '/proc/net/tcp6'].flatMap((file) =>
    readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((line) => line.trim().split(/\s+/))
      // local_address is `ADDR:PORT`; state 0A is LISTEN.
      .filter(([, local, , state]) => state === '0A' && local!.endsWith(`:${hexPort}`))
      .map(([, local]) => local!.split(':')[0]!),
  );
}

t.test('the services listen on 127.0.0.1 only: nginx is the one way in from elsewhere', async (t) => {
  const run = runs[0]!;
  for (const port of [run.ports.authToken, run.ports.eventIngest, ...run.ports.notifiers]) {
    t.same(listeningAddresses(port), ['0100007F'], `:${port} listens on 127.0.0.1 alone`);
  }
});

t.test('a service that dies is restarted on its port, one line each, while the others keep serving', async (t) => {
  const run = runs[0]!;
  const socket = await subscribedSocket(run, 2);
  const victim = serviceProcess(run.pid, 'auth-token', run.ports.authToken)!;
  const others = run.ports.notifiers.map((p) => serviceProcess(run.pid, 'notifier', p)!);
  others.push(serviceProcess(run.pid, 'event-ingest', run.ports.eventIngest)!);
  process.kill(victim.pid, 'SIGKILL');
  const died = await run.line(new RegExp(`^auth-token on :${run.ports.authToken} died \\(SIGKILL, pid ${victim.pid}\\); restarting it in ([\\d.]+) s`));
  t.equal(died[1], '0.5', 'the first restart waits half a second');
  // auth-token is down or coming back: events still go in and out.
  t.equal(await postEvent(run, { type: 'parking_lot', message: 'lot', data: { tag: 'while-auth-token-restarts' } }), 202, 'event-ingest takes events');
  await socket.next(tagged('while-auth-token-restarts'), 10_000);
  t.pass('and the open socket gets them');
  const back = await run.line(new RegExp(`^auth-token on :${run.ports.authToken} is back \\(pid (\\d+)\\), [\\d.]+ s after it died \\(restart 1\\)$`));
  t.not(Number(back[1]), victim.pid, 'a new process');
  t.equal((await fetch(`http://127.0.0.1:${run.ports.authToken}/readyz`)).status, 200, 'ready on the same port');
  t.equal((await wsToken(run, 2)).status, 200, 'tokens through nginx again');
  t.ok(others.every(stillRunning), 'the notifiers and event-ingest were left alone');
  t.equal(run.stderr().match(/^auth-token on :\d+ died /gm)?.length, 1, 'one line for the death');
  t.equal(run.stderr().match(/^auth-token on :\d+ is back /gm)?.length, 1, 'one for the restart');
});

t.test('Ctrl-C while a notifier waits to be restarted: everything stops, nothing is left running', async (t) => {
  const run = runs[0]!;
  await Promise.all(sockets.splice(0).map((s) => s.close()));
  const victim = serviceProcess(run.pid, 'notifier', run.ports.notifiers[0]!)!;
  process.kill(victim.pid, 'SIGKILL');
  await run.line(new RegExp(`^notifier on :${run.ports.notifiers[0]} died \\(SIGKILL`));
  const { exit, tree, left } = await interrupt(run);
  t.equal(exit.code, 0, 'the start process exits 0');
  t.ok(tree.some((p) => p.command.startsWith('nginx: worker')), `the tree held nginx's workers (${tree.length} processes)`);
  t.ok(tree.some((p) => p.command.startsWith('redis-server')), 'and Redis');
  t.same(left, [], 'none of them runs on');
  t.notMatch(run.stderr(), /^notifier on :\d+ is back/m, 'the notifier was not started again once stopping');
});

t.test('Ctrl-C while a restarted notifier is starting: it is stopped too; NGINX_* variables set the rendered limits', async (t) => {
  const limits = {
    NGINX_API_RATE: '7r/m',
    NGINX_API_BURST: '3',
    NGINX_API_CONNECTIONS_PER_ADDRESS: '11',
    NGINX_WS_UPGRADE_RATE: '13r/s',
    NGINX_WS_UPGRADE_BURST: '17',
    NGINX_SOCKETS_PER_ADDRESS: '19',
  };
  const run = await start(limits);
  const config = readFileSync(run.stderr().match(/nginx config +(\S+)/)![1]!, 'utf8');
  t.match(config, /zone=api_per_address:10m rate=7r\/m;/, 'NGINX_API_RATE');
  t.match(config, /limit_req zone=api_per_address burst=3 nodelay;/, 'NGINX_API_BURST');
  t.equal(config.match(/limit_conn api_connections_per_address 11;/g)?.length, (config.match(/location \/api\//g) ?? []).length, 'NGINX_API_CONNECTIONS_PER_ADDRESS, on every /api/ location');
  t.match(config, /zone=ws_upgrades_per_address:10m rate=13r\/s;/, 'NGINX_WS_UPGRADE_RATE');
  t.match(config, /limit_req zone=ws_upgrades_per_address burst=17 nodelay;/, 'NGINX_WS_UPGRADE_BURST');
  t.match(config, /limit_conn sockets_per_address 19;/, 'NGINX_SOCKETS_PER_ADDRESS');
  t.match(run.stderr(), /nginx limits +\/api\/user\/ 7r\/m burst 3, 11 \/api\/ connections, upgrades 13r\/s burst 17, 19 sockets per address/, 'and the banner says so');

  const port = run.ports.notifiers[1]!;
  const victim = serviceProcess(run.pid, 'notifier', port)!;
  process.kill(victim.pid, 'SIGKILL');
  await run.line(new RegExp(`^notifier on :${port} died \\(SIGKILL`));
  // The new process exists well before it answers /readyz (tsx, Redis): catch it then.
  const starting = await waitFor(() => serviceProcess(run.pid, 'notifier', port), 20_000, 'the restarted notifier to be spawned');
  const { exit, tree, left } = await interrupt(run, [starting]);
  t.equal(exit.code, 0, 'the start process exits 0');
  t.ok(tree.some((p) => p.pid === starting.pid), 'the tree held the notifier being restarted');
  t.same(left, [], 'nothing runs on, that notifier included');
});

t.test('a bad NGINX_* value is refused at start-up, naming the variable, before anything starts', async (t) => {
  const run = spawnLocalStack({ NGINX_API_BURST: 'lots', NGINX_WS_UPGRADE_RATE: '50 per second' });
  const exit = await run.exited;
  t.equal(exit.code, 1, 'exit 1');
  t.match(run.stderr(), /Invalid environment: .*NGINX_API_BURST: must be a whole number \(got "lots"\)/, 'names NGINX_API_BURST and its value');
  t.match(run.stderr(), /NGINX_WS_UPGRADE_RATE: .*\(got "50 per second"\)/, 'and NGINX_WS_UPGRADE_RATE with its value, in the same message');
  t.notMatch(run.stderr(), /is running/, 'nothing was started');
});
