import { readFileSync } from 'node:fs';
import type { TSchema } from 'typebox';
import {
  type CLIENT_FRAME_TYPES,
  CloseCode,
  ErrorCode,
  ErrorFrame,
  NotificationFrame,
  PingFrame,
  PongFrame,
  ResumeGapFrame,
  SubscribedFrame,
  SubscribeFrame,
  UnsubscribedFrame,
  UnsubscribeFrame,
} from '../../src/index.js';

/**
 * docs/asyncapi.json, built from the frame schemas: each message's payload is
 * a frame's TypeBox schema as JSON, untouched. Described from the notifier's
 * side: it receives the client's frames and sends its own. The prose here
 * says what a frame is for; docs/protocol.md is the whole contract.
 */

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

/** The codes an `error` frame carries: the recoverable ones, after which the socket stays open. */
export const FRAME_ERROR_CODES = [
  ErrorCode.malformedJson,
  ErrorCode.unknownMessageType,
  ErrorCode.unknownNotificationType,
  ErrorCode.invalidFrame,
  ErrorCode.frameTooLarge,
  ErrorCode.binaryFrame,
  ErrorCode.rateLimited,
] as const;

interface Message {
  schema: TSchema;
  title: string;
  summary: string;
  description?: string;
  examples: Array<{ name: string; payload: unknown }>;
}

const epoch = '1795921400000-0';

/** Client → notifier. */
export const clientMessages: Record<(typeof CLIENT_FRAME_TYPES)[number], Message> = {
  subscribe: {
    schema: SubscribeFrame,
    title: 'Subscribe',
    summary: 'Receive the notifications of these types, and resume where the client was',
    description:
      'Answered with `subscribed`. With `positions` (the latest `{id, epoch}` held per stream), the notifier then replays what the client missed in each stream, in order, after a `resume_gap` naming the streams history no longer reaches, and goes live with no gap and no duplicate. `last_id` alone resumes every stream by time, best effort; `positions` wins when both are sent. Neither: no replay.',
    examples: [
      { name: 'first', payload: { type: 'subscribe', notification_types: ['reservation', 'parking_lot'] } },
      {
        name: 'resume',
        payload: {
          type: 'subscribe',
          notification_types: ['reservation'],
          positions: { 'user:reservation': { id: '1795921416360-0', epoch }, 'all:reservation': { id: '1795921400000-0', epoch } },
        },
      },
    ],
  },
  unsubscribe: {
    schema: UnsubscribeFrame,
    title: 'Unsubscribe',
    summary: 'Stop receiving the notifications of these types',
    examples: [{ name: 'one type', payload: { type: 'unsubscribe', notification_types: ['parking_lot'] } }],
  },
  ping: {
    schema: PingFrame,
    title: 'Ping',
    summary: 'Application-level liveness check, answered with `pong` (the notifier also sends WebSocket pings of its own)',
    examples: [{ name: 'ping', payload: { type: 'ping' } }],
  },
};

/** Notifier → client. */
export const serverMessages: Record<string, Message> = {
  notification: {
    schema: NotificationFrame,
    title: 'Notification',
    summary: 'A notification of a subscribed type, addressed to this user or broadcast',
    description:
      '`id` is its position in its `stream` (`user:<type>` or `all:<type>`), in the stream\'s `epoch`: keep the latest `{id, epoch}` per stream and send them back in `subscribe.positions` to resume. `type`, `message` and `data` are the original guide\'s fields.',
    examples: [
      {
        name: 'targeted',
        payload: {
          type: 'notification',
          id: '1795921416360-0',
          stream: 'user:reservation',
          epoch,
          notification_type: 'reservation',
          message: 'New reservation created',
          data: { reservation_id: 123, status: 'active' },
          created_at: '2026-11-28T03:00:00.000Z',
        },
      },
    ],
  },
  subscribed: {
    schema: SubscribedFrame,
    title: 'Subscribed',
    summary: 'The subscription is live; where each stream of these types stood then',
    description: 'On a resume, `positions` leaves out the streams the client gave a position for (their replayed notifications move those), except a stream with a gap and nothing left to replay.',
    examples: [
      {
        name: 'both types',
        payload: {
          type: 'subscribed',
          notification_types: ['reservation'],
          positions: { 'user:reservation': { id: '1795921416360-0', epoch }, 'all:reservation': { id: '0-0', epoch: '' } },
        },
      },
    ],
  },
  unsubscribed: {
    schema: UnsubscribedFrame,
    title: 'Unsubscribed',
    summary: 'No more notifications of these types',
    examples: [{ name: 'one type', payload: { type: 'unsubscribed', notification_types: ['parking_lot'] } }],
  },
  pong: {
    schema: PongFrame,
    title: 'Pong',
    summary: 'The answer to `ping`',
    examples: [{ name: 'pong', payload: { type: 'pong' } }],
  },
  error: {
    schema: ErrorFrame,
    title: 'Error',
    summary: 'A frame was refused; the socket stays open',
    description: `\`code\` is one of ${FRAME_ERROR_CODES.map((c) => `\`${c}\``).join(', ')}. Past \`rate_limited\` the socket is closed with ${CloseCode.policyViolation}.`,
    examples: [{ name: 'bad JSON', payload: { type: 'error', code: 'malformed_json', message: 'The frame is not valid JSON' } }],
  },
  resume_gap: {
    schema: ResumeGapFrame,
    title: 'Resume gap',
    summary: 'History no longer reaches back to where the client was in these streams: something may be lost, refetch your state',
    description:
      'Sent after `subscribed` and before the replay when a stream began again (another epoch) or expired, its entries after the position were trimmed, or the position is older than HISTORY_MAX_AGE_SECONDS; or in the middle of a replay, before the rest of a stream, when it was trimmed past the replay or began again meanwhile, or more than REPLAY_MAX_FRAMES notifications were missed in it.',
    examples: [{ name: 'broadcasts lost', payload: { type: 'resume_gap', streams: ['all:parking_lot'] } }],
  },
};

/** A message object: its payload is the frame's schema as JSON (TypeBox keeps its own keys non-enumerable). */
function messageObject(name: string, m: Message) {
  return {
    name,
    title: m.title,
    summary: m.summary,
    ...(m.description ? { description: m.description } : {}),
    payload: JSON.parse(JSON.stringify(m.schema)),
    examples: m.examples,
  };
}

const channelRef = { $ref: '#/channels/notifications' };
const messageRef = (name: string) => ({ $ref: `#/channels/notifications/messages/${name}` });

export function asyncApiDocument() {
  const messages = Object.fromEntries(
    Object.entries({ ...clientMessages, ...serverMessages }).map(([name]) => [name, { $ref: `#/components/messages/${name}` }]),
  );
  const replyTo = (...names: string[]) => ({ channel: channelRef, messages: names.map(messageRef) });
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'parking-realtime notifications WebSocket',
      version,
      description: [
        'The notifier\'s WebSocket at `/ws/notifications/`, described from the notifier\'s side: it receives the client\'s frames and sends its own. Every frame is a JSON text frame; each payload schema below is the one the notifier validates with and the clients are typed by (`shared/protocol/src`).',
        '',
        'Get a token with `GET /api/user/ws-token/` (docs/openapi/auth-token.json) and open `/ws/notifications/?token=<ws_token>`: a missing, unknown, expired or used token is refused with HTTP 403 before the upgrade (docs/openapi/notifier.json).',
        '',
        `Close codes (\`x-close-codes\`): after any of them but ${CloseCode.revoked} a client reconnects with a fresh token and resumes from its positions; ${CloseCode.revoked} (disconnected by the service) is final. A frame over 4× WS_MAX_FRAME_BYTES closes the socket with ${CloseCode.messageTooBig}, invalid UTF-8 with 1007.`,
        '',
        'The whole contract, streams, positions and resume included: docs/protocol.md.',
      ].join('\n'),
      license: { name: 'MIT' },
    },
    defaultContentType: 'application/json',
    servers: {
      local: {
        host: 'localhost:8000',
        protocol: 'ws',
        description: '`npm start` or `docker compose up`: nginx in front of the notifiers. Behind TLS, the same path with `wss`.',
        security: [{ $ref: '#/components/securitySchemes/wsToken' }],
      },
    },
    channels: {
      notifications: {
        address: '/ws/notifications/',
        title: 'Notifications',
        description: 'One socket per browser tab; subscribe to the notification types wanted.',
        messages,
        bindings: {
          ws: {
            method: 'GET',
            query: {
              type: 'object',
              properties: { token: { type: 'string', description: 'A single-use WebSocket token from `GET /api/user/ws-token/`' } },
              required: ['token'],
            },
            bindingVersion: '0.1.0',
          },
        },
        'x-close-codes': { ...CloseCode },
      },
    },
    operations: {
      subscribe: {
        action: 'receive',
        channel: channelRef,
        summary: clientMessages.subscribe.summary,
        messages: [messageRef('subscribe')],
        reply: replyTo('subscribed'),
      },
      unsubscribe: {
        action: 'receive',
        channel: channelRef,
        summary: clientMessages.unsubscribe.summary,
        messages: [messageRef('unsubscribe')],
        reply: replyTo('unsubscribed'),
      },
      ping: { action: 'receive', channel: channelRef, summary: clientMessages.ping.summary, messages: [messageRef('ping')], reply: replyTo('pong') },
      sendNotification: { action: 'send', channel: channelRef, summary: serverMessages.notification!.summary, messages: [messageRef('notification')] },
      sendResumeGap: { action: 'send', channel: channelRef, summary: serverMessages.resume_gap!.summary, messages: [messageRef('resume_gap')] },
      sendError: { action: 'send', channel: channelRef, summary: serverMessages.error!.summary, messages: [messageRef('error')] },
    },
    components: {
      messages: Object.fromEntries(Object.entries({ ...clientMessages, ...serverMessages }).map(([name, m]) => [name, messageObject(name, m)])),
      securitySchemes: {
        wsToken: { type: 'httpApiKey', name: 'token', in: 'query', description: 'A single-use WebSocket token from `GET /api/user/ws-token/`' },
      },
    },
  };
}
