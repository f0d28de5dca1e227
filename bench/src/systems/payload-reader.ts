import type { BenchPayload } from './system.js';

// The load generator shares one core among every client, so it reads the few
// fields it needs from a notification's text instead of parsing all of it:
// what the clients cost must not become what the benchmark measures. Both
// systems serialize `data` with its keys in the order they were sent.
const PAYLOAD = /"round":(\d+),"seq":(\d+),"sent":([\d.e+-]+)(?:,"to":"([^"]*)")?/;

/** The bench payload inside a notification's text, or undefined if it holds none. */
export function readPayload(text: string): BenchPayload | undefined {
  const m = PAYLOAD.exec(text);
  if (!m) return undefined;
  const payload: BenchPayload = { round: Number(m[1]), seq: Number(m[2]), sent: Number(m[3]) };
  if (m[4] !== undefined) payload.to = m[4];
  return payload;
}
