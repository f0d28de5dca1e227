import type { Socket } from 'node:net';
import { TurnBatch } from '@parking-realtime/server';
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

/** Sockets corked in this turn, uncorked together at its end. */
const corked = new TurnBatch<Socket[]>({
  empty: () => [],
  commit(sockets) {
    for (const socket of sockets) socket.uncork();
  },
  // A socket left corked would hold every later frame; closed, its client resumes elsewhere.
  fail(sockets, err) {
    for (const socket of sockets) if (socket.writableCorked > 0) socket.destroy(err as Error);
  },
});

/**
 * Writes a prepared frame to the socket, as ws's send() writes an uncompressed
 * message. If ws is busy with a send of its own (compressing, or reading a
 * Blob), it goes through send() so the order holds; ws sets `_state` back to
 * 0 when idle (ws/lib/sender.js). bufferedAmount counts the write either way.
 *
 * The socket stays corked until the end of the turn: one read from Redis can
 * carry many notifications, and a socket that gets several of them then costs
 * one writev instead of one write each. An idle system delivers each
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
    corked.gather().push(raw);
  }
  raw.write(frame);
}
