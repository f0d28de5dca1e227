import { createServer, type Server } from 'node:http';
import { type WebSocket, WebSocketServer } from 'ws';

export interface ScriptedConnection {
  token: string;
  socket: WebSocket;
  /** Every frame the client sent, parsed. */
  frames: Array<Record<string, unknown>>;
}

/**
 * A real HTTP + WebSocket server in-process that speaks the notifier's
 * protocol as a script says, for testing clients: it issues tokens
 * (or refuses them), answers subscribe and ping, and pushes what a test tells it to.
 */
export class ScriptedNotifier {
  readonly tokenRequests: Array<{ authorization: string | undefined }> = [];
  readonly connections: ScriptedConnection[] = [];
  /** Status the token endpoint answers with; 200 issues `t<n>`. */
  tokenStatus = 200;
  answerPings = true;
  private changeListeners: Array<() => void> = [];

  private constructor(
    private readonly server: Server,
    private readonly wss: WebSocketServer,
    readonly baseUrl: string,
  ) {}

  static async start(): Promise<ScriptedNotifier> {
    const server = createServer();
    const wss = new WebSocketServer({ server, path: '/ws/notifications/' });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const scripted = new ScriptedNotifier(server, wss, `http://127.0.0.1:${port}`);
    server.on('request', (req, res) => {
      if (!req.url?.startsWith('/api/user/ws-token/')) {
        res.writeHead(404).end();
        return;
      }
      scripted.tokenRequests.push({ authorization: req.headers.authorization });
      scripted.changed();
      if (scripted.tokenStatus !== 200) {
        res.writeHead(scripted.tokenStatus, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ code: 'auth_expired', message: 'refused by the script' }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ws_token: `t${scripted.tokenRequests.length}`, expires_in: 1800 }));
    });
    wss.on('connection', (socket, req) => {
      const token = new URL(req.url ?? '/', 'http://x').searchParams.get('token') ?? '';
      const conn: ScriptedConnection = { token, socket, frames: [] };
      scripted.connections.push(conn);
      socket.on('message', (data) => {
        const frame = JSON.parse(data.toString()) as Record<string, unknown>;
        conn.frames.push(frame);
        if (frame.type === 'subscribe') socket.send(JSON.stringify({ type: 'subscribed', notification_types: frame.notification_types }));
        if (frame.type === 'ping' && scripted.answerPings) socket.send('{"type":"pong"}');
        scripted.changed();
      });
      socket.on('close', () => scripted.changed());
      scripted.changed();
    });
    return scripted;
  }

  /** Sends a notification frame on a connection. */
  pushNotification(conn: ScriptedConnection, id: string, message = `n ${id}`): void {
    conn.socket.send(
      JSON.stringify({
        type: 'notification',
        id,
        notification_type: 'parking_lot',
        message,
        data: { id },
        created_at: new Date().toISOString(),
      }),
    );
  }

  openConnections(): ScriptedConnection[] {
    return this.connections.filter((c) => c.socket.readyState === c.socket.OPEN);
  }

  /** Resolves when `check` holds, re-checked on every request, frame and close; fails after `timeoutMs`. */
  until<T>(check: () => T | undefined | false, timeoutMs = 5000, what = 'condition'): Promise<T> {
    const now = check();
    if (now) return Promise.resolve(now);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.changeListeners = this.changeListeners.filter((l) => l !== listener);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const listener = () => {
        const value = check();
        if (!value) return;
        clearTimeout(timer);
        this.changeListeners = this.changeListeners.filter((l) => l !== listener);
        resolve(value);
      };
      this.changeListeners.push(listener);
    });
  }

  async stop(): Promise<void> {
    for (const client of this.wss.clients) client.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private changed(): void {
    for (const listener of [...this.changeListeners]) listener();
  }
}
