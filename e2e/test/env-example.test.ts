import { readFileSync } from 'node:fs';
import { commonEnv } from '@parking-realtime/runtime';
import t from 'tap';
import { nginxLimitsEnv, stackEnv } from '@parking-realtime/local-stack';
import { authTokenEnv } from '../../services/auth-token/src/config.js';
import { eventIngestEnv } from '../../services/event-ingest/src/config.js';
import { notifierEnv } from '../../services/notifier/src/config.js';

const ROOT = new URL('../../', import.meta.url);

/** Every env schema there is: what a service, a CLI (the common variables) or `npm start` reads. */
const SCHEMAS: Record<string, Record<string, object>> = {
  'shared/runtime commonEnv': commonEnv,
  'auth-token': authTokenEnv,
  notifier: notifierEnv,
  'event-ingest': eventIngestEnv,
  'npm start (stackEnv)': stackEnv,
  'nginx (nginxLimitsEnv)': nginxLimitsEnv,
};
const declared = new Set(Object.values(SCHEMAS).flatMap((schema) => Object.keys(schema)));

/** `.env.example`'s assignments: `NAME=value`, or commented out, `# NAME=value`. */
const example = readFileSync(new URL('.env.example', ROOT), 'utf8')
  .split('\n')
  .map((line) => /^(# ?)?([A-Z][A-Z0-9_]*)=(.*)$/.exec(line))
  .filter((m) => m !== null)
  .map((m) => ({ name: m[2]!, value: m[3]!, commented: m[1] !== undefined }));

const readme = readFileSync(new URL('README.md', ROOT), 'utf8');

for (const [owner, schema] of Object.entries(SCHEMAS)) {
  t.test(`.env.example lists every variable of ${owner} with its default`, async (t) => {
    for (const [name, type] of Object.entries(schema) as Array<[string, { default?: unknown }]>) {
      const lines = example.filter((e) => e.name === name);
      if (!t.ok(lines.length > 0, `${name} is in .env.example`)) continue;
      if (type.default !== undefined) {
        t.ok(
          lines.some((e) => e.value === String(type.default)),
          `${name}=${type.default}, its default`,
        );
      } else {
        t.ok(
          lines.every((e) => e.commented),
          `${name} has no default: commented out, so copying the file sets nothing`,
        );
      }
    }
  });

  t.test(`the README's variable tables list every variable of ${owner}`, async (t) => {
    for (const name of Object.keys(schema)) t.match(readme, new RegExp(`^\\| \`${name}\` \\|`, 'm'), name);
  });
}

t.test('.env.example sets nothing that no service reads', async (t) => {
  for (const e of example.filter((e) => !e.commented)) t.ok(declared.has(e.name), `${e.name} is read by a service or npm start`);
});
