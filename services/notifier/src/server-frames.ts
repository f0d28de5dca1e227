import type { ErrorCode, NotificationType, ServerFrame, StreamName, StreamPositions } from '@parking-realtime/protocol';

/** Serialized server frames. Notifications never pass here: they arrive serialized from Redis. */
export const frames = {
  pong: JSON.stringify({ type: 'pong' } satisfies ServerFrame),
  subscribed: (types: readonly NotificationType[], positions: StreamPositions) =>
    JSON.stringify({ type: 'subscribed', notification_types: [...types], positions } as ServerFrame),
  unsubscribed: (types: readonly NotificationType[]) =>
    JSON.stringify({ type: 'unsubscribed', notification_types: [...types] } satisfies ServerFrame),
  resumeGap: (streams: readonly StreamName[], lastId: string | undefined) =>
    JSON.stringify({ type: 'resume_gap', streams: [...streams], ...(lastId === undefined ? {} : { last_id: lastId }) } satisfies ServerFrame),
  error: (code: ErrorCode, message: string) => JSON.stringify({ type: 'error', code, message } satisfies ServerFrame),
};
