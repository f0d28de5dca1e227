import WebSocket from 'ws';

/**
 * `npm run listen -- <ws_url> [types]`: opens a WebSocket, subscribes to the
 * given types (default reservation,parking_lot) and prints every frame.
 */
const [url, types = 'reservation,parking_lot'] = process.argv.slice(2);
if (!url) {
  console.error('usage: npm run listen -- "ws://127.0.0.1:8002/ws/notifications/?token=<ws_token>" [reservation,parking_lot]');
  process.exit(2);
}
const ws = new WebSocket(url);
ws.on('unexpected-response', (_req, res) => {
  console.error(`refused: HTTP ${res.statusCode}`);
  process.exit(1);
});
ws.on('open', () => ws.send(JSON.stringify({ type: 'subscribe', notification_types: types.split(',') })));
ws.on('message', (data) => console.log(data.toString()));
ws.on('close', (code) => {
  console.error(`closed (${code})`);
  process.exit(0);
});
process.on('SIGINT', () => ws.close());
