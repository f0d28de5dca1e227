import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import t from 'tap';
import { freePort } from '../src/free-port.js';

// Ports are drawn from below the kernel's ephemeral range, where no outgoing connection's local port can take them.
const [ephemeralLow] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);

t.test('free ports come from below the ephemeral range, can be listened on, and are never handed out twice', async (t) => {
  const ports: number[] = [];
  for (let i = 0; i < 200; i++) ports.push(await freePort());
  t.equal(new Set(ports).size, ports.length, 'no port twice');
  const outside = ports.filter((p) => p >= 10_000 && p < ephemeralLow!);
  t.equal(outside.length, ports.length, `all within 10000..${ephemeralLow! - 1}`);
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(ports.at(-1), '127.0.0.1', resolve);
  });
  t.pass('the last one is free to listen on');
  await new Promise<void>((resolve) => server.close(() => resolve()));
});
