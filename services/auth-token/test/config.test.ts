import { ConfigError, DEV_SECRETS } from '@parking-realtime/runtime';
import Fastify from 'fastify';
import t from 'tap';
import { loadAuthTokenConfig } from '../src/config.js';

t.test('defaults: port 8001, TTL 1800, user_id claim, HS256, dev secret outside production', async (t) => {
  const c = loadAuthTokenConfig({});
  t.equal(c.port, 8001);
  t.equal(c.wsTokenTtlSeconds, 1800);
  t.equal(c.jwt.userClaim, 'user_id');
  t.equal(c.jwt.algorithm, 'HS256');
  t.equal(c.jwt.usingDevSecret, true);
  t.same(c.redis, { url: 'redis://127.0.0.1:6379' });
});

t.test('REDIS_HOST/REDIS_PORT as in the original guide; REDIS_URL wins', async (t) => {
  t.same(loadAuthTokenConfig({ REDIS_HOST: 'redis', REDIS_PORT: '6380' }).redis, { url: 'redis://redis:6380' });
  t.same(loadAuthTokenConfig({ REDIS_HOST: 'redis', REDIS_URL: 'redis://other:1' }).redis, { url: 'redis://other:1' });
  t.same(loadAuthTokenConfig({ REDIS_URL: 'redis://other:1', REDIS_CLUSTER_NODES: 'a:7000,10.0.0.2:7001' }).redis, {
    clusterNodes: [
      { host: 'a', port: 7000 },
      { host: '10.0.0.2', port: 7001 },
    ],
  });
  t.throws(() => loadAuthTokenConfig({ REDIS_CLUSTER_NODES: 'a:7000,b' }), /REDIS_CLUSTER_NODES/);
  t.throws(() => loadAuthTokenConfig({ REDIS_CLUSTER_NODES: 'a:99999' }), /REDIS_CLUSTER_NODES/);
});

t.test('a bad variable stops start-up with a message naming it', async (t) => {
  t.throws(() => loadAuthTokenConfig({ PORT: 'eighty' }), { name: 'ConfigError', message: /PORT/ });
  t.throws(() => loadAuthTokenConfig({ WS_TOKEN_TTL_SECONDS: '-5' }), /WS_TOKEN_TTL_SECONDS/);
  t.throws(() => loadAuthTokenConfig({ JWT_ALGORITHM: 'none' }), /JWT_ALGORITHM/);
  t.throws(() => loadAuthTokenConfig({ REDIS_URL: 'http://x' }), /REDIS_URL/);
  t.throws(() => loadAuthTokenConfig({ JWT_SECRET: 'short' }), /JWT_SECRET/);
  t.throws(() => loadAuthTokenConfig({ JWT_ALGORITHM: 'RS256' }), /JWT_PUBLIC_KEY/);
});

t.test('production refuses a missing or development secret', async (t) => {
  t.throws(() => loadAuthTokenConfig({ NODE_ENV: 'production' }), ConfigError);
  t.throws(() => loadAuthTokenConfig({ NODE_ENV: 'production', JWT_SECRET: DEV_SECRETS.JWT_SECRET }), /development default/);
  t.equal(loadAuthTokenConfig({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(40) }).jwt.usingDevSecret, false);
});

t.test('DEMO_MODE=1 is refused in production and with a public-key algorithm', async (t) => {
  t.equal(loadAuthTokenConfig({ DEMO_MODE: '1' }).demoMode, true);
  t.equal(loadAuthTokenConfig({}).demoMode, false);
  t.throws(() => loadAuthTokenConfig({ DEMO_MODE: '1', NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(40) }), /DEMO_MODE/);
  t.throws(() => loadAuthTokenConfig({ DEMO_MODE: '1', JWT_ALGORITHM: 'RS256', JWT_PUBLIC_KEY: 'k' }), /DEMO_MODE/);
  t.throws(() => loadAuthTokenConfig({ DEMO_MODE: 'yes' }), /DEMO_MODE/);
});

t.test('TRUST_PROXY: addresses, CIDR ranges and proxy-addr names, each one Fastify accepts; a bad entry is named', async (t) => {
  const listed = '127.0.0.1, 10.0.0.0/8,fd00::/8, ::1,loopback,uniquelocal,linklocal,172.18.0.5/32';
  const { trustProxy } = loadAuthTokenConfig({ TRUST_PROXY: listed });
  t.same(trustProxy, ['127.0.0.1', '10.0.0.0/8', 'fd00::/8', '::1', 'loopback', 'uniquelocal', 'linklocal', '172.18.0.5/32']);
  t.doesNotThrow(() => Fastify({ trustProxy }), 'Fastify (proxy-addr) takes the list as it is');
  t.same(loadAuthTokenConfig({ TRUST_PROXY: '' }).trustProxy, [], 'empty: none');
  const refused: Array<[string, RegExp]> = [
    ['nginx', /TRUST_PROXY: "nginx" is not an IP address, a CIDR range or one of loopback, linklocal, uniquelocal/],
    ['1', /TRUST_PROXY: "1" is not an IP address/],
    ['10.0.0.256', /"10\.0\.0\.256" is not an IP address/],
    ['127.0.0.1,,10.0.0.1', /TRUST_PROXY: "" is empty/],
    ['10.0.0.0/33', /"10\.0\.0\.0\/33" has a prefix length that is not 0 to 32/],
    ['fd00::/129', /"fd00::\/129" has a prefix length that is not 0 to 128/],
    ['10.0.0.0/255.0.0.0', /has a prefix length/],
    ['0.0.0.0/0', /"0\.0\.0\.0\/0" trusts every address/],
    ['::/0', /trusts every address/],
  ];
  for (const [value, message] of refused) {
    t.throws(() => loadAuthTokenConfig({ TRUST_PROXY: value }), { name: 'ConfigError', message }, value);
  }
  // A hop count trusted whoever connected; left set after an upgrade, it must not be silently dropped.
  t.throws(() => loadAuthTokenConfig({ TRUST_PROXY_HOPS: '1' }), { name: 'ConfigError', message: /TRUST_PROXY_HOPS is replaced by TRUST_PROXY/ });
});

t.test('JWT_AUDIENCE and JWT_ISSUER: unset by default, taken as given, refused with surrounding whitespace', async (t) => {
  const defaults = loadAuthTokenConfig({});
  t.equal(defaults.jwt.audience, undefined);
  t.equal(defaults.jwt.issuer, undefined);
  const set = loadAuthTokenConfig({ JWT_AUDIENCE: 'parking-realtime', JWT_ISSUER: 'https://app.example/api' });
  t.equal(set.jwt.audience, 'parking-realtime');
  t.equal(set.jwt.issuer, 'https://app.example/api');
  t.throws(() => loadAuthTokenConfig({ JWT_AUDIENCE: 'parking-realtime ' }), { name: 'ConfigError', message: /JWT_AUDIENCE/ });
  t.throws(() => loadAuthTokenConfig({ JWT_ISSUER: ' https://app.example' }), { name: 'ConfigError', message: /JWT_ISSUER/ });
  t.throws(() => loadAuthTokenConfig({ JWT_AUDIENCE: 'x'.repeat(513) }), /JWT_AUDIENCE/);
});
