import { fileURLToPath } from 'node:url';

export * from './nginx-config.js';
export * from './nginx-process.js';
export * from './stack.js';
export * from './stack-config.js';
export * from './supervisor.js';

/** `npm start`'s entry point (what infra/scripts/start.sh execs), for running it as a child process. */
export const START_SCRIPT = fileURLToPath(new URL('./start.ts', import.meta.url));
