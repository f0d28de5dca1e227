import { writeFileSync } from 'node:fs';
import { COMPOSE_CONFIG_PATH, COMPOSE_TARGET, renderNginxConfig } from './nginx-config.js';

/** `npm run render:nginx`: regenerates infra/nginx/nginx.compose.conf from the template. */
writeFileSync(
  COMPOSE_CONFIG_PATH,
  `# GENERATED from nginx.conf.template by \`npm run render:nginx\`; do not edit.\n${renderNginxConfig(COMPOSE_TARGET)}`,
);
console.log(`wrote ${COMPOSE_CONFIG_PATH}`);
