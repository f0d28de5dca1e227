import { createServer, connect as tcpConnect, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy in front of a real server (Redis) that a test controls, to put
 * a client exactly where a race needs it: hold the server's replies once the
 * client sent a given command (so that command has run, but the client does
 * not know yet), then let them go; or cut every connection and refuse new ones
 * for a while, as a network failure would; or deliver every reply late, so a
 * client's requests are still unanswered when the test acts.
 */
export class TcpGate {
  readonly port: number;
  private readonly links = new Set<{ client: Socket; upstream: Socket; held: Buffer[] | undefined }>();
  private holdAfter: { marker: string; seen: () => void } | undefined;
  private cut = false;

  private constructor(
    private readonly server: Server,
    private readonly upstreamPort: number,
    private readonly replyDelayMs: number,
  ) {
    this.port = (server.address() as { port: number }).port;
    server.on('connection', (client) => this.link(client));
  }

  /** `replyDelayMs`: each chunk of the server's replies reaches the client this late (0 by default: at once), in order. */
  static async start(upstreamPort: number, { replyDelayMs = 0 }: { replyDelayMs?: number } = {}): Promise<TcpGate> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return new TcpGate(server, upstreamPort, replyDelayMs);
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /**
   * From the request containing `marker` on, the server's replies to that
   * client are held until `release()`. Resolves once the first of them is
   * held: the server has run that request, the client does not know it yet.
   */
  holdRepliesAfter(marker: string): Promise<void> {
    return new Promise((resolve) => {
      this.holdAfter = { marker, seen: resolve };
    });
  }

  /** Lets the held replies go, in order, and stops holding. */
  release(): void {
    this.holdAfter = undefined;
    for (const link of this.links) {
      const held = link.held;
      link.held = undefined;
      for (const chunk of held ?? []) this.reply(link.client, chunk);
    }
  }

  /** Drops every connection, and every new one until `heal()`. */
  cutAll(): void {
    this.cut = true;
    for (const { client, upstream } of this.links) {
      client.destroy();
      upstream.destroy();
    }
  }

  heal(): void {
    this.cut = false;
  }

  async stop(): Promise<void> {
    this.cutAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private link(client: Socket): void {
    if (this.cut) {
      client.destroy();
      return;
    }
    const upstream = tcpConnect(this.upstreamPort, '127.0.0.1');
    const link = { client, upstream, held: undefined as Buffer[] | undefined };
    this.links.add(link);
    client.on('data', (chunk: Buffer) => {
      const hold = this.holdAfter;
      if (hold && link.held === undefined && chunk.includes(hold.marker)) link.held = [];
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!link.held) {
        this.reply(client, chunk);
        return;
      }
      link.held.push(chunk);
      if (link.held.length === 1) this.holdAfter?.seen();
    });
    const close = () => {
      this.links.delete(link);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
  }

  private reply(client: Socket, chunk: Buffer): void {
    if (this.replyDelayMs === 0) client.write(chunk);
    else setTimeout(() => client.write(chunk), this.replyDelayMs);
  }
}
