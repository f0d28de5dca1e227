import type { NotificationFrame, NotificationType, ResumeGapFrame, StreamName, StreamPositions, SubscribedFrame } from '@parking-realtime/protocol';
import type { ScriptedConnection } from './scripted-notifier.js';

// ScriptedNotifier's push() and answerSubscribe() send frames without stream,
// epoch or positions, as a server from before positions did; these send them
// as the notifier does now.

/** Answers the connection's latest subscribe with `subscribed` carrying `positions`. */
export function answerWithPositions(conn: ScriptedConnection, positions: StreamPositions): void {
  const subscribe = conn.frames.findLast((f) => f.type === 'subscribe');
  const types = (subscribe?.notification_types ?? []) as NotificationType[];
  conn.socket.send(JSON.stringify({ type: 'subscribed', notification_types: types, positions } satisfies SubscribedFrame));
}

/** Sends notification `id` of `stream` in `epoch`, and returns it. */
export function notifyIn(conn: ScriptedConnection, stream: StreamName, id: string, epoch: string): NotificationFrame {
  const frame: NotificationFrame = {
    type: 'notification',
    id,
    stream,
    epoch,
    notification_type: stream.slice(stream.indexOf(':') + 1) as NotificationType,
    message: `${id} in ${stream}`,
    data: {},
    created_at: new Date(Number(id.split('-')[0])).toISOString(),
  };
  conn.socket.send(JSON.stringify(frame));
  return frame;
}

export function sendResumeGap(conn: ScriptedConnection, frame: Omit<ResumeGapFrame, 'type'>): void {
  conn.socket.send(JSON.stringify({ type: 'resume_gap', ...frame } satisfies ResumeGapFrame));
}
