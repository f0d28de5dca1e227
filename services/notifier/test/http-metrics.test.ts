import { metricValue, TestSocket } from '@parking-realtime/testing';
import t from 'tap';
import { startNotifierApp } from './support/notifier-app.js';

const notifier = await startNotifierApp();
t.teardown(() => notifier.close());

const metrics = async () => (await notifier.app.inject({ url: '/metrics' })).body;
const count = (text: string, labels: string) => metricValue(text, 'http_request_duration_seconds_count', labels);
const ROUTE = 'method="GET",route="/ws/notifications/"';

t.test('the upgrade route counts its HTTP answer: 101 for a socket, 403 for a refused token, by route pattern', async (t) => {
  await notifier.connect('42');
  const refused = await TestSocket.refused(notifier.wsUrl('not-a-real-token-abc123'));
  t.equal(refused.status, 403);
  const text = await metrics();
  t.equal(count(text, `${ROUTE},status_code="101"`), 1, 'the upgrade ws answered');
  t.equal(count(text, `${ROUTE},status_code="403"`), 1, 'the refusal');
  t.notMatch(text, /abc123|token=/, 'never the URL with its token');
});

t.test('a 404 for an unknown path is labelled unmatched, without the path', async (t) => {
  const res = await fetch(`http://127.0.0.1:${notifier.port}/ws/other/42?token=abc123`);
  t.equal(res.status, 404);
  await res.arrayBuffer();
  const text = await metrics();
  t.equal(count(text, 'method="GET",route="unmatched",status_code="404"'), 1);
  t.notMatch(text, /ws\/other|abc123/, 'no raw path or query in any label');
});
