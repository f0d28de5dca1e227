import type { Socket } from 'node:net';
import { TurnBatch } from '@parking-realtime/runtime';
import type { WebSocket } from 'ws';
import { wsInternals } from './ws-internals.js';

const idleTcpSocket = wsInternals.idleTcpSocket;

/**
 * A notification framed once, as an unmasked WebSocket text frame (RFC 6455
 * §5.2: FIN and opcode 1, then a 7-, 16- or 64-bit length), for all of its
 * recipients: the per-socket cost of a fan-out is then one write, where ws's
 * send() would frame the same bytes again for every socket. Framed here, not
 * by ws's Sender.frame, which ws neither documents nor types.
 */
export function prepareTextFrame(payload: Buffer): Buffer {
  const length = payload.length;
  const headerBytes = length < 126 ? 2 : length < 65536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(headerBytes + length);
  frame[0] = 0x81;
  if (headerBytes === 2) frame[1] = length;
  else if (headerBytes === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  payload.copy(frame, headerBytes);
  return frame;
}

/**
 * Past this many corked bytes a socket is uncorked at once. The slow-consumer
 * cap (WS_MAX_BUFFERED_BYTES) reads bufferedAmount, which counts corked bytes
 * as waiting: without a bound, a burst read from Redis over one turn would
 * look like a backlog and cut off clients that read everything.
 */
const MAX_CORKED_BYTES = 64 * 1024;

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
 * Blob), or its version is not one ws-internals.ts knows, it goes through
 * send() so the order holds. bufferedAmount counts the write either way.
 *
 * The socket stays corked until the end of the turn: one read from Redis can
 * carry many notifications, and a socket that gets several of them then costs
 * one writev instead of one write each, up to MAX_CORKED_BYTES. An idle
 * system delivers each notification alone, as before, with no added wait.
 */
export function writePreparedFrame(socket: WebSocket, frame: Buffer, payload: Buffer): void {
  const raw = idleTcpSocket(socket);
  if (raw === null) {
    socket.send(payload, { binary: false });
    return;
  }
  if (raw.writableCorked === 0) {
    raw.cork();
    corked.gather().push(raw);
  }
  raw.write(frame);
  // Uncorked now, it stays in the batch: that uncork finds nothing to do, and a later write this turn corks it again.
  if (raw.writableLength >= MAX_CORKED_BYTES) raw.uncork();
}
