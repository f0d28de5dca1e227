/**
 * Client frames far past any notifier's frame limit (ws stops reading them and
 * closes with 1009), each several times: whether the close frame reaches the
 * client is a race against the rest of the frame still on its way.
 */
export function oversizedFrames(rounds = 8): Array<[what: string, frame: string]> {
  const subscribe = JSON.stringify({ type: 'subscribe', notification_types: Array.from({ length: 10_000 }, (_, i) => `type_${i}`) });
  const ping = JSON.stringify({ type: 'ping', pad: 'x'.repeat(10_000_000) });
  return Array.from({ length: rounds }, (_, round) => [
    [`a subscribe of 10,000 types (round ${round + 1})`, subscribe] as [string, string],
    [`a 10 MB frame (round ${round + 1})`, ping] as [string, string],
  ]).flat();
}
