import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

/**
 * The load generator's WebSocket client: a handshake and a frame reader over a
 * plain TCP socket, for both systems alike. At 1000 clients × 100 events/s
 * the generator's one core reads 100,000 messages a second; with `ws` (a
 * parser and an event per frame, a Buffer per message) that core was the one
 * saturated, and its queueing was counted as the server's latency. Here each
 * TCP read is scanned in place, every frame in it handed on as latin1 text
 * (what the clients look for is ASCII).
 *
 * Enough of RFC 6455 for what the servers send: unmasked text frames of any
 * length, fragments joined, pings answered, close ending the socket. Frames it
 * sends are masked, as a client's must be.
 */
export class LightSocket {
  private pending: Buffer | undefined;
  private fragments: Buffer[] = [];

  private constructor(
    private readonly socket: Socket,
    private readonly onText: (text: string) => void,
  ) {}

  /** Opens `ws://host:port/path`; resolves once the server answered 101. `onClose` hears the end of an open socket. */
  static open(url: string, onText: (text: string) => void, onClose: () => void = () => {}): Promise<LightSocket> {
    const { hostname, port, pathname, search } = new URL(url);
    const socket = connect({ host: hostname, port: Number(port), noDelay: true });
    const light = new LightSocket(socket, onText);
    return new Promise((resolve, reject) => {
      let head = '';
      const onError = (err: Error) => reject(err);
      socket.once('error', onError);
      socket.once('close', () => reject(new Error('closed during the handshake')));
      socket.once('connect', () => {
        socket.write(
          `GET ${pathname}${search} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
        );
      });
      const onHead = (chunk: Buffer) => {
        head += chunk.toString('latin1');
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        socket.off('data', onHead);
        socket.removeAllListeners('close');
        socket.off('error', onError);
        socket.on('error', () => {});
        if (!head.startsWith('HTTP/1.1 101')) {
          socket.destroy();
          reject(new Error(`upgrade refused: ${head.slice(0, head.indexOf('\r\n'))}`));
          return;
        }
        socket.on('data', (data: Buffer) => light.read(data));
        socket.once('close', onClose);
        const rest = Buffer.from(head.slice(end + 4), 'latin1');
        resolve(light);
        // Frames that came with the 101 wait until the caller holds the socket, as a later read would.
        if (rest.length > 0) setImmediate(() => light.read(rest));
      };
      socket.on('data', onHead);
    });
  }

  sendText(text: string): void {
    this.send(0x1, Buffer.from(text));
  }

  /** Drops the connection at once, as `ws.terminate()` does. */
  terminate(): void {
    this.socket.destroy();
  }

  private send(opcode: number, payload: Buffer): void {
    const length = payload.length;
    const header = Buffer.alloc(length < 126 ? 6 : length < 65_536 ? 8 : 14);
    header[0] = 0x80 | opcode;
    let at = 2;
    if (length < 126) header[1] = 0x80 | length;
    else if (length < 65_536) {
      header[1] = 0x80 | 126;
      header.writeUInt16BE(length, 2);
      at = 4;
    } else {
      header[1] = 0x80 | 127;
      header.writeBigUInt64BE(BigInt(length), 2);
      at = 10;
    }
    const mask = randomBytes(4);
    mask.copy(header, at);
    const masked = Buffer.allocUnsafe(length);
    for (let i = 0; i < length; i++) masked[i] = payload[i]! ^ mask[i & 3]!;
    this.socket.write(Buffer.concat([header, masked]));
  }

  private read(data: Buffer): void {
    const buf = this.pending ? Buffer.concat([this.pending, data]) : data;
    this.pending = undefined;
    let at = 0;
    while (buf.length - at >= 2) {
      const first = buf[at]!;
      let length = buf[at + 1]! & 0x7f;
      let start = at + 2;
      if (length === 126) {
        if (buf.length - at < 4) break;
        length = buf.readUInt16BE(at + 2);
        start = at + 4;
      } else if (length === 127) {
        if (buf.length - at < 10) break;
        length = Number(buf.readBigUInt64BE(at + 2));
        start = at + 10;
      }
      if (buf.length < start + length) break;
      this.frame(first & 0x80, first & 0x0f, buf.subarray(start, start + length));
      at = start + length;
    }
    if (at < buf.length) this.pending = Buffer.from(buf.subarray(at));
  }

  private frame(fin: number, opcode: number, payload: Buffer): void {
    if (opcode === 0x9) this.send(0xa, payload);
    else if (opcode === 0x8) this.socket.end();
    else if (opcode === 0x1 || opcode === 0x0) {
      if (!fin) {
        this.fragments.push(Buffer.from(payload));
        return;
      }
      if (this.fragments.length > 0) {
        payload = Buffer.concat([...this.fragments, payload]);
        this.fragments = [];
      }
      this.onText(payload.toString('latin1'));
    }
  }
}
