import type { SystemUnderTest } from '../systems/system.js';
import { Audience } from './audience.js';
import { DeliveryRound, sendAtRate } from './delivery-round.js';
import type { Result } from './result.js';

export interface TargetedParams {
  /** Events per second, each to one user. */
  rate: number;
  seconds: number;
  via: 'http' | 'producer';
}

const userOf = (i: number) => `user-${i}`;

/** Targeted end to end: each event names one user (round robin); each user has one socket. */
export async function targeted(sut: SystemUnderTest, audience: Audience, p: TargetedParams): Promise<Result> {
  const send = p.via === 'producer' ? sut.produceEvent : sut.postEvent;
  if (!send) throw new Error(`${sut.name} has no ${p.via} path`);
  const users = audience.connections.length;
  const events = Math.max(1, Math.round(p.rate * p.seconds));
  // A delivery counts only at the socket of the user it names; anywhere else it is misdelivered.
  const round = new DeliveryRound(events, events, (client, payload) => (payload.to === userOf(client) ? payload.seq : -1), events);
  audience.current = round;
  await sendAtRate(
    events,
    p.rate,
    (seq) => {
      const to = userOf(seq % users);
      const sent = performance.now();
      round.onSend(sent);
      return send({ type: 'reservation', message: 'Reservation confirmed', data: { round: round.id, seq, sent, to }, user_ids: [to] });
    },
    () => round.failedSends++,
  );
  await round.settle();
  audience.current = undefined;
  return {
    scenario: `targeted-${p.via}`,
    system: sut.name,
    params: { users, rate: p.rate, seconds: p.seconds },
    figures: { ...round.figures() },
  };
}

export async function connectTargetedAudience(sut: SystemUnderTest, users: number): Promise<Audience> {
  return Audience.connect(sut, users, userOf, ['reservation']);
}
