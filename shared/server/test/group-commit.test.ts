import t from 'tap';
import { GroupCommit } from '../src/group-commit.js';

interface Item {
  value: number;
  answer: (outcome: string) => void;
}

const add = (commits: GroupCommit<Item>, value: number) => new Promise<string>((answer) => commits.add({ value, answer }));

t.test('a commit that throws fails its own batch only; the next batch is committed', async (t) => {
  const commits = new GroupCommit<Item>(
    async (batch) => {
      if (batch.some((i) => i.value < 0)) throw new RangeError('Maximum call stack size exceeded');
      for (const item of batch) item.answer(`stored ${item.value}`);
    },
    (batch, err) => {
      for (const item of batch) item.answer(`failed ${item.value}: ${(err as Error).message}`);
    },
  );
  const first = await Promise.all([add(commits, 1), add(commits, -1)]);
  t.same(first, ['failed 1: Maximum call stack size exceeded', 'failed -1: Maximum call stack size exceeded']);
  t.same(await Promise.all([add(commits, 2), add(commits, 3)]), ['stored 2', 'stored 3'], 'the process and the batcher go on');
});

t.test('a commit that throws synchronously is answered the same way', async (t) => {
  const commits = new GroupCommit<Item>(
    (batch) => {
      if (batch[0]!.value === 0) throw new TypeError('sync');
      for (const item of batch) item.answer('stored');
      return Promise.resolve();
    },
    (batch) => {
      for (const item of batch) item.answer('failed');
    },
  );
  t.equal(await add(commits, 0), 'failed');
  t.equal(await add(commits, 1), 'stored');
});

t.test('items added while a batch is on its way leave together as the next batch', async (t) => {
  const batches: number[][] = [];
  let release: () => void = () => {};
  const commits = new GroupCommit<Item>(
    async (batch) => {
      batches.push(batch.map((i) => i.value));
      if (batches.length === 1) await new Promise<void>((r) => (release = r));
      for (const item of batch) item.answer('stored');
    },
    () => {},
  );
  const first = add(commits, 1);
  await new Promise((r) => setImmediate(r));
  const later = [add(commits, 2), add(commits, 3), add(commits, 4)];
  release();
  await Promise.all([first, ...later]);
  t.same(batches, [[1], [2, 3, 4]]);
});

t.test('with a minimum interval, a batch leaves no sooner than that after the one before; an idle batcher does not wait', async (t) => {
  const starts: Array<{ at: number; size: number }> = [];
  const commits = new GroupCommit<Item>(
    async (batch) => {
      starts.push({ at: performance.now(), size: batch.length });
      for (const item of batch) item.answer('stored');
    },
    () => {},
    50,
  );
  const idle = new GroupCommit<Item>(
    async (batch) => {
      for (const item of batch) item.answer('stored');
    },
    () => {},
    600_000,
  );
  // Generous: had it waited out its ten-minute interval, this would say so.
  const first = await Promise.race([add(idle, 0), new Promise((r) => setTimeout(() => r('waited'), 10_000))]);
  t.equal(first, 'stored', 'an idle batcher sends at once, whatever its interval');
  t.equal(await add(commits, 1), 'stored', 'the first item left at once');
  // Sent right after: these wait for the interval and leave together.
  await Promise.all([add(commits, 2), add(commits, 3), add(commits, 4)]);
  t.same(starts.map((s) => s.size), [1, 3]);
  t.ok(starts[1]!.at - starts[0]!.at >= 49, `the second batch left ${Math.round(starts[1]!.at - starts[0]!.at)} ms after the first`);
});
