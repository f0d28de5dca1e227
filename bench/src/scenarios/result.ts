import type { RedisCpu } from '../redis-cpu.js';

/** One measurement: printed as a JSON line, and as a row of the scenario's table. */
export interface Result {
  scenario: string;
  system: 'ours' | 'socketio';
  params: Record<string, number | string>;
  figures: Record<string, number>;
  /**
   * Redis CPU over the step, per node: µs per event (per connection for the
   * storm, per second for `redis-idle`). Its sums are also in `figures` as
   * `redisUs`, `redisMastersUs`, `redisReplicasUs` and `redisBusiestPct`.
   */
  redis?: RedisCpu;
}
