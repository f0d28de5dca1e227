import type { DisconnectUserMessage } from '@parking-realtime/redis';
import type { FastifyBaseLogger } from 'fastify';
import type { DisconnectMarks } from './disconnect-marks.js';
import type { UserSockets } from './user-sockets.js';

/**
 * Acts on a control message: `disconnect_user` closes that user's sockets
 * here whose tokens were issued at or before the disconnect (4003, so the
 * client does not come back on its own), and is remembered for upgrades still
 * on their way in. Anything else is logged and ignored, so a newer service
 * cannot break an older notifier.
 */
export function handleControlMessage(payload: Buffer, sockets: UserSockets, marks: DisconnectMarks, log: FastifyBaseLogger): void {
  let message: Partial<DisconnectUserMessage>;
  try {
    message = JSON.parse(payload.toString()) as Partial<DisconnectUserMessage>;
  } catch {
    log.warn('control message is not JSON; ignored');
    return;
  }
  if (message.type !== 'disconnect_user' || typeof message.user_id !== 'string') {
    log.warn({ type: message.type }, 'unknown control message; ignored');
    return;
  }
  // A sender that does not say when: now, which covers every socket open here.
  const at = typeof message.disconnected_at === 'number' && Number.isFinite(message.disconnected_at) ? message.disconnected_at : Date.now();
  marks.remember(message.user_id, at);
  const closed = sockets.disconnect(message.user_id, at);
  log.info({ userId: message.user_id, sockets: closed }, 'user disconnected');
}
