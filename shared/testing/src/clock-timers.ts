/** The parts of a fake clock (@sinonjs/fake-timers' createClock()) the clients' timers need. */
export interface FakeClock {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: never): void;
  readonly now: number;
}

/** A fake clock as the web client's `timers` option: reconnect backoff and heartbeats wait until the test moves the clock. */
export function clockTimers(clock: FakeClock): { setTimeout(fn: () => void, ms: number): unknown; clearTimeout(handle: unknown): void; now(): number } {
  return {
    setTimeout: (fn, ms) => clock.setTimeout(fn, ms),
    clearTimeout: (handle) => clock.clearTimeout(handle as never),
    now: () => clock.now,
  };
}
