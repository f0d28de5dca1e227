import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { TurnBatch, type TurnBatchOptions } from '../src/turn-batch.js';

interface Item {
  value: number;
  answer: (outcome: string) => void;
}

/** A group commit of Items: `commit` sees each batch's values; `fail` answers `failed <value>: <message>`. */
function batcher(commit: (values: number[], batch: Item[]) => void | Promise<void>, more: Partial<TurnBatchOptions<Item[]>> = {}): TurnBatch<Item[]> {
  return new TurnBatch<Item[]>({
    empty: () => [],
    commit: (batch) => commit(batch.map((i) => i.value), batch),
    fail: (batch, err) => {
      for (const item of batch) item.answer(`failed ${item.value}: ${(err as Error).message}`);
    },
    ...more,
  });
}

const add = (batches: TurnBatch<Item[]>, value: number) => new Promise<string>((answer) => batches.gather().push({ value, answer }));
const stored = (batch: Item[]) => {
  for (const item of batch) item.answer(`stored ${item.value}`);
};
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

t.test('items gathered in one turn leave together at its end, as one batch', async (t) => {
  const seen: number[][] = [];
  const batches = batcher(async (values, batch) => {
    seen.push(values);
    stored(batch);
  });
  const answers = Promise.all([add(batches, 1), add(batches, 2), add(batches, 3)]);
  t.same(seen, [], 'nothing left during the turn');
  t.same(await answers, ['stored 1', 'stored 2', 'stored 3']);
  t.same(seen, [[1, 2, 3]]);
});

t.test('at most one batch is in flight; items added meanwhile leave together as the next batch', async (t) => {
  const seen: number[][] = [];
  let inFlight = 0;
  let mostInFlight = 0;
  let release: () => void = () => {};
  const batches = batcher(async (values, batch) => {
    seen.push(values);
    mostInFlight = Math.max(mostInFlight, ++inFlight);
    if (seen.length === 1) await new Promise<void>((r) => (release = r));
    inFlight -= 1;
    stored(batch);
  });
  const first = add(batches, 1);
  await nextTurn();
  // Each in a turn of its own: without the batch in flight, each would have left alone.
  const later = [add(batches, 2)];
  await nextTurn();
  later.push(add(batches, 3));
  await nextTurn();
  later.push(add(batches, 4));
  await nextTurn();
  t.same(seen, [[1]], 'the later items wait for the batch in flight');
  release();
  await Promise.all([first, ...later]);
  t.same(seen, [[1], [2, 3, 4]]);
  t.equal(mostInFlight, 1);
});

t.test('a commit that returns nothing is done when it returns: the next turn’s batch leaves at that turn’s end', async (t) => {
  const seen: number[][] = [];
  // Answered later, on their own, as a pipeline's replies would be.
  const unanswered: Item[][] = [];
  const batches = batcher((values, batch) => {
    seen.push(values);
    unanswered.push(batch);
  });
  const first = add(batches, 1);
  await nextTurn();
  const second = add(batches, 2);
  await nextTurn();
  t.same(seen, [[1], [2]], 'the second batch did not wait for the first to be answered');
  for (const batch of unanswered) stored(batch);
  t.same(await Promise.all([first, second]), ['stored 1', 'stored 2']);
});

t.test('writes held back: a socket corked when it joins is uncorked at the end of the turn, its writes in one writev', async (t) => {
  const writes: number[] = [];
  const sink = () =>
    new Writable({
      writev(chunks, done) {
        writes.push(chunks.length);
        done();
      },
      write(_chunk, _encoding, done) {
        writes.push(1);
        done();
      },
    });
  const corked = new TurnBatch<Writable[]>({
    empty: () => [],
    commit: (sockets) => {
      for (const socket of sockets) socket.uncork();
    },
    fail: () => {},
  });
  const write = (socket: Writable, data: string) => {
    if (socket.writableCorked === 0) {
      socket.cork();
      corked.gather().push(socket);
    }
    socket.write(data);
  };
  const a = sink();
  const b = sink();
  write(a, 'one');
  write(b, 'one');
  write(a, 'two');
  write(a, 'three');
  t.same(writes, [], 'held during the turn');
  await nextTurn();
  t.same([...writes].sort(), [1, 3], 'each socket written once: b its one frame, a its three in one writev');
  t.equal(a.writableCorked + b.writableCorked, 0);
  write(a, 'four');
  await nextTurn();
  t.same(writes.slice(2), [1], 'a later turn leaves on its own');
});

t.test('a commit that throws fails its own batch only; the next batch is committed', async (t) => {
  const batches = batcher(async (values, batch) => {
    if (values.some((v) => v < 0)) throw new RangeError('Maximum call stack size exceeded');
    stored(batch);
  });
  const first = await Promise.all([add(batches, 1), add(batches, -1)]);
  t.same(first, ['failed 1: Maximum call stack size exceeded', 'failed -1: Maximum call stack size exceeded']);
  t.same(await Promise.all([add(batches, 2), add(batches, 3)]), ['stored 2', 'stored 3'], 'the process and the batcher go on');
});

t.test('a commit that throws synchronously, with or without a promise to return, is answered the same way', async (t) => {
  for (const returnsPromise of [true, false]) {
    const batches = batcher((values, batch) => {
      if (values[0] === 0) throw new TypeError('sync');
      stored(batch);
      return returnsPromise ? Promise.resolve() : undefined;
    });
    t.equal(await add(batches, 0), 'failed 0: sync');
    t.equal(await add(batches, 1), 'stored 1');
  }
});

t.test('an answer that throws does not leave the batcher: the next batch is committed', async (t) => {
  const batches = batcher(
    async () => {
      throw new Error('down');
    },
    {
      fail: (batch) => {
        batch[0]!.answer('failed');
        throw new Error('the answer threw');
      },
    },
  );
  // An exception out of deferred work would be uncaught: tap fails the test on one.
  t.equal(await add(batches, 1), 'failed');
  t.equal(await add(batches, 2), 'failed', 'the batcher still works');
});

t.test('drain resolves once every item gathered so far is committed, the one gathering now included', async (t) => {
  const committed: number[] = [];
  let release: () => void = () => {};
  const batches = batcher(async (values, batch) => {
    if (committed.length === 0) await new Promise<void>((r) => (release = r));
    committed.push(...values);
    stored(batch);
  });
  void add(batches, 1);
  await nextTurn();
  void add(batches, 2);
  void add(batches, 3);
  const drained = batches.drain().then(() => [...committed]);
  release();
  t.same(await drained, [1, 2, 3]);
  await batches.drain();
  t.pass('an idle batcher drains at once');
});

t.test('an item taken back from the batch gathering does not leave', async (t) => {
  const seen: string[][] = [];
  const changes = new TurnBatch<Set<string>>({
    empty: () => new Set(),
    commit: (channels) => {
      seen.push([...channels]);
    },
    fail: () => {},
  });
  t.equal(changes.gathering, undefined, 'nothing gathering before the first item');
  changes.gather().add('a');
  changes.gather().add('b');
  changes.gathering?.delete('a');
  await nextTurn();
  t.same(seen, [['b']]);
  t.equal(changes.gathering, undefined, 'nothing gathering once it left');
});

t.test('with a minimum interval, a batch leaves no sooner than that after the one before; an idle batcher does not wait', async (t) => {
  const starts: Array<{ at: number; size: number }> = [];
  const batches = batcher(
    async (values, batch) => {
      starts.push({ at: performance.now(), size: values.length });
      stored(batch);
    },
    { minIntervalMs: 50 },
  );
  const idle = batcher(async (_values, batch) => stored(batch), { minIntervalMs: 600_000 });
  // Generous: had it waited out its ten-minute interval, this would say so.
  const first = await Promise.race([add(idle, 0), new Promise((r) => setTimeout(() => r('waited'), 10_000).unref())]);
  t.equal(first, 'stored 0', 'an idle batcher sends at once, whatever its interval');
  t.equal(await add(batches, 1), 'stored 1', 'the first item left at once');
  // Sent right after, over several turns: these wait for the interval and leave together.
  const later = [add(batches, 2)];
  await nextTurn();
  later.push(add(batches, 3));
  await nextTurn();
  later.push(add(batches, 4));
  await Promise.all(later);
  t.same(starts.map((s) => s.size), [1, 3]);
  // Timers may fire up to a millisecond early.
  t.ok(starts[1]!.at - starts[0]!.at >= 49, `the second batch left ${Math.round(starts[1]!.at - starts[0]!.at)} ms after the first`);
});

// Work gathered per turn has one rule, kept in one place: a new end-of-turn
// batcher written by hand would bring its own. Each deferral outside
// turn-batch.ts must be listed here with why it is not one.
const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const NOT_BATCHING: Record<string, string> = {};
const DEFERRAL = /\b(setImmediate|process\.nextTick|queueMicrotask)\s*\(/;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return /\.[cm]?[jt]sx?$/.test(entry.name) ? [path] : [];
  });
}

t.test('work is deferred to the end of a turn only through TurnBatch', async (t) => {
  const found: string[] = [];
  for (const parent of ['services', 'shared']) {
    for (const pkg of readdirSync(join(REPO_ROOT, parent))) {
      let files: string[];
      try {
        files = sources(join(REPO_ROOT, parent, pkg, 'src'));
      } catch {
        continue; // a package without src/
      }
      for (const file of files) {
        const path = relative(REPO_ROOT, file);
        if (path === 'shared/runtime/src/turn-batch.ts') continue;
        readFileSync(file, 'utf8')
          .split('\n')
          .forEach((line, i) => {
            if (DEFERRAL.test(line) && !NOT_BATCHING[`${path}: ${line.trim()}`]) found.push(`${path}:${i + 1}: ${line.trim()}`);
          });
      }
    }
  }
  t.same(found, [], 'gather per-turn work with TurnBatch (shared/runtime/src/turn-batch.ts), or list the line in NOT_BATCHING with why');
});
