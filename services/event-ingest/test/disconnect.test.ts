import { spawnSync } from 'node:child_process';
import { CONTROL_CHANNEL, createRedis, disconnectedAt, TokenStore } from '@parking-realtime/redis';
import { REPO_ROOT, serviceJwt, waitFor } from '@parking-realtime/testing';
import t from 'tap';
import { SERVICE_SECRET as SECRET, startIngestApp } from './support/ingest-app.js';

const ingest = await startIngestApp();
const { app, redisServer } = ingest;
const listener = createRedis(redisServer.url, { name: 'listener' });
const listenerCommands = createRedis(redisServer.url, { name: 'commands' });
const heard: unknown[] = [];
listener.on('message', (_channel: string, message: string) => heard.push(JSON.parse(message)));
await listener.subscribe(CONTROL_CHANNEL);
t.teardown(async () => {
  listener.disconnect();
  listenerCommands.disconnect();
  await ingest.close();
});

const disconnect = (body: unknown, scope: string) =>
  app.inject({ method: 'POST', url: '/internal/users/disconnect', headers: { authorization: `Bearer ${serviceJwt(SECRET, scope)}` }, payload: body as object });

t.test('a service with users:disconnect revokes the user\'s ws tokens, marks the disconnect and tells every notifier', async (t) => {
  const tokens = new TokenStore(listenerCommands, 1800);
  await Promise.all([tokens.issue('42'), tokens.issue('42'), tokens.issue('43')]);
  const res = await disconnect({ user_id: 42 }, 'users:disconnect');
  t.equal(res.statusCode, 200);
  const body = res.json();
  t.match(body, { user_id: '42', revoked_tokens: 2, notifiers: 1 }, 'both of its tokens, and one subscriber (this test) heard it');
  t.equal(await disconnectedAt(listenerCommands, '42'), body.disconnected_at, 'the mark is in Redis');
  t.equal(await disconnectedAt(listenerCommands, '43'), undefined, 'no other user is marked');
  t.equal(await tokens.revokeAll('43'), 1, "another user's token is untouched");
  await waitFor(() => heard.length === 1);
  t.same(heard[0], { type: 'disconnect_user', user_id: '42', disconnected_at: body.disconnected_at });
});

t.test('without the scope: 403; without a token: 401; a bad body: 400', async (t) => {
  t.equal((await disconnect({ user_id: 1 }, 'events:publish')).statusCode, 403);
  t.equal((await app.inject({ method: 'POST', url: '/internal/users/disconnect', payload: { user_id: 1 } })).statusCode, 401);
  const bad = await disconnect({ user: 1 }, 'users:disconnect');
  t.equal(bad.statusCode, 400);
  t.equal(bad.json().code, 'invalid_request');
});

t.test('the CLI does the same through Redis', async (t) => {
  const before = heard.length;
  const run = spawnSync(process.execPath, ['--conditions=pr-source', '--import', 'tsx', 'services/event-ingest/src/disconnect-cli.ts', 'u-7'], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH, REDIS_URL: redisServer.url },
    encoding: 'utf8',
  });
  t.equal(run.status, 0, run.stderr);
  const printed = JSON.parse(run.stdout);
  t.match(printed, { user_id: 'u-7', revoked_tokens: 0, notifiers: 1, disconnected_at: Number }, 'it reports what it did');
  await waitFor(() => heard.length === before + 1);
  t.same(heard.at(-1), { type: 'disconnect_user', user_id: 'u-7', disconnected_at: printed.disconnected_at });
  const usage = spawnSync(process.execPath, ['--conditions=pr-source', '--import', 'tsx', 'services/event-ingest/src/disconnect-cli.ts'], { cwd: REPO_ROOT, encoding: 'utf8' });
  t.equal(usage.status, 2);
});
