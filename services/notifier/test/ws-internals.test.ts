import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import WebSocket, { WebSocketServer } from 'ws';
import { prepareTextFrame } from '../src/prepared-frame.js';
import { installedWsVersion, WS_VERSIONS, wsInternals, wsInternalsFor, wsVersionFits } from '../src/ws-internals.js';

/** A real ws server and client, with permessage-deflate so the server side can be made busy compressing. */
async function socketPair(t: Test): Promise<{ serverSide: WebSocket; client: WebSocket }> {
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: { threshold: 0 } });
  t.teardown(() => server.close());
  await once(server, 'listening');
  const client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`);
  t.teardown(() => client.terminate());
  const [serverSide] = (await once(server, 'connection')) as [WebSocket];
  await once(client, 'open');
  return { serverSide, client };
}

t.test(`the installed ws (${installedWsVersion()}) is one the adapter was written for (${WS_VERSIONS}): its private paths are on`, async (t) => {
  t.ok(wsVersionFits(installedWsVersion()));
  t.equal(wsInternals.version, installedWsVersion());
  t.equal(wsInternals.disabled, undefined);
});

t.test('a version outside the range turns the private paths off and says why', async (t) => {
  for (const version of ['8.17.1', '9.0.0', '7.5.10', '10.1.0', 'not-a-version']) t.notOk(wsVersionFits(version), version);
  for (const version of ['8.18.0', '8.23.0', '8.99.1']) t.ok(wsVersionFits(version), version);
  const off = wsInternalsFor('9.0.0');
  t.match(off.disabled, /ws 9\.0\.0 is outside >=8\.18\.0 <9\.0\.0/);
  const { serverSide } = await socketPair(t);
  t.equal(off.idleTcpSocket(serverSide), null, "every frame then goes through ws's send()");
});

t.test("an idle socket's TCP socket carries a prepared frame intact to a real client; a busy one is not handed out", async (t) => {
  const { serverSide, client } = await socketPair(t);
  const messages: string[] = [];
  /** Resolves once `count` more messages have arrived. */
  const received = (count: number) =>
    new Promise<void>((resolve) => {
      const until = messages.length + count;
      const onMessage = (data: Buffer) => {
        messages.push(data.toString());
        if (messages.length === until) {
          client.off('message', onMessage);
          resolve();
        }
      };
      client.on('message', onMessage);
    });

  const payload = Buffer.from('{"type":"notification","id":"1-0","data":{"pad":"é'.concat('x'.repeat(70_000), '"}}'));
  const tcp = wsInternals.idleTcpSocket(serverSide);
  t.ok(tcp, 'an idle socket hands out its TCP socket');
  const first = received(1);
  tcp!.write(prepareTextFrame(payload));
  await first;
  t.equal(messages[0], payload.toString(), 'the frame arrives whole, as a text message');

  // Compressing (permessage-deflate) is a send of ws's own in progress: a write beside it would overtake it.
  const second = received(2);
  const compressed = new Promise<void>((resolve, reject) => serverSide.send('compressed', { compress: true }, (err) => (err ? reject(err) : resolve())));
  t.equal(wsInternals.idleTcpSocket(serverSide), null, 'busy while ws compresses');
  await compressed;
  t.equal(wsInternals.idleTcpSocket(serverSide), tcp, 'idle again once its send is out');
  wsInternals.idleTcpSocket(serverSide)!.write(prepareTextFrame(Buffer.from('after')));
  await second;
  t.same(messages.slice(1), ['compressed', 'after']);
});
