import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import WebSocket, { WebSocketServer } from 'ws';
import { prepareTextFrame, writePreparedFrame } from '../src/prepared-frame.js';

t.test('a prepared frame reaches a real client as the same text message, in order with ordinary sends, at every length encoding', async (t) => {
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
  t.teardown(() => server.close());
  await once(server, 'listening');
  const client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`);
  t.teardown(() => client.terminate());
  const [serverSide] = (await once(server, 'connection')) as [WebSocket];
  const received: Array<{ text: string; binary: boolean }> = [];
  const done = new Promise<void>((resolve) => {
    client.on('message', (data, binary) => {
      received.push({ text: data.toString(), binary });
      if (received.length === 5) resolve();
    });
  });
  await once(client, 'open');

  // 7-bit, 16-bit and 64-bit payload lengths (RFC 6455 §5.2), with an ordinary send between.
  const payloads = ['{"type":"notification","id":"1"}', 'x'.repeat(300), 'y'.repeat(70_000), 'z'.repeat(125)].map((s) => Buffer.from(s));
  writePreparedFrame(serverSide, prepareTextFrame(payloads[0]!), payloads[0]!);
  serverSide.send('between');
  for (const p of payloads.slice(1)) writePreparedFrame(serverSide, prepareTextFrame(p), p);
  await done;

  t.same(
    received.map((r) => r.text),
    [payloads[0]!.toString(), 'between', ...payloads.slice(1).map((p) => p.toString())],
  );
  t.ok(received.every((r) => !r.binary), 'every message is a text frame');
  t.equal(serverSide.bufferedAmount, 0, 'ws still accounts the socket as drained');
});
