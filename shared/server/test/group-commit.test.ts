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
