/**
 * Orders notification ids (`<ms>-<seq>`), as compareNotificationIds in
 * `@parking-realtime/protocol` does; repeated here because that module's
 * entry point would bring the schemas (and TypeBox) into a browser bundle.
 */
export function compareNotificationIds(a: string, b: string): number {
  const [am = 0, as = 0] = a.split('-').map(Number);
  const [bm = 0, bs = 0] = b.split('-').map(Number);
  return am - bm || as - bs;
}
