import { createNotificationProducer } from '@parking-realtime/producer';
import { broadcastChannel, createRedis, historyKey, publishedKey, userChannel } from '@parking-realtime/redis';
import { freePort, startNodeProcess, startRedisServer } from '@parking-realtime/launcher';

/**
 * `npm run bench:history-memory -- [--minutes=10] [--rate=200] [--users=1000] [--targeted=20]`
 *
 * Redis memory under the rated load with the default history settings: the
 * real event-ingest (worker and publisher) on a Redis of its own, fed by the
 * producer with `rate` broadcasts/s on one type and `targeted` events/s spread
 * over `users` users. Every 10 s: used_memory, keys, and the bytes of the
 * broadcast stream, its dedupe set and an average user's stream. It must level
 * off once the history window (2 minutes) is full.
 */
const args = process.argv.slice(2);
const value = (flag: string, fallback: number) => Number(args.find((a) => a.startsWith(`--${flag}=`))?.slice(flag.length + 3) ?? fallback);
const minutes = value('minutes', 10);
const rate = value('rate', 200);
const users = value('users', 1000);
const targetedRate = value('targeted', 20);

const redisServer = await startRedisServer();
const ingestPort = await freePort();
// As in production: quiet logs, readiness from /readyz.
const ingest = await startNodeProcess({
  name: 'event-ingest',
  script: 'services/event-ingest/src/main.ts',
  env: { REDIS_URL: redisServer.url, PORT: String(ingestPort), NODE_ENV: 'production', LOG_LEVEL: 'warn', SERVICE_JWT_SECRET: 'bench-service-secret-that-is-long-enough-0123' },
  readyWhen: { port: ingestPort, path: '/readyz' },
});
const redis = createRedis(redisServer.url, { name: 'bench' });
const producer = createNotificationProducer({ connection: redisServer.url });

const memoryUsage = async (key: string) => Number((await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')) ?? 0);
const info = async (section: string, field: string) => Number(new RegExp(`${field}:(\\d+)`).exec(await redis.info(section))?.[1] ?? 0);

let sent = 0;
let failed = 0;
const tickMs = 50;
const perTick = rate / (1000 / tickMs);
const targetedPerTick = targetedRate / (1000 / tickMs);
let carry = 0;
let targetedCarry = 0;
const ticker = setInterval(() => {
  carry += perTick;
  targetedCarry += targetedPerTick;
  for (; carry >= 1; carry--) {
    sent++;
    producer.send({ type: 'parking_lot', message: `lot ${sent}`, data: { lot: sent % 50, free: sent % 120 } }).catch(() => failed++);
  }
  for (; targetedCarry >= 1; targetedCarry--) {
    sent++;
    producer.send({ type: 'reservation', message: `reservation ${sent}`, data: { n: sent }, user_ids: [`u${sent % users}`] }).catch(() => failed++);
  }
}, tickMs);

const started = Date.now();
const samples: Array<Record<string, number>> = [];
const sample = async () => {
  const userKeys = Array.from({ length: 20 }, (_, i) => userChannel(`u${i * Math.floor(users / 20)}`, 'reservation'));
  const userBytes = await Promise.all(userKeys.map(async (c) => (await memoryUsage(historyKey(c))) + (await memoryUsage(publishedKey(c)))));
  const row = {
    s: Math.round((Date.now() - started) / 1000),
    sent,
    failed,
    usedMemoryMB: Math.round((await info('memory', 'used_memory')) / 1e5) / 10,
    keys: Number((await redis.dbsize()) ?? 0),
    broadcastEntries: await redis.xlen(historyKey(broadcastChannel('parking_lot'))),
    broadcastStreamMB: Math.round((await memoryUsage(historyKey(broadcastChannel('parking_lot')))) / 1e5) / 10,
    broadcastDedupeMB: Math.round((await memoryUsage(publishedKey(broadcastChannel('parking_lot')))) / 1e5) / 10,
    userKB: Math.round(userBytes.reduce((a, b) => a + b, 0) / userBytes.length / 100) / 10,
  };
  samples.push(row);
  console.log(JSON.stringify(row));
};
await sample();
await new Promise<void>((resolve) => {
  const every = setInterval(() => {
    void sample().then(() => {
      if (Date.now() - started >= minutes * 60_000) {
        clearInterval(every);
        resolve();
      }
    });
  }, 10_000);
});
clearInterval(ticker);
console.log('\n| s | sent | used_memory MB | keys | broadcast entries | broadcast stream MB | its dedupe set MB | a user (stream + dedupe) KB |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
for (const r of samples.filter((_, i) => i % 6 === 0 || i === samples.length - 1)) {
  console.log(`| ${r.s} | ${r.sent} | ${r.usedMemoryMB} | ${r.keys} | ${r.broadcastEntries} | ${r.broadcastStreamMB} | ${r.broadcastDedupeMB} | ${r.userKB} |`);
}
await producer.close();
redis.disconnect();
await ingest.kill('SIGTERM');
await redisServer.stop();
