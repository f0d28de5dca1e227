import type { NotificationFrame } from '@parking-realtime/protocol';
import type { DefaultEventsMap, Server } from 'socket.io';

export interface SubscriptionRequest {
  notification_types: string[];
}

export type SubscriptionAck =
  | { type: 'subscribed' | 'unsubscribed'; notification_types: string[] }
  | { type: 'error'; code: string; message: string };

export interface ClientToServerEvents {
  subscribe(msg: SubscriptionRequest, ack?: (reply: SubscriptionAck) => void): void;
  unsubscribe(msg: SubscriptionRequest, ack?: (reply: SubscriptionAck) => void): void;
}

export interface ServerToClientEvents {
  notification(payload: NotificationFrame): void;
}

export interface SocketData {
  userId: string;
}

export type NotificationServer = Server<ClientToServerEvents, ServerToClientEvents, DefaultEventsMap, SocketData>;
