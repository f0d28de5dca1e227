import { LatencyRecorder } from '../stats.js';
import type { BenchPayload } from '../systems/system.js';

/** What one round of sends delivered: the figures every delivery scenario reports. */
export interface DeliveryFigures {
  sent: number;
  failedSends: number;
  expected: number;
  delivered: number;
  lost: number;
  duplicated: number;
  misdelivered: number;
  deliveriesPerSecond: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/**
 * Accounts for one round: each (recipient, event) pair is expected once. A
 * bitmap finds duplicates; latency is receipt time minus the event's creation
 * time, both read from this process' monotonic clock.
 */
let rounds = 0;

export class DeliveryRound {
  readonly id = ++rounds;
  private readonly seen: Uint8Array;
  private readonly latencies = new LatencyRecorder();
  delivered = 0;
  duplicated = 0;
  misdelivered = 0;
  failedSends = 0;
  private firstSend = Number.POSITIVE_INFINITY;
  private lastReceipt = 0;

  constructor(
    readonly events: number,
    readonly expected: number,
    /** The bitmap slot of a delivery, or -1 if it was not meant for this recipient. */
    private readonly slotOf: (recipient: number, payload: BenchPayload) => number,
    slots: number,
  ) {
    this.seen = new Uint8Array(slots);
  }

  onSend(now: number): void {
    if (now < this.firstSend) this.firstSend = now;
  }

  onPayload(recipient: number, payload: BenchPayload): void {
    const now = performance.now();
    if (payload.round !== this.id) return;
    const slot = this.slotOf(recipient, payload);
    if (slot < 0) {
      this.misdelivered++;
      return;
    }
    if (this.seen[slot]) {
      this.duplicated++;
      return;
    }
    this.seen[slot] = 1;
    this.delivered++;
    this.lastReceipt = now;
    this.latencies.add(now - payload.sent);
  }

  /** Resolves when every expected delivery arrived, or nothing arrived for `idleMs`. */
  async settle(idleMs = 3000, pollMs = 50): Promise<void> {
    let last = this.delivered;
    let quietSince = performance.now();
    while (this.delivered < this.expected) {
      await new Promise((r) => setTimeout(r, pollMs));
      if (this.delivered !== last) {
        last = this.delivered;
        quietSince = performance.now();
      } else if (performance.now() - quietSince > idleMs) {
        return;
      }
    }
  }

  figures(): DeliveryFigures {
    const seconds = (this.lastReceipt - this.firstSend) / 1000;
    return {
      sent: this.events,
      failedSends: this.failedSends,
      expected: this.expected,
      delivered: this.delivered,
      lost: this.expected - this.delivered,
      duplicated: this.duplicated,
      misdelivered: this.misdelivered,
      deliveriesPerSecond: seconds > 0 ? Math.round(this.delivered / seconds) : 0,
      ...this.latencies.summary(),
    };
  }
}

/**
 * Calls `send(seq)` for seq 0…count-1 at `ratePerSecond`, on schedule even if
 * earlier sends have not finished (an open model: a slow system gets the load
 * anyway, as it would in production). Resolves when every send settled.
 */
export async function sendAtRate(count: number, ratePerSecond: number, send: (seq: number) => Promise<void>, onFailure: () => void): Promise<void> {
  const start = performance.now();
  const pending: Array<Promise<void>> = [];
  let seq = 0;
  while (seq < count) {
    const due = Math.min(count, Math.floor(((performance.now() - start) / 1000) * ratePerSecond) + 1);
    for (; seq < due; seq++) pending.push(send(seq).catch(onFailure));
    if (seq < count) {
      const nextAt = start + (seq * 1000) / ratePerSecond;
      await new Promise((r) => setTimeout(r, Math.max(1, nextAt - performance.now())));
    }
  }
  await Promise.all(pending);
}
