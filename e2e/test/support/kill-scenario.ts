import { ReconnectingClient, TestSocket } from '@parking-realtime/testing';
import type { Test } from 'tap';
import { type DeliveryFigures, deliveryFigures, waitForDue } from './cluster.js';

// The fault tests' kill scenario (issues #14 and #18): clients listening, a stream of events
// numbered 1…N, the process under test killed halfway, and every client receiving each event it
// is due once and in order, resuming from history where it was cut off. Each test brings its
// own stack, its own way of killing and its own checks of what came back.

/** A client of the scenario, and the sequence numbers it is due. */
export interface ScenarioClient {
  client: ReconnectingClient;
  due: Set<number>;
}

/**
 * `count` listeners of parking_lot broadcasts, each due every one of events
 * 1…`events`, opening `socketUrl(i)` on every (re)connection, so each fetches
 * a fresh token.
 */
export function broadcastListeners(count: number, events: number, socketUrl: (i: number) => Promise<string>): ScenarioClient[] {
  return Array.from({ length: count }, (_, i) => ({
    client: new ReconnectingClient(async (resume) => {
      const socket = await TestSocket.connect(await socketUrl(i));
      await socket.subscribe(['parking_lot'], resume);
      return socket;
    }),
    due: new Set(Array.from({ length: events }, (_, s) => s + 1)),
  }));
}

/** Connects the clients twenty at a time: hundreds of token requests and upgrades at once would test something else. */
export async function startClients(clients: ScenarioClient[]): Promise<void> {
  for (let i = 0; i < clients.length; i += 20) await Promise.all(clients.slice(i, i + 20).map((c) => c.client.start()));
}

export interface KillScenarioOptions {
  clients: ScenarioClient[];
  /** How many events: numbered 1…events in `data.seq`, marked with `data.tag`. */
  events: number;
  tag: string;
  /** Sends event `seq`; resolves true once it is acknowledged, false when refused or unanswered. */
  send: (seq: number) => Promise<boolean>;
  /**
   * Sends this many a second, each without waiting for the answers before.
   * Unset: twenty at a time, each twenty acknowledged before the next.
   */
  perSecond?: number;
  /** Kills the process under test, once event `events / 2` is sent (unpaced: once its twenty are acknowledged). */
  kill: () => unknown;
  /** Runs once every send is answered, before waiting for delivery (e.g. to time a restart as it happens). */
  afterSending?: () => Promise<void>;
  /** How long the clients have to receive every event they are due. */
  deliveryTimeoutMs: number;
}

export interface KillScenarioResult {
  figures: DeliveryFigures;
  /** Clients that were cut off and came back. */
  reconnected: number;
  /** `performance.now()` when `kill` had done. */
  killedAt: number;
}

/**
 * Runs the scenario and asserts on `t` what every kill test holds to: each
 * event acknowledged, none lost, none twice, none out of order, no
 * `resume_gap` (the default history reaches back past the outage).
 */
export async function runKillScenario(t: Test, options: KillScenarioOptions): Promise<KillScenarioResult> {
  const { clients, events, tag, send, perSecond, kill, deliveryTimeoutMs } = options;
  const half = Math.ceil(events / 2);
  let killedAt = 0;
  const killOnceSent = async (sent: number) => {
    if (killedAt !== 0 || sent < half) return;
    await kill();
    killedAt = performance.now();
  };

  const answers: Array<Promise<boolean>> = [];
  if (perSecond) {
    const begin = performance.now();
    for (let seq = 1; seq <= events; seq++) {
      // Paced to the rate the scenario names, not a wait for anything.
      const ahead = begin + ((seq - 1) * 1000) / perSecond - performance.now();
      if (ahead > 0) await new Promise((r) => setTimeout(r, ahead));
      answers.push(send(seq));
      await killOnceSent(seq);
    }
  } else {
    for (let seq = 1; seq <= events; seq += 20) {
      const batch = Array.from({ length: Math.min(20, events - seq + 1) }, (_, i) => send(seq + i));
      answers.push(...batch);
      await Promise.all(batch);
      await killOnceSent(seq + batch.length - 1);
    }
  }
  const acknowledged = (await Promise.all(answers)).filter(Boolean).length;
  await options.afterSending?.();

  await waitForDue(clients, tag, deliveryTimeoutMs);
  const figures = deliveryFigures(clients, events, acknowledged, tag);
  t.equal(figures.acknowledged, events, 'every event acknowledged, the kill notwithstanding');
  t.equal(figures.lost, 0, 'lost');
  t.equal(figures.duplicated, 0, 'duplicated');
  t.equal(figures.outOfOrder, 0, 'out of order');
  const gaps = clients.reduce((sum, c) => sum + c.client.gaps.length, 0);
  t.equal(gaps, 0, 'no resume_gap: history (the default 2-minute window) reached back past the outage');
  t.equal(figures.delivered, figures.due, 'delivered as due');
  return { figures, reconnected: clients.filter((c) => c.client.reconnects > 0).length, killedAt };
}
