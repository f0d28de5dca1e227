import { issuedBeforeDisconnect } from '@parking-realtime/redis';

/**
 * Long enough to cover an upgrade between its token check and its admission
 * (a Redis round trip and a handshake), with a wide margin.
 */
const REMEMBER_MS = 5 * 60_000;

/**
 * Disconnects this notifier heard recently, by user. An upgrade that read the
 * user's mark in Redis just before a disconnect was written, and is admitted
 * just after the control message went by, is caught here.
 */
export class DisconnectMarks {
  private readonly marks = new Map<string, { at: number; heard: number }>();

  remember(userId: string, at: number, now = Date.now()): void {
    const known = this.marks.get(userId);
    // Re-inserted so the map stays in order of hearing, oldest first, for pruning.
    this.marks.delete(userId);
    this.marks.set(userId, { at: Math.max(at, known?.at ?? at), heard: now });
    for (const [user, mark] of this.marks) {
      if (now - mark.heard < REMEMBER_MS) break;
      this.marks.delete(user);
    }
  }

  /** Whether a socket whose token was issued at `issuedAtMs` belongs to a disconnect heard here. */
  revokes(userId: string, issuedAtMs: number): boolean {
    return issuedBeforeDisconnect(issuedAtMs, this.marks.get(userId)?.at);
  }
}
