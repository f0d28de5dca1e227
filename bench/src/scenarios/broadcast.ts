import type { SystemUnderTest } from '../systems/system.js';
import { Audience } from './audience.js';
import { DeliveryRound, sendAtRate } from './delivery-round.js';
import type { Result } from './result.js';

export interface BroadcastParams {
  clients: number;
  /** Events per second, each to every client. */
  rate: number;
  seconds: number;
}

/** Broadcast fan-out: N clients subscribed to parking_lot, events at a rate over HTTP. */
export async function broadcast(sut: SystemUnderTest, audience: Audience, p: BroadcastParams): Promise<Result> {
  const events = Math.max(1, Math.round(p.rate * p.seconds));
  const clients = audience.connections.length;
  const round = new DeliveryRound(events, events * clients, (client, payload) => client * events + payload.seq, events * clients);
  audience.current = round;
  await sendAtRate(
    events,
    p.rate,
    (seq) => {
      const sent = performance.now();
      round.onSend(sent);
      return sut.postEvent({ type: 'parking_lot', message: 'Lot occupancy changed', data: { round: round.id, seq, sent } });
    },
    () => round.failedSends++,
  );
  await round.settle();
  audience.current = undefined;
  return { scenario: 'broadcast', system: sut.name, params: { clients, rate: p.rate, seconds: p.seconds }, figures: { ...round.figures() } };
}

export async function connectBroadcastAudience(sut: SystemUnderTest, clients: number): Promise<Audience> {
  return Audience.connect(sut, clients, (i) => `fan-${i}`, ['parking_lot']);
}
