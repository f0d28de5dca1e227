import { mkdirSync, writeFileSync } from 'node:fs';
import { hostname, cpus } from 'node:os';
import { planCores } from './cores.js';
import { PLANS, type Plan } from './plans.js';
import { type RedisCpu, RedisCpuMeter } from './redis-cpu.js';
import { ceilingTable, held, markdownTables, redisCpuTables } from './report.js';
import { broadcast, connectBroadcastAudience } from './scenarios/broadcast.js';
import { connectionStorm } from './scenarios/connection-storm.js';
import { idleMemory } from './scenarios/idle-memory.js';
import type { Result } from './scenarios/result.js';
import { connectTargetedAudience, targeted } from './scenarios/targeted.js';
import { startOurs } from './systems/ours.js';
import { startSocketIo } from './systems/socketio.js';
import type { SystemUnderTest } from './systems/system.js';

const args = process.argv.slice(2);
const mode = args.includes('--full') ? 'full' : args.includes('--smoke') ? 'smoke' : 'quick';
const value = (flag: string) => args.find((a) => a.startsWith(`--${flag}=`))?.slice(flag.length + 3);
const only = value('only')?.split(',');
// A Redis Cluster for ours: Socket.IO's redis-adapter is not sharded here, so it is left out unless --systems names it.
const cluster = args.includes('--cluster');
const clusterMasters = cluster ? Number(value('masters') ?? 3) : undefined;
if (clusterMasters !== undefined && !(Number.isInteger(clusterMasters) && clusterMasters >= 3)) {
  // redis-cli --cluster create refuses fewer than 3 masters.
  console.error(`bench: --masters must be an integer ≥ 3 (redis-cli --cluster create needs 3 masters), got ${value('masters')}`);
  process.exit(2);
}
const systems = (value('systems') ?? (cluster ? 'ours' : 'ours,socketio')).split(',') as Array<'ours' | 'socketio'>;
const profileDir = value('cpu-prof-dir');
const outFile = value('out');
const plan: Plan = PLANS[mode];
const wanted = (scenario: string) => !only || only.includes(scenario);

const cores = planCores();
const results: Result[] = [];
const ceilings: Array<{ scenario: string; system: string; rate: number; deliveriesPerSecond: number }> = [];

/** Prints and keeps a result, with the system's Redis among its params and, when measured, Redis' CPU among its figures. */
function record(sut: SystemUnderTest, result: Result, redis?: RedisCpu): Result {
  const full: Result = { ...result, params: { redis: sut.redis, ...result.params } };
  if (redis) {
    full.figures = { ...result.figures, redisUs: redis.total, redisMastersUs: redis.masters, redisReplicasUs: redis.replicas, redisBusiestPct: redis.busiestPercent };
    full.redis = redis;
  }
  results.push(full);
  console.log(JSON.stringify({ mode, ...full }));
  return full;
}

async function withSystem<T>(name: 'ours' | 'socketio', run: (sut: SystemUnderTest, meter: RedisCpuMeter) => Promise<T>): Promise<T> {
  const options = { ...(profileDir ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] } : {}), clusterMasters };
  const sut = await (name === 'ours' ? startOurs(cores, options) : startSocketIo(cores, options));
  const meter = await RedisCpuMeter.open(sut.redisPorts);
  try {
    return await run(sut, meter);
  } finally {
    await meter.close();
    await sut.stop();
  }
}

/**
 * Runs `step` at each rate (only the first unless sweeping), stopping at the
 * first that does not hold. A short unrecorded round at the first rate goes
 * before, for both systems alike, so the JIT's warm-up is not what is measured.
 */
async function rates(
  sut: SystemUnderTest,
  meter: RedisCpuMeter,
  scenario: string,
  list: number[],
  recipientsPerEvent: number,
  step: (rate: number, seconds: number) => Promise<Result>,
  seconds: number,
): Promise<void> {
  const system = sut.name;
  await step(list[0]!, WARM_UP_SECONDS);
  for (const rate of plan.sweep ? list : list.slice(0, 1)) {
    const { result: measured, cpu } = await meter.measure(() => step(rate, seconds), (r) => r.figures.sent ?? 0);
    const result = record(sut, measured, cpu);
    if (!held(result)) break;
    if (plan.sweep) {
      const ceiling = ceilings.find((c) => c.scenario === scenario && c.system === system);
      const entry = { scenario, system, rate, deliveriesPerSecond: rate * recipientsPerEvent };
      if (ceiling) Object.assign(ceiling, entry);
      else ceilings.push(entry);
    }
  }
}

const WARM_UP_SECONDS = 2;
/** How long Redis' idle CPU is read before the scenarios: the floor under each step's CPU per event. */
const IDLE_MS = 2000;

console.error(`bench: ${mode} mode, ${cores.describe}; systems ${systems.join(', ')}`);
if (clusterMasters !== undefined) {
  const note = systems.includes('socketio') ? "socketio still runs on one Redis (its redis-adapter is not sharded here)" : 'ours only (Socket.IO\'s redis-adapter is not sharded here; add --systems=ours,socketio to run it on one Redis)';
  console.error(`bench: --cluster: ours on a local Redis Cluster of ${clusterMasters} masters and ${clusterMasters} replicas; ${note}`);
}
const started = Date.now();
for (const system of systems) {
  await withSystem(system, async (sut, meter) => {
    if (wanted('broadcast') || wanted('targeted')) {
      const idle = await meter.idle(IDLE_MS);
      record(sut, { scenario: 'redis-idle', system, params: { seconds: IDLE_MS / 1000 }, figures: {} }, idle);
    }
    if (wanted('connection-storm')) {
      const { result, cpu } = await meter.measure(() => connectionStorm(sut, plan.storm), () => plan.storm.connections);
      record(sut, result, cpu);
    }
    if (wanted('broadcast')) {
      const audience = await connectBroadcastAudience(sut, plan.broadcast.clients);
      await rates(
        sut,
        meter,
        'broadcast',
        plan.broadcast.rates,
        plan.broadcast.clients,
        (rate, seconds) => broadcast(sut, audience, { clients: plan.broadcast.clients, rate, seconds }),
        plan.broadcast.seconds,
      );
      audience.close();
    }
    if (wanted('targeted')) {
      const audience = await connectTargetedAudience(sut, plan.targeted.users);
      await rates(
        sut,
        meter,
        'targeted-http',
        plan.targeted.httpRates,
        1,
        (rate, seconds) => targeted(sut, audience, { rate, seconds, via: 'http' }),
        plan.targeted.seconds,
      );
      if (sut.produceEvent) {
        await rates(
          sut,
          meter,
          'targeted-producer',
          plan.targeted.producerRates,
          1,
          (rate, seconds) => targeted(sut, audience, { rate, seconds, via: 'producer' }),
          plan.targeted.seconds,
        );
      }
      audience.close();
    }
  });
  if (wanted('idle-memory')) {
    // A fresh system per size, so the baseline holds nothing from earlier scenarios.
    for (const n of plan.idleConnections) await withSystem(system, async (sut) => record(sut, await idleMemory(sut, n)));
  }
}

const cpu = cpus()[0]?.model ?? 'unknown CPU';
const header = `## ${mode} run, ${new Date().toISOString().slice(0, 16)}Z\n\nMachine: ${hostname()}, ${cpus().length} × ${cpu}, Node ${process.version}; ${cores.describe}. Took ${Math.round((Date.now() - started) / 1000)} s.\n`;
const markdown = `${header}\n${markdownTables(results)}\n${redisCpuTables(results)}\n${ceilings.length ? ceilingTable(ceilings) : ''}`;
console.log(markdown);
if (outFile) {
  mkdirSync(new URL('.', `file://${outFile}`).pathname, { recursive: true });
  writeFileSync(outFile, `${JSON.stringify({ mode, cores: cores.describe, redis: clusterMasters ? `cluster-${clusterMasters}m` : 'single', results, ceilings }, null, 2)}\n`);
}
process.exit(0);
