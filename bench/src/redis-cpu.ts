import { Redis } from 'ioredis';

/** One Redis node's CPU at one moment, from `INFO cpu` and `INFO replication`. */
interface NodeSample {
  port: number;
  role: 'master' | 'replica';
  /** `used_cpu_sys` + `used_cpu_user`, in seconds, since the node started. */
  cpuSeconds: number;
  /** `INFO commandstats`: calls and µs inside each command (a script's commands count under EVALSHA), since the node started. */
  commands: Map<string, { calls: number; usec: number }>;
}

/** What Redis spent in one command, summed over the nodes, per event (as `NodeCpu.us`). */
export interface CommandCost {
  command: string;
  calls: number;
  us: number;
}

/** What one node spent between two samples. */
export interface NodeCpu {
  port: number;
  role: 'master' | 'replica';
  /** CPU µs per event of the step (or per second of wall time, for an idle window). */
  us: number;
  /** Share of one core the node used over the window, in %. */
  busyPercent: number;
}

/** A window's Redis CPU: per node, and summed over masters, replicas and all. */
export interface RedisCpu {
  nodes: NodeCpu[];
  total: number;
  masters: number;
  replicas: number;
  /** The highest `busyPercent` of any node: how near one Redis core is to full. */
  busiestPercent: number;
  /** The commands Redis spent most time in, most first (their µs exclude parsing and writing replies). */
  commands: CommandCost[];
}

/**
 * Reads the CPU every Redis node of a system has used, before and after a
 * step, so Redis' cost per event can be told apart per node: on a cluster,
 * how the load spreads over the masters and what the replicas pay to follow.
 * One plain connection per node (INFO is node-local even on a cluster); a
 * node's role is read at each sample, so a failover would show.
 */
export class RedisCpuMeter {
  private constructor(private readonly connections: Array<{ port: number; redis: Redis }>) {}

  static async open(ports: number[]): Promise<RedisCpuMeter> {
    const connections = ports.map((port) => ({ port, redis: new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 1 }) }));
    await Promise.all(connections.map((c) => c.redis.connect()));
    return new RedisCpuMeter(connections);
  }

  /** Runs `step`, and divides each node's CPU over it by `units(result)` (events; wall seconds when absent). */
  async measure<T>(step: () => Promise<T>, units?: (result: T) => number): Promise<{ result: T; cpu: RedisCpu }> {
    const before = await this.sample();
    const t0 = performance.now();
    const result = await step();
    const after = await this.sample();
    const wallSeconds = (performance.now() - t0) / 1000;
    return { result, cpu: spent(before, after, wallSeconds, units ? units(result) : wallSeconds) };
  }

  /** CPU µs per second of each node while nothing is sent: the floor under every step's figure. */
  async idle(ms: number): Promise<RedisCpu> {
    return (await this.measure(() => new Promise((r) => setTimeout(r, ms)))).cpu;
  }

  async close(): Promise<void> {
    await Promise.all(this.connections.map((c) => c.redis.quit().catch(() => {})));
  }

  private sample(): Promise<NodeSample[]> {
    return Promise.all(
      this.connections.map(async ({ port, redis }) => {
        const [cpu, replication, stats] = await Promise.all([redis.info('cpu'), redis.info('replication'), redis.info('commandstats')]);
        const field = (text: string, name: string) => new RegExp(`^${name}:(\\S+)`, 'm').exec(text)?.[1];
        const cpuSeconds = Number(field(cpu, 'used_cpu_sys')) + Number(field(cpu, 'used_cpu_user'));
        if (!Number.isFinite(cpuSeconds)) throw new Error(`no used_cpu_sys/used_cpu_user in INFO cpu of port ${port}`);
        const commands = new Map<string, { calls: number; usec: number }>();
        for (const [, command, calls, usec] of stats.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
          commands.set(command!, { calls: Number(calls), usec: Number(usec) });
        }
        return { port, role: field(replication, 'role') === 'slave' ? 'replica' : 'master', cpuSeconds, commands } satisfies NodeSample;
      }),
    );
  }
}

const round1 = (n: number) => Math.round(n * 10) / 10;
const round2 = (n: number) => Math.round(n * 100) / 100;

/** The commands shown per step: enough to account for nearly all of a step's time. */
const TOP_COMMANDS = 8;

function commandCosts(before: NodeSample[], after: NodeSample[], units: number): CommandCost[] {
  const spentIn = new Map<string, { calls: number; usec: number }>();
  for (const [i, a] of after.entries()) {
    for (const [command, now] of a.commands) {
      const then = before[i]!.commands.get(command) ?? { calls: 0, usec: 0 };
      const sum = spentIn.get(command) ?? { calls: 0, usec: 0 };
      spentIn.set(command, { calls: sum.calls + now.calls - then.calls, usec: sum.usec + now.usec - then.usec });
    }
  }
  const per = Math.max(units, 1e-9);
  return [...spentIn]
    .filter(([, c]) => c.calls > 0)
    .sort(([, x], [, y]) => y.usec - x.usec)
    .slice(0, TOP_COMMANDS)
    .map(([command, c]) => ({ command, calls: round2(c.calls / per), us: round1(c.usec / per) }));
}

function spent(before: NodeSample[], after: NodeSample[], wallSeconds: number, units: number): RedisCpu {
  const nodes = after.map((a, i): NodeCpu => {
    const seconds = a.cpuSeconds - before[i]!.cpuSeconds;
    return { port: a.port, role: a.role, us: round1((seconds * 1e6) / Math.max(units, 1e-9)), busyPercent: round1((seconds / wallSeconds) * 100) };
  });
  // Masters first, then replicas, each in port order: the same node keeps its column across steps.
  nodes.sort((x, y) => (x.role === y.role ? x.port - y.port : x.role === 'master' ? -1 : 1));
  const sum = (role?: NodeCpu['role']) => round1(nodes.filter((n) => !role || n.role === role).reduce((s, n) => s + n.us, 0));
  return {
    nodes,
    total: sum(),
    masters: sum('master'),
    replicas: sum('replica'),
    busiestPercent: Math.max(...nodes.map((n) => n.busyPercent)),
    commands: commandCosts(before, after, units),
  };
}
