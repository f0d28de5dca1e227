import { createServer, type Server } from 'node:http';
import { ErrorCode } from '@parking-realtime/protocol';
import { type WebSocket, WebSocketServer } from 'ws';

export interface ScriptedConnection {
  /** The token the client connected with. */
  token: string;
  socket: WebSocket;
  /** Every frame the client sent, parsed. */
  frames: Array<Record<string, unknown>>;
  /** Set once the socket has closed, to its close code. */
  closeCode: number | undefined;
}

export interface ScriptedNotification {
  type: 'notification';
  id: string;
  notification_type: 'reservation' | 'parking_lot';
  message: string;
  data: Record<string, unknown>;
  created_at: string;
}

/**
 * A real HTTP + WebSocket server in-process that speaks the notifier's
 * protocol as a script says, for testing clients: GET /api/user/ws-token/
 * issues `t<n>` for the n-th request (or answers `tokenStatus`),
 * /ws/notifications/ accepts only issued tokens, answers subscribe (unless
 * held) and ping, and pushes what a test tells it to.
 */
export class ScriptedNotifier {
  readonly tokenRequests: Array<{ authorization: string | undefined }> = [];
  readonly connections: ScriptedConnection[] = [];
  /** Status the token endpoint answers with; 200 issues a token. */
  tokenStatus = 200;
  /** false: subscribe frames are recorded but not answered until `answerSubscribe()`. */
  autoAnswerSubscribe = true;
  answerPings = true;
  private readonly issued = new Set<string>();
  private readonly changeListeners = new Set<() => void>();
  private seq = 0;

  private constructor(
    private readonly server: Server,
    private readonly wss: WebSocketServer,
    readonly baseUrl: string,
  ) {}

  static async start(): Promise<ScriptedNotifier> {
    const server = createServer();
    const wss = new WebSocketServer({ noServer: true });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const scripted = new ScriptedNotifier(server, wss, `http://127.0.0.1:${port}`);
    server.on('request', (req, res) => {
      if (!req.url?.startsWith('/api/user/ws-token/')) {
        res.writeHead(404).end();
        return;
      }
      scripted.tokenRequests.push({ authorization: req.headers.authorization });
      if (scripted.tokenStatus !== 200) {
        res.writeHead(scripted.tokenStatus, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ code: ErrorCode.authExpired, message: 'refused by the script' }));
      } else {
        const token = `t${scripted.tokenRequests.length}`;
        scripted.issued.add(token);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ ws_token: token, expires_in: 1800 }));
      }
      scripted.changed();
    });
    server.on('upgrade', (req, socket, head) => {
      const url = new URL(req.url ?? '/', scripted.baseUrl);
      const token = url.searchParams.get('token') ?? '';
      // Like the notifier: an unknown or used token gets 403 before the upgrade, never an accepted-then-closed socket.
      if (url.pathname !== '/ws/notifications/' || !scripted.issued.delete(token)) {
        socket.end('HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n');
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => scripted.accepted(ws, token));
    });
    return scripted;
  }

  /** Back to a fresh server's state, for tests that share one. */
  reset(): void {
    this.tokenRequests.length = 0;
    this.connections.length = 0;
    this.issued.clear();
    this.tokenStatus = 200;
    this.autoAnswerSubscribe = true;
    this.answerPings = true;
  }

  openConnections(): ScriptedConnection[] {
    return this.connections.filter((c) => c.socket.readyState === c.socket.OPEN);
  }

  /** Answers the connection's latest subscribe frame. */
  answerSubscribe(conn: ScriptedConnection): void {
    const last = conn.frames.findLast((f) => f.type === 'subscribe');
    conn.socket.send(JSON.stringify({ type: 'subscribed', notification_types: last?.notification_types ?? [] }));
  }

  /** Sends a notification frame and returns it; unset fields get distinct, deterministic values. */
  push(conn: ScriptedConnection, fields: Partial<Omit<ScriptedNotification, 'type'>> = {}): ScriptedNotification {
    this.seq += 1;
    const frame: ScriptedNotification = {
      type: 'notification',
      id: `1700000000000-${this.seq}`,
      notification_type: 'reservation',
      message: `message ${this.seq}`,
      data: { seq: this.seq },
      created_at: new Date(1_700_000_000_000 + this.seq * 1000).toISOString(),
      ...fields,
    };
    conn.socket.send(JSON.stringify(frame));
    return frame;
  }

  /** Resolves with `check`'s value once it is truthy, re-checked on every request, frame and close; fails after `timeoutMs`. */
  until<T>(check: () => T | undefined | false | null, timeoutMs = 5000, what = 'condition'): Promise<T> {
    const now = check();
    if (now) return Promise.resolve(now);
    return new Promise((resolve, reject) => {
      const listener = () => {
        const value = check();
        if (!value) return;
        clearTimeout(timer);
        this.changeListeners.delete(listener);
        resolve(value);
      };
      const timer = setTimeout(() => {
        this.changeListeners.delete(listener);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.changeListeners.add(listener);
    });
  }

  async stop(): Promise<void> {
    for (const client of this.wss.clients) client.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    // A token request still in flight would keep close() waiting.
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accepted(socket: WebSocket, token: string): void {
    const conn: ScriptedConnection = { token, socket, frames: [], closeCode: undefined };
    this.connections.push(conn);
    socket.on('message', (data) => {
      const frame = JSON.parse(String(data)) as Record<string, unknown>;
      conn.frames.push(frame);
      if (frame.type === 'subscribe' && this.autoAnswerSubscribe) this.answerSubscribe(conn);
      if (frame.type === 'ping' && this.answerPings) socket.send('{"type":"pong"}');
      this.changed();
    });
    socket.on('close', (code) => {
      conn.closeCode = code;
      this.changed();
    });
    this.changed();
  }

  private changed(): void {
    for (const listener of [...this.changeListeners]) listener();
  }
}
