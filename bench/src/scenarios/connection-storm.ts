import { LatencyRecorder, mapConcurrent } from '../stats.js';
import type { BenchConnection, SystemUnderTest } from '../systems/system.js';
import type { Result } from './result.js';

export interface StormParams {
  connections: number;
  /** Handshakes in flight at once. */
  concurrency: number;
}

/** Connection storm: token + upgrade + subscribe, as fast as bounded concurrency allows. */
export async function connectionStorm(sut: SystemUnderTest, p: StormParams): Promise<Result> {
  const handshakes = new LatencyRecorder();
  let failures = 0;
  const opened: BenchConnection[] = [];
  const start = performance.now();
  await mapConcurrent(
    Array.from({ length: p.connections }, (_, i) => i),
    p.concurrency,
    async (i) => {
      const t0 = performance.now();
      try {
        opened.push(await sut.connect(`storm-${i}`, ['reservation', 'parking_lot'], () => {}));
        handshakes.add(performance.now() - t0);
      } catch {
        failures++;
      }
    },
  );
  const seconds = (performance.now() - start) / 1000;
  for (const c of opened) c.close();
  const s = handshakes.summary();
  return {
    scenario: 'connection-storm',
    system: sut.name,
    params: { connections: p.connections, concurrency: p.concurrency },
    figures: { connectionsPerSecond: Math.round(opened.length / seconds), failures, ...s },
  };
}
