import { isIP } from 'node:net';
import { ConfigError } from '@parking-realtime/runtime';

/** The ranges proxy-addr (Fastify's `trustProxy`) knows by name. */
const NAMED_RANGES = ['loopback', 'linklocal', 'uniquelocal'];

/**
 * The trusted proxies of a comma-separated list, each an IP address, a CIDR
 * range (`10.0.0.0/8`, `fd00::/8`) or a proxy-addr name, as Fastify's
 * `trustProxy` takes them; empty: none. Anything else stops start-up with a
 * ConfigError naming the variable and the entry, rather than reaching
 * proxy-addr, which would throw a message naming neither. A `/0` range is
 * refused: it would trust every client to say who it is.
 */
export function parseTrustedProxies(name: string, value: string): string[] {
  if (value.trim() === '') return [];
  return value.split(',').map((raw) => {
    const entry = raw.trim();
    const problem = entryProblem(entry);
    if (problem) throw new ConfigError(`Invalid environment: ${name}: ${JSON.stringify(entry)} ${problem}`);
    return entry;
  });
}

function entryProblem(entry: string): string | undefined {
  if (entry === '') return 'is empty (a stray comma?)';
  if (NAMED_RANGES.includes(entry)) return undefined;
  const slash = entry.indexOf('/');
  const address = slash < 0 ? entry : entry.slice(0, slash);
  const family = isIP(address);
  const expected = `is not an IP address, a CIDR range or one of ${NAMED_RANGES.join(', ')}`;
  if (family === 0) return expected;
  if (slash < 0) return undefined;
  const prefix = entry.slice(slash + 1);
  const bits = family === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > bits) return `has a prefix length that is not 0 to ${bits}`;
  if (Number(prefix) === 0) return 'trusts every address, so any client could choose its own; list the proxies';
  return undefined;
}
