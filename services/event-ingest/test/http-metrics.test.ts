import { metricValue, serviceJwt } from '@parking-realtime/testing';
import t from 'tap';
import { SERVICE_SECRET, startIngestApp } from './support/ingest-app.js';

const ingest = await startIngestApp();
t.teardown(() => ingest.close());
const { app } = ingest;

const metrics = async () => (await app.inject({ url: '/metrics' })).body;
const count = (text: string, labels: string) => metricValue(text, 'http_request_duration_seconds_count', labels);

t.test('an accepted event is counted under POST /api/events/ with its status', async (t) => {
  const res = await app.inject({
    method: 'POST',
    url: '/api/events/',
    headers: { authorization: `Bearer ${serviceJwt(SERVICE_SECRET)}` },
    payload: { type: 'reservation', message: 'New reservation created', data: { reservation_id: 1 }, user_ids: [7] },
  });
  t.equal(res.statusCode, 202);
  const bad = await app.inject({ method: 'POST', url: '/api/events/', headers: { authorization: `Bearer ${serviceJwt(SERVICE_SECRET)}` }, payload: {} });
  t.equal(bad.statusCode, 400);
  const text = await metrics();
  t.equal(count(text, 'method="POST",route="/api/events/",status_code="202"'), 1);
  t.equal(count(text, 'method="POST",route="/api/events/",status_code="400"'), 1);
});

t.test('a 404 for an unknown path is labelled unmatched, without the path', async (t) => {
  const res = await app.inject({ method: 'POST', url: '/api/events/user-42/extra?token=abc123', payload: {} });
  t.equal(res.statusCode, 404);
  const text = await metrics();
  t.equal(count(text, 'method="POST",route="unmatched",status_code="404"'), 1);
  t.notMatch(text, /user-42|abc123/, 'no raw path or query in any label');
});
