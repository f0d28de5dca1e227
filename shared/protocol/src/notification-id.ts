/**
 * Notification ids are `<ms>-<seq>`, Redis stream ids: exactly ordered within
 * their stream, and by the time they were published across streams. Compare
 * them with this, never as strings.
 */
export function compareNotificationIds(a: string, b: string): number {
  const [am = 0, as = 0] = a.split('-').map(Number);
  const [bm = 0, bs = 0] = b.split('-').map(Number);
  return am - bm || as - bs;
}
