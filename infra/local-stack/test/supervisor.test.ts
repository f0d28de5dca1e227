import type { ServiceProcess } from '@parking-realtime/launcher';
import t from 'tap';
import { type RestartPolicy, type SupervisedService, type SupervisorEvent, supervise } from '../src/supervisor.js';

// The supervisor alone, on stand-in processes, with its clock and its waits in
// the test's hands: which delay it asks for, when it starts, what it reports.

type Exit = { code: number | null; signal: NodeJS.Signals | null };

/** A process that exits when told to (or when killed, unless it ignores `signal`). */
class FakeProcess implements ServiceProcess {
  readonly name = 'notifier';
  readonly url = 'http://127.0.0.1:8002';
  readonly port = 8002;
  readonly logs: Array<Record<string, unknown>> = [];
  readonly exited: Promise<Exit>;
  readonly signals: NodeJS.Signals[] = [];
  private exit: Exit | undefined;
  private resolveExit!: (exit: Exit) => void;
  constructor(
    readonly pid: number,
    private readonly ignores: NodeJS.Signals[] = [],
  ) {
    this.exited = new Promise((resolve) => {
      this.resolveExit = resolve;
    });
  }
  output = () => '';
  hasExited = () => this.exit !== undefined;
  die(exit: Exit = { code: null, signal: 'SIGKILL' }): void {
    if (this.exit) return;
    this.exit = exit;
    this.resolveExit(exit);
  }
  kill = async (signal: NodeJS.Signals = 'SIGTERM') => {
    this.signals.push(signal);
    if (!this.ignores.includes(signal)) this.die({ code: signal === 'SIGTERM' ? 0 : null, signal: signal === 'SIGTERM' ? null : signal });
    await this.exited;
  };
}

/** A controllable world: every start and every wait the supervisor asks for is held until the test lets it go. */
function harness(policy: Partial<RestartPolicy> = {}) {
  let clock = 0;
  let nextPid = 100;
  const events: SupervisorEvent[] = [];
  const waits: Array<{ ms: number; release: () => void; signal: AbortSignal }> = [];
  const starts: Array<{ signal: AbortSignal; succeed: (p?: FakeProcess) => FakeProcess; fail: (err: Error) => void }> = [];
  const processes: FakeProcess[] = [];
  let onChange = () => {};
  const changed = () => onChange();
  /** Resolves once `check` holds, re-checked whenever the supervisor does something. */
  const until = <T>(check: () => T | undefined): Promise<T> =>
    new Promise((resolve) => {
      const attempt = () => {
        const value = check();
        if (value !== undefined) resolve(value);
        else onChange = attempt;
      };
      attempt();
    });
  const first = new FakeProcess(nextPid++);
  processes.push(first);
  const supervised = supervise({
    start: (signal) => {
      // The first start (the stack coming up) succeeds at once.
      if (starts.length === 0) {
        starts.push({ signal, succeed: () => first, fail: () => {} });
        return Promise.resolve(first);
      }
      return new Promise<ServiceProcess>((resolve, reject) => {
        starts.push({
          signal,
          succeed: (p = new FakeProcess(nextPid++)) => {
            processes.push(p);
            resolve(p);
            return p;
          },
          fail: reject,
        });
        changed();
      });
    },
    policy,
    onEvent: (event) => {
      events.push(event);
      changed();
    },
    now: () => clock,
    wait: (ms, signal) =>
      new Promise<void>((resolve) => {
        waits.push({ ms, release: resolve, signal });
        signal.addEventListener('abort', () => resolve(), { once: true });
        changed();
      }),
  });
  return {
    supervised,
    events,
    waits,
    starts,
    processes,
    until,
    advance: (ms: number) => {
      clock += ms;
    },
  };
}

const nthWait = (h: ReturnType<typeof harness>, n: number) => h.until(() => h.waits[n]);
const nthStart = (h: ReturnType<typeof harness>, n: number) => h.until(() => h.starts[n]);
const nthEvent = (h: ReturnType<typeof harness>, n: number) => h.until(() => h.events[n]);

t.test('a process that dies is started again after 0.5 s, and the restart is reported with the new pid', async (t) => {
  const h = harness();
  const service: SupervisedService = await h.supervised;
  t.equal(service.pid, 100);
  h.processes[0]!.die();
  t.same(await nthEvent(h, 0), { type: 'died', pid: 100, code: null, signal: 'SIGKILL', restartInMs: 500 }, 'the death, with the wait before the restart');
  t.equal((await nthWait(h, 0)).ms, 500, 'it waits 500 ms');
  t.equal(h.starts.length, 1, 'and starts nothing before');
  h.advance(500);
  h.waits[0]!.release();
  (await nthStart(h, 1)).succeed();
  t.match(await nthEvent(h, 1), { type: 'restarted', pid: 101, restarts: 1, downMs: 500 });
  t.equal(service.pid, 101, 'the handle follows the new process');
  t.equal(service.restarts, 1);
  t.notOk(service.hasExited(), 'the service as a whole never stopped');
  await service.kill();
});

t.test('deaths in a row wait 0.5, 1, 2, 4, 8, then 10 s; after 10 s up, 0.5 s again', async (t) => {
  const h = harness();
  const service = await h.supervised;
  const delays: number[] = [];
  for (let i = 0; i < 7; i++) {
    h.processes.at(-1)!.die();
    const wait = await nthWait(h, i);
    delays.push(wait.ms);
    h.advance(wait.ms + 100); // each comes back and dies 0.1 s later
    wait.release();
    (await nthStart(h, i + 1)).succeed();
    await nthEvent(h, 2 * i + 1);
  }
  t.same(delays, [500, 1000, 2000, 4000, 8000, 10_000, 10_000], 'doubling, capped at 10 s');
  h.advance(10_000);
  h.processes.at(-1)!.die();
  t.equal((await nthWait(h, 7)).ms, 500, 'a process that stayed up 10 s was healthy: the next wait is 0.5 s');
  t.match(h.events.at(-1), { type: 'died', restartInMs: 500 });
  await service.kill();
});

t.test('a restart that fails is reported and tried again, waiting longer', async (t) => {
  const h = harness();
  const service = await h.supervised;
  h.processes[0]!.die({ code: 1, signal: null });
  (await nthWait(h, 0)).release();
  (await nthStart(h, 1)).fail(new Error('notifier exited (1) before it was ready:\n…'));
  t.match(await nthEvent(h, 1), { type: 'restart-failed', restartInMs: 1000, error: { message: /exited \(1\)/ } });
  t.equal((await nthWait(h, 1)).ms, 1000, 'the next try waits 1 s');
  h.waits[1]!.release();
  (await nthStart(h, 2)).succeed();
  t.match(await nthEvent(h, 2), { type: 'restarted', restarts: 1 });
  await service.kill();
});

t.test('kill() stops it for good: SIGTERM to the process, no restart, exited resolves', async (t) => {
  const h = harness();
  const service = await h.supervised;
  await service.kill();
  t.same(h.processes[0]!.signals, ['SIGTERM']);
  t.ok(service.hasExited());
  t.same(await service.exited, { code: 0, signal: null });
  t.same(h.events, [], 'a stop is not a death');
  t.equal(h.starts.length, 1, 'nothing started again');
});

t.test('stopping while a restart waits: the wait is cut short and nothing starts', async (t) => {
  const h = harness();
  const service = await h.supervised;
  h.processes[0]!.die();
  const wait = await nthWait(h, 0);
  await service.kill();
  t.ok(wait.signal.aborted, 'the wait was aborted');
  t.equal(h.starts.length, 1, 'no new start');
  t.ok(service.hasExited());
});

t.test('stopping while a restart is starting: the start is aborted, and stop waits for it to end', async (t) => {
  const h = harness();
  const service = await h.supervised;
  h.processes[0]!.die();
  (await nthWait(h, 0)).release();
  const start = await nthStart(h, 1);
  let stopped = false;
  const stopping = service.kill().then(() => {
    stopped = true;
  });
  await h.until(() => (start.signal.aborted ? true : undefined));
  t.notOk(stopped, 'stop waits for the start in progress');
  start.fail(new Error('notifier: start aborted')); // as startNodeProcess does once its child has exited
  await stopping;
  t.same(
    h.events.map((e) => e.type),
    ['died'],
    'the aborted start is not reported as a failure',
  );
});

t.test('a start that completes just as the stop comes is stopped too', async (t) => {
  const h = harness();
  const service = await h.supervised;
  h.processes[0]!.die();
  (await nthWait(h, 0)).release();
  const start = await nthStart(h, 1);
  const stopping = service.kill();
  const late = start.succeed();
  await stopping;
  t.same(late.signals, ['SIGTERM'], 'the process that came up is terminated');
  t.ok(late.hasExited());
  t.same(
    h.events.map((e) => e.type),
    ['died'],
    'and not reported back',
  );
});

t.test('a process that ignores SIGTERM is SIGKILLed after the grace period', async (t) => {
  const h = harness({ stopGraceMs: 50 });
  const service = await h.supervised;
  // Through a restart, a process that does not stop on SIGTERM.
  h.processes[0]!.die();
  (await nthWait(h, 0)).release();
  const stubborn = (await nthStart(h, 1)).succeed(new FakeProcess(999, ['SIGTERM']));
  await nthEvent(h, 1);
  await service.kill();
  t.same(stubborn.signals, ['SIGTERM', 'SIGKILL']);
  t.same(await service.exited, { code: null, signal: 'SIGKILL' });
});
