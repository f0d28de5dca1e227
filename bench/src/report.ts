import type { Result } from './scenarios/result.js';

/** The figures a table shows per scenario, and which way is better (for the reader; the ratio is always ours/theirs). */
const COLUMNS: Record<string, string[]> = {
  broadcast: ['deliveriesPerSecond', 'p50', 'p90', 'p99', 'max', 'lost', 'duplicated', 'failedSends'],
  'targeted-http': ['deliveriesPerSecond', 'p50', 'p90', 'p99', 'max', 'lost', 'misdelivered', 'duplicated', 'failedSends'],
  'targeted-producer': ['deliveriesPerSecond', 'p50', 'p90', 'p99', 'max', 'lost', 'misdelivered', 'duplicated', 'failedSends'],
  'connection-storm': ['connectionsPerSecond', 'failures', 'p50', 'p90', 'p99', 'max'],
  'idle-memory': ['kbPerConnection', 'rssBeforeMB', 'rssAfterMB'],
};

const paramsKey = (r: Result) => Object.entries(r.params).map(([k, v]) => `${k}=${v}`).join(' ');

/** A markdown table per scenario: one row per system and parameter set, and the ratio ours/socketio where both ran. */
export function markdownTables(results: Result[]): string {
  const out: string[] = [];
  for (const scenario of [...new Set(results.map((r) => r.scenario))]) {
    if (scenario === REDIS_IDLE) continue;
    const rows = results.filter((r) => r.scenario === scenario);
    const columns = COLUMNS[scenario] ?? Object.keys(rows[0]!.figures);
    out.push(`### ${scenario}`, '', `| params | system | ${columns.join(' | ')} |`, `|${' --- |'.repeat(columns.length + 2)}`);
    for (const key of [...new Set(rows.map(paramsKey))]) {
      const ours = rows.find((r) => r.system === 'ours' && paramsKey(r) === key);
      const theirs = rows.find((r) => r.system === 'socketio' && paramsKey(r) === key);
      for (const r of [ours, theirs]) if (r) out.push(`| ${key} | ${r.system} | ${columns.map((c) => r.figures[c] ?? '').join(' | ')} |`);
      if (ours && theirs) {
        const ratio = (c: string) => {
          const a = ours.figures[c];
          const b = theirs.figures[c];
          return a === undefined || b === undefined || b === 0 ? '' : `${(a / b).toFixed(2)}×`;
        };
        out.push(`| ${key} | **ours/socketio** | ${columns.map(ratio).join(' | ')} |`);
      }
    }
    out.push('');
  }
  return out.join('\n');
}

/** The result that holds Redis' CPU per second with nothing sent; shown only in the Redis CPU table. */
const REDIS_IDLE = 'redis-idle';

/**
 * Redis CPU per step: per event (per connection for the storm, per second
 * for redis-idle), summed and per node, masters and replicas apart, and how
 * busy the busiest node was. This is what shows how the load spreads over a
 * cluster's masters, and what each would have left on a core of its own.
 */
export function redisCpuTables(results: Result[]): string {
  const rows = results.filter((r) => r.redis);
  if (rows.length === 0) return '';
  const out = [
    '### Redis CPU (µs per event; per connection for connection-storm; per second for redis-idle)',
    '',
    '| scenario | params | system | total | masters | replicas | per master | per replica | busiest node, % of a core |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of rows) {
    const cpu = r.redis!;
    const each = (role: 'master' | 'replica') => cpu.nodes.filter((n) => n.role === role).map((n) => n.us).join(' / ') || '—';
    out.push(`| ${r.scenario} | ${paramsKey(r)} | ${r.system} | ${cpu.total} | ${cpu.masters} | ${cpu.replicas} | ${each('master')} | ${each('replica')} | ${cpu.busiestPercent} |`);
  }
  out.push(
    '',
    '### Redis time by command (calls and µs inside the command, per event; a script counts as its EVALSHA)',
    '',
    '| scenario | params | system | commands |',
    '| --- | --- | --- | --- |',
  );
  for (const r of rows) {
    const commands = r.redis!.commands.map((c) => `${c.command} ${c.calls}× ${c.us} µs`).join(', ');
    out.push(`| ${r.scenario} | ${paramsKey(r)} | ${r.system} | ${commands} |`);
  }
  return `${out.join('\n')}\n`;
}

/** A rate step passes if it held: nothing lost, misdelivered or failed, and p99 ≤ 100 ms. */
export function held(r: Result): boolean {
  const f = r.figures;
  return f.lost === 0 && (f.misdelivered ?? 0) === 0 && f.failedSends === 0 && f.duplicated === 0 && (f.p99 ?? Number.POSITIVE_INFINITY) <= 100;
}

/** The ceiling table: per scenario and system, the highest rate held, as deliveries per second. */
export function ceilingTable(ceilings: Array<{ scenario: string; system: string; rate: number; deliveriesPerSecond: number }>): string {
  const out = ['### ceilings (highest rate held with 0 lost and p99 ≤ 100 ms)', '', '| scenario | ours (events/s → deliveries/s) | socketio (events/s → deliveries/s) | ours/socketio |', '| --- | --- | --- | --- |'];
  for (const scenario of [...new Set(ceilings.map((c) => c.scenario))]) {
    const ours = ceilings.find((c) => c.scenario === scenario && c.system === 'ours');
    const theirs = ceilings.find((c) => c.scenario === scenario && c.system === 'socketio');
    const cell = (c: typeof ours) => (c ? `${c.rate} → ${c.deliveriesPerSecond}` : '—');
    const ratio = ours && theirs && theirs.deliveriesPerSecond > 0 ? `${(ours.deliveriesPerSecond / theirs.deliveriesPerSecond).toFixed(2)}×` : '—';
    out.push(`| ${scenario} | ${cell(ours)} | ${cell(theirs)} | ${ratio} |`);
  }
  return `${out.join('\n')}\n`;
}
