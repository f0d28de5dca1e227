/**
 * Group commit: items added while a batch is on its way to Redis wait for it,
 * then leave together as the next batch, so Redis reads them in one read and
 * answers in one write. When idle, an item leaves at the end of the current
 * turn of the event loop, with whatever else arrived in that turn.
 *
 * With `minIntervalMs`, a batch leaves no sooner than that after the one
 * before it started, so under load batches grow by the interval's worth
 * instead of leaving one per round trip; an item that finds the batcher idle
 * for longer leaves at the end of its turn as before, so a quiet system pays
 * nothing for it.
 *
 * `commit` answers each item of its batch. If it throws or rejects instead,
 * `fail` answers every item of that batch with the error: the work is
 * deferred, so an exception here would otherwise end the process, and it must
 * cost only the batch it came from.
 */
export class GroupCommit<T> {
  private pending: T[] = [];
  private writing: Promise<void> | undefined;
  private lastStart = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly commit: (batch: T[]) => Promise<void>,
    private readonly fail: (batch: T[], err: unknown) => void,
    private readonly minIntervalMs = 0,
  ) {}

  add(item: T): void {
    if (this.pending.length === 0 && !this.writing) this.schedule();
    this.pending.push(item);
  }

  /** Resolves once every item added so far has been committed. */
  async drain(): Promise<void> {
    while (this.writing || this.pending.length > 0) {
      if (!this.writing) this.flush();
      await this.writing;
    }
  }

  /** Flushes at the end of this turn, or once the interval since the last batch started is over. */
  private schedule(): void {
    if (this.timer) return;
    const wait = this.lastStart + this.minIntervalMs - Date.now();
    if (wait > 0) this.timer = setTimeout(() => this.flush(), wait);
    else setImmediate(() => this.flush());
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.writing || this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.lastStart = Date.now();
    this.writing = this.run(batch).then(() => {
      this.writing = undefined;
      if (this.pending.length > 0) this.schedule();
    });
  }

  private async run(batch: T[]): Promise<void> {
    try {
      await this.commit(batch);
    } catch (err) {
      try {
        this.fail(batch, err);
      } catch {
        // An answer that throws cannot be answered again; the rest of the batch was answered.
      }
    }
  }
}
