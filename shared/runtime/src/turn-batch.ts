export interface TurnBatchOptions<B> {
  /** A new, empty batch; called when the first item of a batch joins. */
  empty(): B;
  /**
   * Sends a batch and answers its items. The batch is in flight until this
   * returns, or until the promise it returns settles. Returning nothing suits
   * work that only needs sending together and answers itself later (one
   * pipeline per turn, sockets uncorked at the end of the turn); returning the
   * promise holds the next batch back until this one is answered (group commit).
   */
  commit(batch: B): void | Promise<void>;
  /** Answers every item of a batch whose commit threw or rejected, with the error. */
  fail(batch: B, err: unknown): void;
  /**
   * A batch leaves no sooner than this after the one before it left, so under
   * load batches grow by the interval's worth instead of leaving one per
   * round trip. Default 0.
   */
  minIntervalMs?: number;
}

/**
 * The one way work gathered per turn of the event loop is sent: the items
 * gathered during one turn leave together, as one batch, at the end of that
 * turn (setImmediate). At most one batch is in flight; what is gathered
 * meanwhile leaves as the next batch once it settles (with `minIntervalMs`, no
 * sooner than that after the previous batch left; an item that finds the
 * batcher idle for longer leaves at the end of its turn, so a quiet system
 * pays nothing for it). A commit that throws or rejects fails only its own
 * batch, and nothing deferred here throws: the work runs after its caller
 * returned, where an exception would end the process.
 *
 * A batch is whatever `empty()` makes (usually an array); callers add to
 * `gather()`'s. Writes held back fit the same rule: cork a socket when it
 * joins the batch, and let a commit that returns nothing uncork it.
 */
export class TurnBatch<B> {
  private open: B | undefined;
  private inFlight: Promise<void> | undefined;
  private lastStart = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly minIntervalMs: number;
  // Bound once: scheduling and settling allocate no closure per batch.
  private readonly leave = (): void => this.flush();
  private readonly settle = (): void => {
    this.inFlight = undefined;
    if (this.open !== undefined) this.schedule();
  };

  constructor(private readonly options: TurnBatchOptions<B>) {
    this.minIntervalMs = options.minIntervalMs ?? 0;
  }

  /** The batch gathering now, to add to: opened, and due to leave, if none was. */
  gather(): B {
    if (this.open === undefined) {
      this.open = this.options.empty();
      if (!this.inFlight) this.schedule();
    }
    return this.open;
  }

  /** The batch gathering now, if any; for taking back an item that has not left yet. */
  get gathering(): B | undefined {
    return this.open;
  }

  /** Resolves once every batch gathered so far has been committed (sending the one gathering now at once). */
  async drain(): Promise<void> {
    while (this.inFlight || this.open !== undefined) {
      if (!this.inFlight) this.flush();
      await this.inFlight;
    }
  }

  /** Leaves at the end of this turn, or once the interval since the last batch left is over. */
  private schedule(): void {
    if (this.timer) return;
    const wait = this.minIntervalMs > 0 ? this.lastStart + this.minIntervalMs - Date.now() : 0;
    if (wait > 0) this.timer = setTimeout(this.leave, wait);
    else setImmediate(this.leave);
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.open;
    if (this.inFlight || batch === undefined) return;
    this.open = undefined;
    if (this.minIntervalMs > 0) this.lastStart = Date.now();
    let sent: void | Promise<void>;
    try {
      sent = this.options.commit(batch);
    } catch (err) {
      this.fail(batch, err);
      return;
    }
    if (sent instanceof Promise) this.inFlight = sent.catch((err: unknown) => this.fail(batch, err)).then(this.settle);
  }

  private fail(batch: B, err: unknown): void {
    try {
      this.options.fail(batch, err);
    } catch {
      // An answer that throws cannot be answered again; the rest of the batch was answered.
    }
  }
}
