import { mkdirSync, writeFileSync } from 'node:fs';
import { hostname, cpus } from 'node:os';
import { planCores } from './cores.js';
import { PLANS, type Plan } from './plans.js';
import { ceilingTable, held, markdownTables } from './report.js';
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
const only = args.find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',');
const systems = (args.find((a) => a.startsWith('--systems='))?.slice('--systems='.length) ?? 'ours,socketio').split(',') as Array<'ours' | 'socketio'>;
const profileDir = args.find((a) => a.startsWith('--cpu-prof-dir='))?.slice('--cpu-prof-dir='.length);
const outFile = args.find((a) => a.startsWith('--out='))?.slice('--out='.length);
const plan: Plan = PLANS[mode];
const wanted = (scenario: string) => !only || only.includes(scenario);

const cores = planCores();
const results: Result[] = [];
const ceilings: Array<{ scenario: string; system: string; rate: number; deliveriesPerSecond: number }> = [];

function record(result: Result): Result {
  results.push(result);
  console.log(JSON.stringify({ mode, ...result }));
  return result;
}

async function withSystem<T>(name: 'ours' | 'socketio', run: (sut: SystemUnderTest) => Promise<T>): Promise<T> {
  const options = profileDir ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] } : {};
  const sut = await (name === 'ours' ? startOurs(cores, options) : startSocketIo(cores, options));
  try {
    return await run(sut);
  } finally {
    await sut.stop();
  }
}

/**
 * Runs `step` at each rate (only the first unless sweeping), stopping at the
 * first that does not hold. A short unrecorded round at the first rate goes
 * before, for both systems alike, so the JIT's warm-up is not what is measured.
 */
async function rates(
  scenario: string,
  system: string,
  list: number[],
  recipientsPerEvent: number,
  step: (rate: number, seconds: number) => Promise<Result>,
  seconds: number,
): Promise<void> {
  await step(list[0]!, WARM_UP_SECONDS);
  for (const rate of plan.sweep ? list : list.slice(0, 1)) {
    const result = record(await step(rate, seconds));
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

console.error(`bench: ${mode} mode, ${cores.describe}; systems ${systems.join(', ')}`);
const started = Date.now();
for (const system of systems) {
  await withSystem(system, async (sut) => {
    if (wanted('connection-storm')) record(await connectionStorm(sut, plan.storm));
    if (wanted('broadcast')) {
      const audience = await connectBroadcastAudience(sut, plan.broadcast.clients);
      await rates(
        'broadcast',
        system,
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
        'targeted-http',
        system,
        plan.targeted.httpRates,
        1,
        (rate, seconds) => targeted(sut, audience, { rate, seconds, via: 'http' }),
        plan.targeted.seconds,
      );
      if (sut.produceEvent) {
        await rates(
          'targeted-producer',
          system,
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
    for (const n of plan.idleConnections) await withSystem(system, async (sut) => record(await idleMemory(sut, n)));
  }
}

const cpu = cpus()[0]?.model ?? 'unknown CPU';
const header = `## ${mode} run, ${new Date().toISOString().slice(0, 16)}Z\n\nMachine: ${hostname()}, ${cpus().length} × ${cpu}, Node ${process.version}; ${cores.describe}. Took ${Math.round((Date.now() - started) / 1000)} s.\n`;
const markdown = `${header}\n${markdownTables(results)}\n${ceilings.length ? ceilingTable(ceilings) : ''}`;
console.log(markdown);
if (outFile) {
  mkdirSync(new URL('.', `file://${outFile}`).pathname, { recursive: true });
  writeFileSync(outFile, `${JSON.stringify({ mode, cores: cores.describe, results, ceilings }, null, 2)}\n`);
}
process.exit(0);
