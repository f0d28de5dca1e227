/**
 * Operator CLI for the notifications queue (`npm run jobs -- <command>`).
 * Reads REDIS_CLUSTER_NODES or REDIS_URL (or REDIS_HOST / REDIS_PORT) and QUEUE_NAME like event-ingest.
 * Exit codes: 0 done, 1 error, 2 bad usage.
 */
import { createRedis, QUEUE_PREFIX, waitUntilReady } from '@parking-realtime/redis';
import { commonEnv, loadEnv, redisTargetFrom } from '@parking-realtime/runtime';
import { Queue } from 'bullmq';
import { eventIngestEnv } from './config.js';
import { listFailed, replayAllFailed, replayFailed } from './failed-jobs.js';

const USAGE = `usage: npm run jobs -- <command>
  failed [--limit N]   failed jobs, newest first, one JSON line each (default 50, at most 10000)
  replay <id>          move one failed job back to waiting
  replay --all         move every failed job back to waiting
  counts               job counts by state, as JSON
environment: REDIS_CLUSTER_NODES, or REDIS_URL (or REDIS_HOST, REDIS_PORT), QUEUE_NAME (default notifications)`;

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 10_000;
const CONNECT_TIMEOUT_MS = 5000;

type Command = { kind: 'failed'; limit: number } | { kind: 'replay'; id: string } | { kind: 'replay-all' } | { kind: 'counts' };

class UsageError extends Error {}

function parseLimit(value: string | undefined): number {
  if (value === undefined || !/^\d+$/.test(value)) throw new UsageError('--limit needs a positive integer');
  const n = Number(value);
  if (n < 1 || n > MAX_LIMIT) throw new UsageError(`--limit must be between 1 and ${MAX_LIMIT}`);
  return n;
}

function parseArgs(args: readonly string[]): Command {
  const [command, ...rest] = args;
  switch (command) {
    case 'failed': {
      let limit = DEFAULT_LIMIT;
      for (let i = 0; i < rest.length; i++) {
        const arg = rest[i]!;
        if (arg === '--limit') limit = parseLimit(rest[++i]);
        else if (arg.startsWith('--limit=')) limit = parseLimit(arg.slice('--limit='.length));
        else throw new UsageError(`unexpected argument ${JSON.stringify(arg)}`);
      }
      return { kind: 'failed', limit };
    }
    case 'replay': {
      if (rest.length !== 1) throw new UsageError('replay takes one job id, or --all');
      const target = rest[0]!;
      if (target === '--all') return { kind: 'replay-all' };
      if (target.startsWith('-') || target === '') throw new UsageError(`unexpected argument ${JSON.stringify(target)}`);
      return { kind: 'replay', id: target };
    }
    case 'counts':
      if (rest.length > 0) throw new UsageError('counts takes no arguments');
      return { kind: 'counts' };
    default:
      throw new UsageError(command === undefined ? 'missing command' : `unknown command ${JSON.stringify(command)}`);
  }
}

const cliEnv = {
  REDIS_URL: commonEnv.REDIS_URL,
  REDIS_HOST: commonEnv.REDIS_HOST,
  REDIS_PORT: commonEnv.REDIS_PORT,
  REDIS_CLUSTER_NODES: commonEnv.REDIS_CLUSTER_NODES,
  QUEUE_NAME: eventIngestEnv.QUEUE_NAME,
};

async function run(command: Command, out: (line: string) => void): Promise<void> {
  const env = loadEnv(cliEnv);
  const redis = createRedis(redisTargetFrom(env), { name: 'jobs-cli', failFast: true });
  let queue: Queue | undefined;
  try {
    try {
      await waitUntilReady(redis, CONNECT_TIMEOUT_MS);
    } catch {
      throw new Error(`Redis unreachable: not ready after ${CONNECT_TIMEOUT_MS} ms (check REDIS_CLUSTER_NODES / REDIS_URL / REDIS_HOST / REDIS_PORT)`);
    }
    queue = new Queue(env.QUEUE_NAME, { connection: redis, prefix: QUEUE_PREFIX });
    queue.on('error', () => {});
    switch (command.kind) {
      case 'failed':
        for (const job of await listFailed(queue, { start: 0, end: command.limit - 1 })) out(JSON.stringify(job));
        break;
      case 'replay':
        await replayFailed(queue, command.id);
        out(JSON.stringify({ replayed: 1, id: command.id }));
        break;
      case 'replay-all':
        out(JSON.stringify({ replayed: await replayAllFailed(queue) }));
        break;
      case 'counts':
        out(JSON.stringify(await queue.getJobCounts()));
        break;
    }
  } finally {
    await queue?.close().catch(() => {});
    redis.disconnect();
  }
}

async function main(): Promise<number> {
  let command: Command;
  try {
    command = parseArgs(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`${err.message}\n${USAGE}\n`);
    return 2;
  }
  try {
    await run(command, (line) => process.stdout.write(`${line}\n`));
    return 0;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`${typeof code === 'string' ? `${code}: ` : ''}${message}\n`);
    return 1;
  }
}

process.exitCode = await main();
