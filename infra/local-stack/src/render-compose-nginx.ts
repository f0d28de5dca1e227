import { writeFileSync } from 'node:fs';
import {
  COMPOSE_CONFIG_PATH,
  COMPOSE_TARGET,
  COMPOSE_TEMPLATE_PATH,
  COMPOSE_TEMPLATE_TARGET,
  GENERATED_HEADER,
  renderNginxConfig,
} from './nginx-config.js';

/**
 * `npm run render:nginx`: regenerates, from the one template, the compose
 * config baked into the edge image (default limits) and the compose template
 * that compose mounts so the NGINX_* variables set the limits at start.
 */
writeFileSync(COMPOSE_CONFIG_PATH, `${GENERATED_HEADER}${renderNginxConfig(COMPOSE_TARGET)}`);
console.log(`wrote ${COMPOSE_CONFIG_PATH}`);
writeFileSync(COMPOSE_TEMPLATE_PATH, `${GENERATED_HEADER}${renderNginxConfig(COMPOSE_TEMPLATE_TARGET)}`);
console.log(`wrote ${COMPOSE_TEMPLATE_PATH}`);
