import { CloseCode } from '@parking-realtime/protocol';
import type { FastifyBaseLogger } from 'fastify';
import type { UserSockets } from './user-sockets.js';

/** What services send every notifier on the control channel. */
export interface DisconnectUser {
  type: 'disconnect_user';
  user_id: string;
}

/**
 * Acts on a control message: `disconnect_user` closes that user's sockets
 * here (4003, so the client does not come back on its own). Anything else is
 * logged and ignored, so a newer service cannot break an older notifier.
 */
export function handleControlMessage(payload: Buffer, sockets: UserSockets, log: FastifyBaseLogger): void {
  let message: Partial<DisconnectUser>;
  try {
    message = JSON.parse(payload.toString()) as Partial<DisconnectUser>;
  } catch {
    log.warn('control message is not JSON; ignored');
    return;
  }
  if (message.type !== 'disconnect_user' || typeof message.user_id !== 'string') {
    log.warn({ type: message.type }, 'unknown control message; ignored');
    return;
  }
  const closing = sockets.of(message.user_id);
  for (const socket of closing) socket.close(CloseCode.revoked, 'disconnected by the service');
  log.info({ userId: message.user_id, sockets: closing.length }, 'user disconnected');
}
