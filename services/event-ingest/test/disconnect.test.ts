import { spawnSync } from 'node:child_process';
import { CONTROL_CHANNEL, createRedis } from '@parking-realtime/server';
import { REPO_ROOT, serviceJwt, waitFor } from '@parking-realtime/testing';
import t from 'tap';
import { SERVICE_SECRET as SECRET, startIngestApp } from './support/ingest-app.js';

const ingest = await startIngestApp();
const { app, redisServer } = ingest;
const listener = createRedis(redisServer.url, { name: 'listener' });
const heard: unknown[] = [];
listener.on('message', (_channel: string, message: string) => heard.push(JSON.parse(message)));
await listener.subscribe(CONTROL_CHANNEL);
t.teardown(async () => {
  listener.disconnect();
  await ingest.close();
});

const disconnect = (body: unknown, scope: string) =>
  app.inject({ method: 'POST', url: '/internal/users/disconnect', headers: { authorization: `Bearer ${serviceJwt(SECRET, scope)}` }, payload: body as object });

t.test('a service with users:disconnect sends a disconnect to every notifier', async (t) => {
  const res = await disconnect({ user_id: 42 }, 'users:disconnect');
  t.equal(res.statusCode, 200);
  t.same(res.json(), { notifiers: 1 }, 'one subscriber (this test) heard it');
  await waitFor(() => heard.length === 1);
  t.same(heard[0], { type: 'disconnect_user', user_id: '42' });
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
  t.same(JSON.parse(run.stdout), { user_id: 'u-7', notifiers: 1 });
  await waitFor(() => heard.length === before + 1);
  t.same(heard.at(-1), { type: 'disconnect_user', user_id: 'u-7' });
  const usage = spawnSync(process.execPath, ['--conditions=pr-source', '--import', 'tsx', 'services/event-ingest/src/disconnect-cli.ts'], { cwd: REPO_ROOT, encoding: 'utf8' });
  t.equal(usage.status, 2);
});
