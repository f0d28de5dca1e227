import { createRedis, QUEUE_PREFIX } from '@parking-realtime/redis';
import { oversizedFrames, serviceJwt, simpleJwtAccessToken, TestSocket, unsignedJwt, waitFor } from '@parking-realtime/testing';
import { Queue } from 'bullmq';
import fc from 'fast-check';
import t from 'tap';
import { Cluster } from './support/cluster.js';

// The same secrets Cluster gives the services.
const JWT_SECRET = 'fault-jwt-secret-that-is-long-enough-0123';
const SERVICE_JWT_SECRET = 'fault-service-secret-long-enough-01234567';
const cluster = await Cluster.start({ notifiers: 1, env: { WS_MAX_FRAMES_PER_SECOND: '1000' } });
const queue = new Queue('notifications', { connection: { url: cluster.redis.url }, prefix: QUEUE_PREFIX });
t.teardown(async () => {
  await queue.close();
  await cluster.stop();
});
const notifier = cluster.notifiers[0]!;
const wsUrl = (token: string) => `${notifier.url.replace('http', 'ws')}/ws/notifications/?token=${encodeURIComponent(token)}`;

// ---------------------------------------------------------------- token endpoint
const now = () => Math.floor(Date.now() / 1000);
const tokenCases: Array<[string, Record<string, string>, number, string]> = [
  ['no Authorization', {}, 401, 'auth_missing'],
  ['empty Authorization', { authorization: '' }, 401, 'auth_missing'],
  ['Bearer with nothing', { authorization: 'Bearer ' }, 401, 'auth_malformed'],
  ['Basic scheme', { authorization: 'Basic dXNlcjpwYXNz' }, 401, 'auth_malformed'],
  ['two tokens', { authorization: 'Bearer a.b.c d.e.f' }, 401, 'auth_malformed'],
  ['one segment', { authorization: 'Bearer abc' }, 401, 'auth_malformed'],
  ['non-base64 segments', { authorization: 'Bearer !!.??.**' }, 401, 'auth_malformed'],
  ['JSON header that is not an object', { authorization: `Bearer ${Buffer.from('"x"').toString('base64url')}.e30.sig` }, 401, 'auth_malformed'],
  ['a 9 KiB token', { authorization: `Bearer ${'a'.repeat(9216)}` }, 401, 'auth_malformed'],
  ['alg none', { authorization: `Bearer ${unsignedJwt({ user_id: 1, token_type: 'access', exp: now() + 60 })}` }, 401, 'auth_invalid_signature'],
  ['wrong secret', { authorization: `Bearer ${simpleJwtAccessToken('wrong-secret-that-is-long-enough-0123456', 1)}` }, 401, 'auth_invalid_signature'],
  ['expired', { authorization: `Bearer ${simpleJwtAccessToken(JWT_SECRET, 1, {}, -120)}` }, 401, 'auth_expired'],
  ['no exp (valid forever)', { authorization: `Bearer ${simpleJwtAccessToken(JWT_SECRET, 1, { exp: undefined })}` }, 401, 'auth_invalid_claims'],
  ['not valid yet', { authorization: `Bearer ${simpleJwtAccessToken(JWT_SECRET, 1, { nbf: now() + 3600 })}` }, 401, 'auth_expired'],
  ['refresh token', { authorization: `Bearer ${simpleJwtAccessToken(JWT_SECRET, 1, { token_type: 'refresh' })}` }, 401, 'auth_wrong_token_type'],
  ['no token_type', { authorization: `Bearer ${simpleJwtAccessToken(JWT_SECRET, 1, { token_type: undefined })}` }, 401, 'auth_wrong_token_type'],
  ['user id an object', { authorization: `Bearer ${simpleJwtAccessToken(JWT_SECRET, 1, { user_id: { $gt: '' } })}` }, 401, 'auth_invalid_claims'],
  ['user id with a brace (hash-tag injection)', { authorization: `Bearer ${simpleJwtAccessToken(JWT_SECRET, 'a}b{c')}` }, 401, 'auth_invalid_claims'],
  ['user id negative', { authorization: `Bearer ${simpleJwtAccessToken(JWT_SECRET, -1)}` }, 401, 'auth_invalid_claims'],
];

t.test('token endpoint: hostile requests get their exact status and code', async (t) => {
  for (const [what, headers, status, code] of tokenCases) {
    const res = await fetch(`${cluster.auth.url}/api/user/ws-token/`, { headers });
    const body = (await res.json()) as { code: string; message: string };
    t.equal(res.status, status, what);
    t.equal(body.code, code, what);
  }
});

t.test('token endpoint: a forged X-Forwarded-For sent straight to auth-token is counted against the real address', async (t) => {
  const redis = createRedis(cluster.redis.url, { name: 'bad-input' });
  t.teardown(() => redis.disconnect());
  const counted = async () => (await redis.keys('pr:rate:*ip:*')).map((k) => k.slice(k.indexOf('ip:') + 3)).sort();
  const forged = ['203.0.113.77', '198.51.100.1, 203.0.113.78', 'unknown'];
  for (const xff of forged) {
    const res = await fetch(`${cluster.auth.url}/api/user/ws-token/`, { headers: { 'x-forwarded-for': xff } });
    t.equal(res.status, 401, xff);
    await res.arrayBuffer();
  }
  // auth-token runs with no TRUST_PROXY here: no peer may name the client.
  t.same(await counted(), ['127.0.0.1'], 'only the socket address has a counter');
});

// ---------------------------------------------------------------- WebSocket upgrade and frames
const upgradeCases: Array<[string, string, Record<string, string>, number, string]> = [
  ['no token', `${notifier.url.replace('http', 'ws')}/ws/notifications/`, {}, 403, 'ws_token_missing'],
  ['empty token', wsUrl(''), {}, 403, 'ws_token_missing'],
  ['unknown token', wsUrl('A'.repeat(43)), {}, 403, 'ws_token_invalid'],
  ['too short', wsUrl('abc'), {}, 403, 'ws_token_invalid'],
  ['too long', wsUrl('A'.repeat(4000)), {}, 403, 'ws_token_invalid'],
  ['a JWT instead of a ws token', wsUrl(simpleJwtAccessToken(JWT_SECRET, 1)), {}, 403, 'ws_token_invalid'],
  ['another site', wsUrl('A'.repeat(43)), { origin: 'https://evil.example' }, 403, 'origin_not_allowed'],
  ['a malformed Origin', wsUrl('A'.repeat(43)), { origin: 'not a url' }, 403, 'origin_not_allowed'],
];

t.test('WebSocket upgrade: refused with 403 and a code, before any socket exists', async (t) => {
  for (const [what, url, headers, status, code] of upgradeCases) {
    const refused = await TestSocket.refused(url, { headers });
    t.equal(refused.status, status, what);
    t.equal(JSON.parse(refused.body).code, code, what);
  }
});

const frameCases: Array<[string, string | Buffer, string]> = [
  ['not JSON', 'hello', 'malformed_json'],
  ['truncated JSON', '{"type":"subscribe"', 'malformed_json'],
  ['JSON null', 'null', 'invalid_frame'],
  ['JSON number', '42', 'invalid_frame'],
  ['JSON string', '"subscribe"', 'invalid_frame'],
  ['JSON array', '[{"type":"ping"}]', 'invalid_frame'],
  ['no type', '{}', 'unknown_message_type'],
  ['type a number', '{"type":1}', 'unknown_message_type'],
  ['unknown type', '{"type":"admin"}', 'unknown_message_type'],
  ['type with a different case', '{"type":"PING"}', 'unknown_message_type'],
  ['__proto__ pollution', '{"type":"subscribe","notification_types":["reservation"],"__proto__":{"admin":true}}', 'invalid_frame'],
  ['unknown notification type', '{"type":"subscribe","notification_types":["payments"]}', 'unknown_notification_type'],
  ['notification type an object', '{"type":"subscribe","notification_types":[{"$ne":1}]}', 'unknown_notification_type'],
  ['notification_types a string', '{"type":"subscribe","notification_types":"reservation"}', 'invalid_frame'],
  ['notification_types empty', '{"type":"subscribe","notification_types":[]}', 'invalid_frame'],
  ['notification_types missing', '{"type":"subscribe"}', 'invalid_frame'],
  ['too many notification_types', JSON.stringify({ type: 'subscribe', notification_types: Array(20).fill('reservation') }), 'invalid_frame'],
  ['last_id not an id', '{"type":"subscribe","notification_types":["reservation"],"last_id":"x"}', 'invalid_frame'],
  ['last_id a number', '{"type":"subscribe","notification_types":["reservation"],"last_id":1}', 'invalid_frame'],
  ['extra field on ping', '{"type":"ping","x":1}', 'invalid_frame'],
  ['a frame of 5 KiB', JSON.stringify({ type: 'ping', pad: 'x'.repeat(5000) }), 'frame_too_large'],
  ['binary', Buffer.from([0xff, 0x00, 0x01]), 'binary_frame'],
];

t.test('WebSocket frames: each bad frame gets its error code, and the same socket keeps working', async (t) => {
  const socket = await TestSocket.connect(wsUrl(await cluster.wsToken('frames')));
  for (const [what, data, code] of frameCases) {
    socket.ws.send(data, { binary: Buffer.isBuffer(data) });
    const error = await socket.nextOfType('error');
    t.equal(error.code, code, what);
  }
  socket.send({ type: 'ping' });
  t.same(await socket.nextOfType('pong'), { type: 'pong' }, 'still answering');
  t.match(await socket.subscribe(['reservation']), { type: 'subscribed', notification_types: ['reservation'] });
  await cluster.producer.send({ type: 'reservation', message: 'after the storm', data: {}, user_ids: ['frames'] });
  t.equal((await socket.nextOfType('notification')).message, 'after the storm', 'and still receiving');
  await socket.close();
});

// ws rejects a text frame that is not UTF-8 before it reaches us: the one bad frame that ends the socket.
t.test('WebSocket: invalid UTF-8 in a text frame closes that socket only (1007)', async (t) => {
  const socket = await TestSocket.connect(wsUrl(await cluster.wsToken('utf8')));
  const other = await TestSocket.connect(wsUrl(await cluster.wsToken('utf8-other')));
  socket.ws.send(Buffer.from([0x7b, 0xc3, 0x28, 0x7d]), { binary: false });
  t.equal((await socket.closedWithin(20_000)).code, 1007);
  other.send({ type: 'ping' });
  t.same(await other.nextOfType('pong'), { type: 'pong' });
  await other.close();
});

// Far past the frame limit (4x), ws stops reading the frame and closes: the client must see why.
t.test('WebSocket: a frame far past the limit (10,000 types, 10 MB) is closed with 1009 the client sees; other sockets keep working', async (t) => {
  const other = await TestSocket.connect(wsUrl(await cluster.wsToken('huge-other')));
  for (const [what, frame] of oversizedFrames()) {
    const socket = await TestSocket.connect(wsUrl(await cluster.wsToken('huge')));
    socket.ws.send(frame);
    t.equal((await socket.closedWithin(20_000)).code, 1009, what);
  }
  other.send({ type: 'ping' });
  t.same(await other.nextOfType('pong'), { type: 'pong' });
  await other.close();
});

// ---------------------------------------------------------------- POST /api/events/
const auth = { authorization: `Bearer ${serviceJwt(SERVICE_JWT_SECRET)}`, 'content-type': 'application/json' };
const eventCases: Array<[string, Record<string, string>, string, number, string]> = [
  ['no auth', { 'content-type': 'application/json' }, '{}', 401, 'auth_missing'],
  ['wrong scope', { ...auth, authorization: `Bearer ${serviceJwt(SERVICE_JWT_SECRET, 'events:read')}` }, '{}', 403, 'auth_forbidden'],
  ['a user JWT', { ...auth, authorization: `Bearer ${simpleJwtAccessToken(JWT_SECRET, 1)}` }, '{}', 401, 'auth_invalid_signature'],
  ['a service JWT without exp', { ...auth, authorization: `Bearer ${serviceJwt(SERVICE_JWT_SECRET, 'events:publish', { exp: undefined })}` }, '{}', 401, 'auth_invalid_claims'],
  ['not JSON', auth, 'type=reservation', 400, 'malformed_json'],
  ['wrong content type', { ...auth, 'content-type': 'text/plain' }, 'hello', 415, 'unsupported_media_type'],
  ['empty body', auth, '', 400, 'empty_body'],
  ['JSON array', auth, '[]', 400, 'invalid_event'],
  ['JSON null', auth, 'null', 400, 'invalid_event'],
  ['unknown type', auth, '{"type":"payment","message":"m","data":{}}', 400, 'invalid_event'],
  ['message empty', auth, '{"type":"reservation","message":"","data":{}}', 400, 'invalid_event'],
  ['message too long', auth, JSON.stringify({ type: 'reservation', message: 'x'.repeat(2001), data: {} }), 400, 'invalid_event'],
  ['data a string', auth, '{"type":"reservation","message":"m","data":"x"}', 400, 'invalid_event'],
  ['user_ids empty', auth, '{"type":"reservation","message":"m","data":{},"user_ids":[]}', 400, 'invalid_event'],
  ['user id with a brace', auth, '{"type":"reservation","message":"m","data":{},"user_ids":["a}b"]}', 400, 'invalid_event'],
  ['user id a float', auth, '{"type":"reservation","message":"m","data":{},"user_ids":[1.5]}', 400, 'invalid_event'],
  ['id with a colon', auth, '{"id":"a:b","type":"reservation","message":"m","data":{}}', 400, 'invalid_event'],
  ['id all digits', auth, '{"id":"123","type":"reservation","message":"m","data":{}}', 400, 'invalid_event'],
  ['extra field', auth, '{"type":"reservation","message":"m","data":{},"admin":true}', 400, 'invalid_event'],
  ['body over 64 KiB', auth, JSON.stringify({ type: 'reservation', message: 'm', data: { pad: 'x'.repeat(70_000) } }), 413, 'body_too_large'],
];

t.test('POST /api/events/: hostile bodies get their exact status and code, and nothing is enqueued', async (t) => {
  const before = await queue.count();
  for (const [what, headers, body, status, code] of eventCases) {
    const res = await fetch(`${cluster.ingest.url}/api/events/`, { method: 'POST', headers, body });
    const json = (await res.json()) as { code: string };
    t.equal(res.status, status, what);
    t.equal(json.code, code, what);
  }
  t.equal(await queue.count(), before, 'no job was added');
});

t.test('data nested 10,000 levels deep: 400 with a field error, then a normal event is accepted and delivered by the same process', async (t) => {
  const pid = cluster.ingest.pid;
  const deep = `{"type":"reservation","message":"m","user_ids":["deep"],"data":{"a":${'['.repeat(10_000)}${']'.repeat(10_000)}}}`;
  const refused = await fetch(`${cluster.ingest.url}/api/events/`, { method: 'POST', headers: auth, body: deep });
  t.equal(refused.status, 400);
  const json = (await refused.json()) as { code: string; errors: Array<{ path: string }> };
  t.equal(json.code, 'invalid_event');
  t.ok(json.errors.some((e) => e.path === '/data'), JSON.stringify(json.errors));

  const watcher = await TestSocket.connect(wsUrl(await cluster.wsToken('deep')));
  await watcher.subscribe(['reservation']);
  const res = await fetch(`${cluster.ingest.url}/api/events/`, {
    method: 'POST',
    headers: auth,
    body: JSON.stringify({ type: 'reservation', message: 'after the deep one', data: { ok: true }, user_ids: ['deep'] }),
  });
  t.equal(res.status, 202);
  t.equal((await watcher.nextOfType('notification')).message, 'after the deep one', 'delivered');
  t.notOk(cluster.ingest.hasExited(), 'event-ingest never exited');
  t.equal(cluster.ingest.pid, pid, 'the same process');
  await watcher.close();
});

// ---------------------------------------------------------------- raw jobs on the queue
const poisonedJobs: Array<[string, unknown]> = [
  ['data null', null],
  ['a string', 'reservation'],
  ['no type', { message: 'm', data: {} }],
  ['unknown type', { type: 'payment', message: 'm', data: {} }],
  ['message a number', { type: 'reservation', message: 1, data: {} }],
  ['data an array', { type: 'reservation', message: 'm', data: [] }],
  ['user_ids a string', { type: 'reservation', message: 'm', data: {}, user_ids: '1' }],
  ['user id with a brace', { type: 'reservation', message: 'm', data: {}, user_ids: ['x}y'] }],
  ['created_at not a date', { type: 'reservation', message: 'm', data: {}, created_at: 'yesterday' }],
  ['extra field', { type: 'reservation', message: 'm', data: {}, evil: true }],
];

t.test('raw jobs from a careless service: each fails at once as invalid_event, and the worker goes on', async (t) => {
  for (const [i, [what, data]] of poisonedJobs.entries()) {
    await queue.add('reservation', data, { jobId: `poison-${i}`, attempts: 5 });
    await waitFor(async () => (await queue.getJobState(`poison-${i}`)) === 'failed', 10_000, what);
    const job = (await queue.getJob(`poison-${i}`))!;
    t.match(job.failedReason, /^invalid_event/, what);
    t.equal(job.attemptsMade, 1, `${what}: not retried`);
  }
  const watcher = await TestSocket.connect(wsUrl(await cluster.wsToken('after-poison')));
  await watcher.subscribe(['parking_lot']);
  await cluster.producer.send({ type: 'parking_lot', message: 'still working', data: {} });
  t.equal((await watcher.nextOfType('notification')).message, 'still working');
  await watcher.close();
});

// ---------------------------------------------------------------- properties
t.test('property: any text frame gets an answer and leaves the socket working', async (t) => {
  const socket = await TestSocket.connect(wsUrl(await cluster.wsToken('fuzz')));
  const frame = fc.oneof(
    fc.string({ maxLength: 300 }),
    fc.json({ maxDepth: 3 }),
    fc.record({ type: fc.constantFrom('subscribe', 'unsubscribe', 'ping', 'x'), notification_types: fc.array(fc.oneof(fc.constantFrom('reservation', 'parking_lot'), fc.string()), { maxLength: 20 }), last_id: fc.oneof(fc.string(), fc.constant('1-0')) }, { requiredKeys: ['type'] }).map((r) => JSON.stringify(r)),
  );
  await fc.assert(
    fc.asyncProperty(frame, async (text) => {
      const answered = socket.received.length;
      socket.ws.send(text);
      socket.send({ type: 'ping' });
      // Every frame is answered (an error, pong, subscribed or unsubscribed; a resume may add more).
      await waitFor(() => socket.received.length >= answered + 2 && socket.received.at(-1)?.type === 'pong', 5000, 'the answers');
      return socket.ws.readyState === socket.ws.OPEN;
    }),
    { numRuns: 150 },
  );
  t.equal(socket.ws.readyState, socket.ws.OPEN);
  await socket.close();
});

t.test('property: any JSON body to /api/events/ is answered 202 or 400, never 5xx', async (t) => {
  const body = fc.oneof(
    fc.json({ maxDepth: 3 }),
    fc.record(
      {
        id: fc.string({ maxLength: 140 }),
        type: fc.constantFrom('reservation', 'parking_lot', 'x'),
        message: fc.string({ maxLength: 50 }),
        data: fc.oneof(fc.object({ maxDepth: 2 }), fc.constant(null)),
        user_ids: fc.array(fc.oneof(fc.integer(), fc.string({ maxLength: 70 })), { maxLength: 5 }),
      },
      { requiredKeys: [] },
    ).map((r) => JSON.stringify(r)),
  );
  const statuses = new Set<number>();
  await fc.assert(
    fc.asyncProperty(body, async (text) => {
      const res = await fetch(`${cluster.ingest.url}/api/events/`, { method: 'POST', headers: auth, body: text });
      await res.arrayBuffer();
      statuses.add(res.status);
      return res.status === 202 || res.status === 400;
    }),
    { numRuns: 200 },
  );
  t.ok(statuses.has(400), `answers seen: ${[...statuses]}`);
  const health = await fetch(`${cluster.ingest.url}/readyz`);
  t.equal(health.status, 200, 'the service is still ready');
});

const total = tokenCases.length + upgradeCases.length + frameCases.length + eventCases.length + poisonedJobs.length;
t.test(`at least 60 hostile inputs in the tables (${total})`, async (t) => {
  t.ok(total >= 60);
});

