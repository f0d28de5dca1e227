import type { NotificationType } from '@parking-realtime/protocol';

/** What a bench event carries in `data`, so a client can time and check what it receives. (A type, not an interface, so it fits the event schema's open `data` record.) */
export type BenchPayload = {
  /** Sequence number within the run. */
  seq: number;
  /** performance.now() in the load generator when the event was created. */
  sent: number;
  /** The round it belongs to, so a late delivery from an earlier round is not counted in this one. */
  round: number;
  /** The user it is for (targeted events). */
  to?: string;
};

export interface BenchEvent {
  type: NotificationType;
  message: string;
  data: BenchPayload;
  user_ids?: string[];
}

/** One client connection, subscribed, handing every notification's payload to `onPayload`. */
export interface BenchConnection {
  close(): void;
}

/** A notification system under test, started as real processes on the pinned core. */
export interface SystemUnderTest {
  name: 'ours' | 'socketio';
  /** The process that holds the sockets (for RSS and profiles). */
  socketHolderPid: number;
  /** Its Redis: `single`, or `cluster-<N>m` (N masters, a replica each). Part of each result's params. */
  redis: string;
  /** Every Redis node's port on 127.0.0.1 (masters and replicas), for their CPU per step. */
  redisPorts: number[];
  /** Token request, upgrade and subscribe; resolves once the subscription is acknowledged. */
  connect(userId: string, types: NotificationType[], onPayload: (payload: BenchPayload) => void): Promise<BenchConnection>;
  /** `POST /api/events/`. */
  postEvent(event: BenchEvent): Promise<void>;
  /** The BullMQ producer, where the system has one. */
  produceEvent?: (event: BenchEvent) => Promise<void>;
  stop(): Promise<void>;
}
