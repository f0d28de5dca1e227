import { metricValue, simpleJwtAccessToken, TestSocket, waitFor } from '@parking-realtime/testing';
import t from 'tap';
import { runLocalStack } from './support/local-stack.js';

// `npm start` with nginx's per-address limits made small through its NGINX_*
// variables (per minute, so no refill happens during the test): the deployed
// numbers only differ in size.
const JWT_SECRET = 'limits-jwt-secret-that-is-long-enough-0123';
const stack = await runLocalStack({
  JWT_SECRET,
  SERVICE_JWT_SECRET: 'limits-service-secret-long-enough-0123456',
  TOKEN_RATE_LIMIT_PER_USER: '1000',
  NGINX_API_RATE: '1r/m',
  NGINX_API_BURST: '4',
  NGINX_WS_UPGRADE_RATE: '1r/m',
  NGINX_WS_UPGRADE_BURST: '50',
  NGINX_SOCKETS_PER_ADDRESS: '3',
});
const authTokenUrl = `http://127.0.0.1:${stack.ports.authToken}`;
const sockets: TestSocket[] = [];
t.teardown(async () => {
  await Promise.all(sockets.map((s) => s.close()));
  await stack.stop();
});

const tokensIssued = async () => metricValue(await (await fetch(`${authTokenUrl}/metrics`)).text(), 'ws_tokens_issued_total');

async function wsToken(userId: number): Promise<string> {
  // Straight to auth-token: these tokens are for the upgrade limits, not the /api/user/ ones.
  const res = await fetch(`${authTokenUrl}/api/user/ws-token/`, {
    headers: { authorization: `Bearer ${simpleJwtAccessToken(JWT_SECRET, userId)}` },
  });
  return ((await res.json()) as { ws_token: string }).ws_token;
}

t.test('past its burst (NGINX_API_RATE, NGINX_API_BURST), an address gets 429 from nginx on /api/user/, before auth-token sees the request', async (t) => {
  const issuedBefore = await tokensIssued();
  const statuses: number[] = [];
  let refusal: Response | undefined;
  for (let i = 0; i < 8; i++) {
    const res = await fetch(`${stack.url}/api/user/ws-token/`, { headers: { authorization: `Bearer ${simpleJwtAccessToken(JWT_SECRET, 1)}` } });
    statuses.push(res.status);
    if (res.status === 429) refusal = res;
    else await res.arrayBuffer();
  }
  t.same(statuses, [200, 200, 200, 200, 200, 429, 429, 429], 'one request plus a burst of four, then 429');
  t.equal(refusal?.headers.get('content-type'), 'application/json');
  t.ok(refusal?.headers.get('retry-after'), 'with Retry-After');
  t.same(await refusal?.json(), { code: 'rate_limited', message: 'Too many requests from this address; retry shortly' });
  t.equal((await tokensIssued()) - issuedBefore, 5, 'the refused requests never reached auth-token');
});

t.test('past its socket cap (NGINX_SOCKETS_PER_ADDRESS), an address gets 429 on the upgrade and its open sockets keep working', async (t) => {
  const wsUrl = async () => `${stack.url.replace('http', 'ws')}/ws/notifications/?token=${await wsToken(2)}`;
  for (let i = 0; i < 3; i++) {
    const socket = await TestSocket.connect(await wsUrl());
    sockets.push(socket);
    await socket.subscribe(['parking_lot']);
  }
  const refused = await TestSocket.refused(await wsUrl());
  t.equal(refused.status, 429, 'the fourth socket from the address is refused');
  sockets.at(-1)!.send({ type: 'ping' });
  t.equal((await sockets.at(-1)!.nextOfType('pong')).type, 'pong', 'the open sockets still answer');
  await sockets.pop()!.close();
  // The freed slot can be taken again once nginx has finished with the closed connection.
  const again = await waitFor(
    async () => {
      try {
        return await TestSocket.connect(await wsUrl());
      } catch (err) {
        if ((err as { status?: number }).status !== 429) throw err;
        return undefined;
      }
    },
    10_000,
    'a socket to be accepted after one closed',
  );
  sockets.push(again);
  t.pass('a socket is accepted again after one closed');
});
