import { mapConcurrent, rssBytes } from '../stats.js';
import type { SystemUnderTest } from '../systems/system.js';
import type { Result } from './result.js';

/**
 * Idle memory: RSS of the process holding the sockets before and after N idle,
 * subscribed connections. Measured on a fresh system, after a short settle so
 * the handshakes' garbage has had a chance to go.
 */
export async function idleMemory(sut: SystemUnderTest, connections: number, settleMs = 3000): Promise<Result> {
  await new Promise((r) => setTimeout(r, settleMs));
  const before = await rssBytes(sut.socketHolderPid);
  const opened = await mapConcurrent(
    Array.from({ length: connections }, (_, i) => i),
    128,
    (i) => sut.connect(`idle-${i}`, ['reservation', 'parking_lot'], () => {}),
  );
  await new Promise((r) => setTimeout(r, settleMs));
  const after = await rssBytes(sut.socketHolderPid);
  for (const c of opened) c.close();
  return {
    scenario: 'idle-memory',
    system: sut.name,
    params: { connections },
    figures: {
      rssBeforeMB: Math.round(before / 1048576),
      rssAfterMB: Math.round(after / 1048576),
      kbPerConnection: Math.round(((after - before) / connections / 1024) * 10) / 10,
    },
  };
}
