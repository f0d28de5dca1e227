import websocket from '@fastify/websocket';
import { CONTROL_CHANNEL, disconnectedAt, isCluster, notificationTypeOfChannel, prepareStreamReads, type Redis, type RedisClient, slotOf, TokenStore, waitUntilReady } from '@parking-realtime/redis';
import { fastifyLoggerOptions, frameAfterTraceHeader, hasTraceHeader, tracing } from '@parking-realtime/runtime';
import { countAuthFailures, documentWebSocketRoute, errorResponse, createServiceMetrics, healthRoutes, installErrorHandler, metricsRoute, registerOpenApi, type ServiceMetrics } from '@parking-realtime/server';
import { CloseCode } from '@parking-realtime/protocol';
import type { ServerResponse } from 'node:http';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import type { DestinationStream } from 'pino';
import { ChannelSubscriber } from './channel-subscriber.js';
import type { NotifierConfig } from './config.js';
import { startDeliverySpan } from './delivery-span.js';
import { closeSpread } from './graceful-close.js';
import { startHeartbeat } from './heartbeat.js';
import { type Connection, deliver, serveSocket } from './notification-socket.js';
import { prepareTextFrame } from './prepared-frame.js';
import { createNotifierMetrics, recordDelivery } from './notifier-metrics.js';
import { SubscriptionIndex } from './subscription-index.js';
import { upgradeAuth } from './upgrade-auth.js';
import { handleControlMessage } from './control-messages.js';
import { DISCONNECTED_REASON, UserSockets } from './user-sockets.js';
import { DisconnectMarks } from './disconnect-marks.js';
import { wsInternals } from './ws-internals.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The upgrade's ServerResponse, which @fastify/websocket attached to the TCP socket; let go once the socket is open. */
    upgradeResponse: ServerResponse | null;
  }
}

export interface NotifierDeps {
  /** For commands (token consumption, history). */
  redis: RedisClient;
  /** A connection of its own, in subscriber mode (on a cluster: with sharded subscribers). */
  subscriberRedis: RedisClient;
  logStream?: DestinationStream;
  metrics?: ServiceMetrics;
}

export async function buildNotifierApp(config: NotifierConfig, deps: NotifierDeps): Promise<FastifyInstance> {
  const app = Fastify({
    logger: fastifyLoggerOptions('notifier', config.logLevel, deps.logStream),
  });
  if (wsInternals.disabled) app.log.warn({ wsVersion: wsInternals.version }, wsInternals.disabled);
  const serviceMetrics = deps.metrics ?? createServiceMetrics('notifier');
  const metrics = createNotifierMetrics(serviceMetrics);
  await registerOpenApi(app, {
    service: 'notifier',
    description:
      'Serves the notification WebSocket. Only its HTTP side is here (the upgrade and the operations routes); the frames are in docs/asyncapi.json, the whole contract in docs/protocol.md.',
    securitySchemes: ['wsToken'],
  });
  installErrorHandler(app, countAuthFailures(serviceMetrics));
  app.decorateRequest('wsUserId', undefined);
  app.decorateRequest('wsTokenIssuedAt', 0);
  app.decorateRequest('upgradeResponse', null);

  const index = new SubscriptionIndex<Connection>();
  const subscriber = new ChannelSubscriber(deps.subscriberRedis, (channel, message) => {
    if (channel === CONTROL_CHANNEL) {
      handleControlMessage(message, userSockets, disconnects, app.log);
      return;
    }
    const recipients = index.recipients(channel);
    if (!recipients) return;
    // With tracing on, event-ingest publishes its span's traceparent before the frame: it stops here,
    // whether this notifier traces or not. Without one, the message is the frame, as is.
    const traced = hasTraceHeader(message);
    const payload = traced ? frameAfterTraceHeader(message) : message;
    const type = notificationTypeOfChannel(channel);
    const span = traced && tracing.enabled && recipients.size > 0 ? startDeliverySpan(message, type, recipients.size) : undefined;
    // One payload for every recipient: serialized once, by the worker, and framed once, here.
    const frame = prepareTextFrame(payload);
    for (const conn of recipients) deliver(conn, channel, payload, frame);
    recordDelivery(metrics, type, payload, recipients.size);
    span?.end();
  });

  await app.register(websocket, {
    // Frames above the soft limit get an error frame; far above it, ws closes with 1009.
    options: { maxPayload: config.maxFrameBytes * 4, perMessageDeflate: false },
    // Runs after the plugin stopped accepting upgrades.
    preClose(done) {
      const server = this.websocketServer;
      void closeSpread(server.clients, config.shutdownSpreadMs).then(() => server.close(() => done()));
    },
  });
  // Here, before the connection carries a command (see prepareStreamReads).
  prepareStreamReads(deps.redis);
  const tokens = new TokenStore(deps.redis, 1);
  const userSockets = new UserSockets(config.maxSocketsPerUser);
  const disconnects = new DisconnectMarks();
  app.get(
    '/ws/notifications/',
    {
      websocket: true,
      // A copy: @fastify/websocket marks the route's schema hidden.
      schema: { ...upgradeSchema },
      config: documentWebSocketRoute,
      onRequest: keepUpgradeResponse,
      preValidation: upgradeAuth(tokens, deps.redis, config.allowedOrigins),
    },
    (socket, request) => {
      const userId = request.wsUserId!;
      const log = request.log;
      releaseUpgradeRequest(socket, request);
      // Disconnected while this upgrade was between its token check and here.
      if (disconnects.revokes(userId, request.wsTokenIssuedAt)) {
        log.info({ userId }, 'socket refused: its user was disconnected during the upgrade');
        socket.close(CloseCode.revoked, DISCONNECTED_REASON);
        return;
      }
      log.info({ userId }, 'socket open');
      metrics.connectionsOpen.inc();
      if (userSockets.admit(userId, socket, request.wsTokenIssuedAt)) metrics.dropped.inc({ reason: 'too_many_sockets' });
      // One listener for both: each listener costs every socket for its whole life.
      socket.on('close', () => {
        metrics.connectionsOpen.dec();
        userSockets.remove(userId, socket);
      });
      serveSocket(socket, userId, {
        index,
        subscriber,
        redis: deps.redis,
        historyMaxAgeMs: config.historyMaxAgeSeconds * 1000,
        replayMaxFrames: config.replayMaxFrames,
        maxFrameBytes: config.maxFrameBytes,
        maxFramesPerSecond: config.maxFramesPerSecond,
        maxBufferedBytes: config.maxBufferedBytes,
        onSlowConsumer: () => {
          metrics.dropped.inc({ reason: 'slow_consumer' });
          log.warn({ userId }, 'slow consumer cut off');
        },
        log,
      });
    },
  );
  // While a subscription is down, messages on its channels go by unseen. The sockets that need
  // those channels get nothing more (a later notification would move their positions past the
  // gap); once the channels are subscribed again, those sockets, and only those, are asked to
  // resume (4010). On one Redis that is every socket; on a cluster, those with a channel on the
  // master that was lost (ioredis gives each master's shard its own subscriber).
  const cutOff = new Set<Connection>();
  const lose = (channels: readonly string[]) => {
    subscriber.markLost(channels);
    for (const channel of channels) {
      for (const conn of index.recipients(channel) ?? []) {
        conn.live = false;
        cutOff.add(conn);
      }
    }
  };
  // Disconnects sent while the control channel was down went by unheard: the marks in Redis say
  // which of the users here were disconnected meanwhile.
  const recheckDisconnects = () => {
    for (const userId of [...userSockets.users()]) {
      disconnectedAt(deps.redis, userId).then(
        (at) => {
          if (at === undefined) return;
          disconnects.remember(userId, at);
          const closed = userSockets.disconnect(userId, at);
          if (closed > 0) app.log.info({ userId, sockets: closed }, 'user disconnected (mark read after the control channel was restored)');
        },
        (err: unknown) => app.log.warn({ err: { message: (err as Error).message }, userId }, 'could not read a disconnect mark'),
      );
    }
  };
  let retry: NodeJS.Timeout | undefined;
  const restore = () => {
    clearTimeout(retry);
    subscriber.restore().then(
      (channels) => {
        if (channels.includes(CONTROL_CHANNEL)) recheckDisconnects();
        if (channels.length === 0 && cutOff.size === 0) return;
        const sockets = new Set([...cutOff].map((conn) => conn.socket));
        cutOff.clear();
        metrics.dropped.inc({ reason: 'resync' }, sockets.size);
        app.log.warn({ channels: channels.length, sockets: sockets.size }, 'subscription restored: asking its sockets to resume');
        return closeSpread(sockets, config.shutdownSpreadMs, CloseCode.resync, 'resync: resume from your positions');
      },
      (err: unknown) => {
        // Not back after all: try again shortly, and at the next restoration.
        app.log.warn({ err: { message: (err as Error).message } }, 'resubscribe failed');
        retry = setTimeout(restore, 500);
        retry.unref();
      },
    );
  };
  const redis = deps.subscriberRedis;
  if (isCluster(redis)) {
    // ioredis reports a lost shard subscriber (and a lost pool node) as -node, before it maps the
    // slots anew: the channels whose slot that node served as master are the ones lost.
    redis.on('-node', (node: Redis, key?: string) => {
      const lostKey = key ?? `${node.options.host}:${node.options.port}`;
      lose([CONTROL_CHANNEL, ...index.channels()].filter((channel) => redis.slots[slotOf(channel)]?.[0] === lostKey));
    });
    redis.on('subscribersReady', restore);
  } else {
    redis.on('close', () => lose([CONTROL_CHANNEL, ...index.channels()]));
    redis.on('ready', restore);
  }

  let stopHeartbeat = () => {};
  app.addHook('onReady', async () => {
    stopHeartbeat = startHeartbeat(app.websocketServer, config.heartbeatIntervalMs, () =>
      metrics.dropped.inc({ reason: 'heartbeat_timeout' }),
    );
  });
  app.addHook('onClose', async () => stopHeartbeat());
  healthRoutes(app, { redis: deps.redis, extra: { subscriber: () => deps.subscriberRedis.status === 'ready' && subscriber.lostCount === 0 } });
  metricsRoute(app, serviceMetrics.registry);
  // Before any socket is served: a disconnect must reach this notifier from the start. A SUBSCRIBE
  // sent before the connection is ready would fail ioredis' ready check (INFO in subscriber mode)
  // and cost a reconnect, so wait for it.
  await waitUntilReady(deps.subscriberRedis);
  await subscriber.ensure([CONTROL_CHANNEL]);
  return app;
}

/** The upgrade's HTTP side, for the OpenAPI document; the frames are docs/asyncapi.json's. */
const upgradeSchema = {
  summary: 'Opens the notification WebSocket (GET with `Upgrade: websocket`)',
  description:
    'The token (`?token=`) is consumed before the upgrade: single-use. After the upgrade, JSON text frames both ways (docs/asyncapi.json, docs/protocol.md).',
  security: [{ wsToken: [] }],
  response: {
    101: { description: 'Switching Protocols: the socket is open', type: 'null' },
    403: errorResponse(
      'Refused before the upgrade: `ws_token_missing`, `ws_token_invalid` (unknown, expired, used, or issued before its user was disconnected), `origin_not_allowed` (ALLOWED_ORIGINS)',
    ),
    426: errorResponse('`upgrade_required`: a plain HTTP request; this endpoint only speaks WebSocket'),
  },
};

/** The websocket handler gets no reply: its ServerResponse is kept on the request for releaseUpgradeRequest. */
function keepUpgradeResponse(request: FastifyRequest, reply: FastifyReply, done: () => void): void {
  request.upgradeResponse = reply.raw;
  done();
}

/**
 * Lets the upgrade's HTTP request go once the socket is open, so an idle socket
 * does not keep it (its headers, ServerResponse, Fastify request and reply:
 * about 2 KB). @fastify/websocket holds it through two references: the
 * ServerResponse it attached to the TCP socket (detachSocket() undoes its
 * assignSocket(), with no reading of node's private `_httpMessage`), and the
 * socket's 'error' listener, which logs and terminates; the one put in its
 * place lets a close handshake that ws started finish instead.
 */
function releaseUpgradeRequest(socket: WebSocket, request: FastifyRequest): void {
  request.upgradeResponse?.detachSocket(request.raw.socket);
  const log = request.log;
  socket.removeAllListeners('error');
  socket.on('error', (err) => {
    // A bad frame from the client (too large, invalid UTF-8): ws has already sent the close frame
    // (1009, 1007) and discards what else arrives until the client answers. Destroying the socket
    // now would reset the connection with the client's data unread, and the close frame could be
    // lost on the way (the client, through nginx especially, would see 1006).
    if (socket.readyState === socket.CLOSING) {
      log.info({ err: { message: err.message } }, 'socket closed for a bad frame');
      return;
    }
    log.error(err);
    socket.terminate();
  });
}
