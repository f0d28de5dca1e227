import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';

/**
 * The one place the notifier reads ws's private state: a socket's TCP socket
 * (`_socket`) and whether its Sender is idle (`_sender._state`), so a frame
 * prepared once for a broadcast is written straight to each socket
 * (prepared-frame.ts). Written against ws 8.18 (where `_state` replaced
 * `_deflating`) and tested against the installed one (test/ws-internals.test.ts).
 *
 * Another ws version turns these off rather than stopping the notifier: every
 * frame still arrives, in order, through ws's public send(); only a broadcast
 * costs more CPU, as ws frames it again for each socket. A dependency update
 * that slows the fan-out is worth a warning; one that takes the service down
 * is an outage.
 */

/** The ws versions this module was written against: 8.18 onwards, before 9. */
export const WS_VERSIONS = '>=8.18.0 <9.0.0';

export function wsVersionFits(version: string): boolean {
  const match = /^(\d+)\.(\d+)\.\d+/.exec(version);
  return match !== null && Number(match[1]) === 8 && Number(match[2]) >= 18;
}

/** The ws that makes the notifier's sockets: the one @fastify/websocket loads, which may not be the notifier's own. */
export function installedWsVersion(): string {
  const fastifyWebsocket = createRequire(import.meta.url).resolve('@fastify/websocket');
  return (createRequire(fastifyWebsocket)('ws/package.json') as { version: string }).version;
}

/** The parts of a ws socket that its own send() writes through. */
interface WsPrivate {
  _socket: Socket;
  _sender: { _state: number };
}

export interface WsInternals {
  readonly version: string;
  /** Why the private paths are off (for the start-up log); undefined when they are on. */
  readonly disabled: string | undefined;
  /**
   * The socket's TCP socket when ws has no send of its own under way (its
   * Sender `_state` is back to 0, idle, once a compressed or Blob send has
   * gone out: ws/lib/sender.js), so a write there keeps the order; else null,
   * and the caller goes through send(). Always null when the paths are off.
   */
  readonly idleTcpSocket: (socket: WebSocket) => Socket | null;
}

export function wsInternalsFor(version: string): WsInternals {
  if (!wsVersionFits(version)) {
    return {
      version,
      disabled: `ws ${version} is outside ${WS_VERSIONS}, which the notifier's prepared frames were written against: broadcasts go through ws's send()`,
      idleTcpSocket: () => null,
    };
  }
  return {
    version,
    disabled: undefined,
    idleTcpSocket: (socket) => {
      const internals = socket as unknown as WsPrivate;
      return internals._sender._state === 0 ? internals._socket : null;
    },
  };
}

export const wsInternals: WsInternals = wsInternalsFor(installedWsVersion());
