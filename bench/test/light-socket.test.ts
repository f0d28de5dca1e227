import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { waitFor } from '@parking-realtime/testing';
import t from 'tap';
import { WebSocketServer } from 'ws';
import { LightSocket } from '../src/systems/light-socket.js';

// A real ws server plays the notifier's part: what it sends, the light client must read as ws would.
const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
await once(server, 'listening');
const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/ws/x?token=abc`;
t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));

async function pair(onText: (text: string) => void) {
  const accepted = once(server, 'connection');
  const light = await LightSocket.open(url, onText);
  const [peer] = (await accepted) as [import('ws').WebSocket, import('node:http').IncomingMessage];
  return { light, peer };
}

t.test('reads every frame of a burst, short, 16-bit and 64-bit lengths alike, in order', async (t) => {
  const got: string[] = [];
  const { light, peer } = await pair((text) => got.push(text));
  const sent = ['a', 'x'.repeat(200), 'y'.repeat(70_000), '{"type":"notification"}'];
  for (const text of sent) peer.send(text);
  await waitFor(() => got.length === sent.length || null, 5000, 'every frame');
  t.same(got, sent);
  light.terminate();
});

t.test('joins fragments into one message', async (t) => {
  const got: string[] = [];
  const { light, peer } = await pair((text) => got.push(text));
  peer.send('part one, ', { fin: false });
  peer.send('part two', { fin: true });
  await waitFor(() => got.length === 1 || null, 5000, 'the message');
  t.same(got, ['part one, part two']);
  light.terminate();
});

t.test('answers a ping with a pong carrying its data, and sends masked text the server reads', async (t) => {
  const { light, peer } = await pair(() => {});
  const pong = once(peer, 'pong');
  peer.ping('hello');
  t.equal(String((await pong)[0]), 'hello');
  const message = once(peer, 'message');
  light.sendText(JSON.stringify({ type: 'subscribe', notification_types: ['reservation'] }));
  t.equal(String((await message)[0]), '{"type":"subscribe","notification_types":["reservation"]}');
  light.terminate();
});

t.test('a refused upgrade rejects with the status line', async (t) => {
  const refusing = new WebSocketServer({ port: 0, host: '127.0.0.1', verifyClient: () => false });
  await once(refusing, 'listening');
  t.teardown(() => new Promise<void>((resolve) => refusing.close(() => resolve())));
  await t.rejects(LightSocket.open(`ws://127.0.0.1:${(refusing.address() as AddressInfo).port}/`, () => {}), { message: /upgrade refused: HTTP\/1.1 401/ });
});

t.test('a close from the server ends the socket and is heard', async (t) => {
  let closed = false;
  const accepted = once(server, 'connection');
  await LightSocket.open(url, () => {}, () => {
    closed = true;
  });
  const [peer] = (await accepted) as [import('ws').WebSocket];
  peer.close(1000);
  await waitFor(() => closed || null, 5000, 'the close');
  t.pass('heard');
});
