import type { NotificationType } from '@parking-realtime/protocol';
import { mapConcurrent } from '../stats.js';
import type { BenchConnection, BenchPayload, SystemUnderTest } from '../systems/system.js';
import type { DeliveryRound } from './delivery-round.js';

/** N connected, subscribed clients whose deliveries go to the round in progress. */
export class Audience {
  current: DeliveryRound | undefined;
  private constructor(readonly connections: BenchConnection[]) {}

  static async connect(sut: SystemUnderTest, size: number, userOf: (i: number) => string, types: NotificationType[]): Promise<Audience> {
    const audience = new Audience([]);
    const indices = Array.from({ length: size }, (_, i) => i);
    const connections = await mapConcurrent(indices, 64, (i) =>
      sut.connect(userOf(i), types, (payload: BenchPayload) => audience.current?.onPayload(i, payload)),
    );
    for (const connection of connections) audience.connections.push(connection);
    return audience;
  }

  close(): void {
    for (const c of this.connections) c.close();
  }
}
