import { createServer, type Server, type ServerResponse } from 'node:http';
import { type WebSocket, WebSocketServer } from 'ws';

export interface NotifyConnection {
  socket: WebSocket;
  /** Every subscribe frame the client sent, parsed. */
  subscribes: Array<{ notification_types: string[]; last_id?: string }>;
  /** Set when the socket has closed, with the code the client sent. */
  closeCode: number | undefined;
}

/**
 * A real HTTP + WebSocket server in-process that plays auth-token and a
 * notifier for the hook: GET /api/user/ws-token/ issues `t<n>` (or answers
 * `tokenStatus`), /ws/notifications/ accepts only issued tokens, answers
 * subscribe (unless held) and ping, and pushes what a test tells it to.
 */
export class NotifyServer {
  readonly tokenRequests: Array<{ authorization: string | undefined }> = [];
  readonly connections: NotifyConnection[] = [];
  tokenStatus = 200;
  /** false: subscribe frames are recorded but not answered until `answerSubscribe()`. */
  autoAnswerSubscribe = true;
  private readonly issued = new Set<string>();
  private changeListeners = new Set<() => void>();
  private seq = 0;

  private constructor(
    private readonly server: Server,
    private readonly wss: WebSocketServer,
    readonly baseUrl: string,
  ) {}

  static async start(): Promise<NotifyServer> {
    const server = createServer();
    const wss = new WebSocketServer({ noServer: true });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const notify = new NotifyServer(server, wss, `http://127.0.0.1:${port}`);
    server.on('request', (req, res) => notify.tokenRequest(req.url, req.headers.authorization, res));
    server.on('upgrade', (req, socket, head) => {
      const url = new URL(req.url ?? '/', notify.baseUrl);
      const token = url.searchParams.get('token') ?? '';
      // Like the notifier: an unknown or used token is refused before the upgrade.
      if (url.pathname !== '/ws/notifications/' || !notify.issued.delete(token)) {
        socket.end('HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n');
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => notify.accepted(ws));
    });
    return notify;
  }

  openConnections(): NotifyConnection[] {
    return this.connections.filter((c) => c.closeCode === undefined);
  }

  answerSubscribe(conn: NotifyConnection): void {
    const last = conn.subscribes.at(-1);
    conn.socket.send(JSON.stringify({ type: 'subscribed', notification_types: last?.notification_types ?? [] }));
  }

  /** Sends a notification frame and returns it. */
  push(conn: NotifyConnection, fields: { type?: 'reservation' | 'parking_lot'; message?: string; data?: Record<string, unknown> } = {}) {
    this.seq += 1;
    const frame = {
      type: 'notification' as const,
      id: `1700000000000-${this.seq}`,
      notification_type: fields.type ?? 'reservation',
      message: fields.message ?? `message ${this.seq}`,
      data: fields.data ?? { seq: this.seq },
      created_at: new Date(1_700_000_000_000 + this.seq * 1000).toISOString(),
    };
    conn.socket.send(JSON.stringify(frame));
    return frame;
  }

  /** Resolves with `check`'s value once it is truthy, re-checked on every request, frame and close. */
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
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private tokenRequest(url: string | undefined, authorization: string | undefined, res: ServerResponse): void {
    if (!url?.startsWith('/api/user/ws-token/')) {
      res.writeHead(404).end();
      return;
    }
    this.tokenRequests.push({ authorization });
    if (this.tokenStatus !== 200) {
      res.writeHead(this.tokenStatus, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ code: 'auth_invalid', message: 'JWT refused by the test server' }));
    } else {
      const token = `t${this.tokenRequests.length}`;
      this.issued.add(token);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ws_token: token, expires_in: 1800 }));
    }
    this.changed();
  }

  private accepted(socket: WebSocket): void {
    const conn: NotifyConnection = { socket, subscribes: [], closeCode: undefined };
    this.connections.push(conn);
    socket.on('message', (data) => {
      const frame = JSON.parse(String(data)) as { type?: string; notification_types?: string[]; last_id?: string };
      if (frame.type === 'subscribe') {
        conn.subscribes.push({ notification_types: frame.notification_types ?? [], ...(frame.last_id ? { last_id: frame.last_id } : {}) });
        if (this.autoAnswerSubscribe) this.answerSubscribe(conn);
      }
      if (frame.type === 'ping') socket.send('{"type":"pong"}');
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
