import type { Socket } from 'node:net';
import * as ws from 'ws';
import type { WebSocket } from 'ws';

interface FrameOptions {
  fin: boolean;
  rsv1: boolean;
  opcode: number;
  mask: boolean;
  readOnly: boolean;
}

// ws exports its Sender (and Sender.frame, which its own send() uses); @types/ws leaves them out.
const { Sender } = ws as unknown as { Sender: { frame(data: Buffer, options: FrameOptions): Buffer[] } };

/** The parts of a ws socket that its own send() writes through. */
interface WsInternals {
  _socket: Socket;
  _sender: { _state: number };
}

/**
 * A notification framed once, as an unmasked WebSocket text frame, for all of
 * its recipients: the per-socket cost of a fan-out is then one write, where
 * ws's send() would frame the same bytes again for every socket.
 */
export function prepareTextFrame(payload: Buffer): Buffer {
  const parts = Sender.frame(payload, { fin: true, rsv1: false, opcode: 0x01, mask: false, readOnly: true });
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

// Sockets corked since the current burst of Redis messages began; uncorked together once it is handled.
const corked: Socket[] = [];
let flushScheduled = false;

function uncorkAll(): void {
  flushScheduled = false;
  for (const socket of corked) socket.uncork();
  corked.length = 0;
}

/**
 * Writes a prepared frame to the socket, as ws's send() writes an uncompressed
 * message. If ws is busy with a send of its own (compressing, or reading a
 * Blob), it goes through send() so the order holds; ws sets `_state` back to
 * 0 when idle (ws/lib/sender.js). bufferedAmount counts the write either way.
 *
 * The socket stays corked until the current tick's work is done: one read from
 * Redis can carry many notifications, and a socket that gets several of them
 * then costs one writev instead of one write each. An idle system delivers each
 * notification alone, as before, with no added wait.
 */
export function writePreparedFrame(socket: WebSocket, frame: Buffer, payload: Buffer): void {
  const internals = socket as unknown as WsInternals;
  if (internals._sender._state !== 0) {
    socket.send(payload, { binary: false });
    return;
  }
  const raw = internals._socket;
  if (raw.writableCorked === 0) {
    raw.cork();
    corked.push(raw);
    if (!flushScheduled) {
      flushScheduled = true;
      process.nextTick(uncorkAll);
    }
  }
  raw.write(frame);
}
