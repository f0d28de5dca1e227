import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { freePort, metricValue, type ServiceProcess, serviceJwt } from '@parking-realtime/testing';
import { chromium } from 'playwright-core';
import t from 'tap';
import { startStack } from '@parking-realtime/local-stack';
import { postEventTo } from './support/post-event.js';

const ARTIFACTS = fileURLToPath(new URL('../test-artifacts/', import.meta.url));
const SERVICE_JWT_SECRET = 'browser-service-secret-long-enough-012345';
const stack = await startStack({
  authTokenPort: 0,
  notifierPorts: [0, 0],
  eventIngestPort: 0,
  nginxPort: await freePort(),
  env: {
    JWT_SECRET: 'browser-jwt-secret-that-is-long-enough-01',
    SERVICE_JWT_SECRET,
    DEMO_MODE: '1',
    SHUTDOWN_SPREAD_MS: '200',
    PATH: process.env.PATH ?? '',
  },
});
// Debian's Chromium, as the machine has it; no browser download.
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
t.teardown(async () => {
  await browser.close();
  await stack.stop();
});

const page = await browser.newPage();
const statusText = () => page.locator('[data-testid="status"]').textContent();

async function postEvent(event: Record<string, unknown>): Promise<void> {
  await postEventTo(stack.url, `Bearer ${serviceJwt(SERVICE_JWT_SECRET)}`, event);
}

async function notifierOfThePage(): Promise<ServiceProcess> {
  for (const notifier of stack.notifiers) {
    const text = await (await fetch(`http://127.0.0.1:${notifier.port}/metrics`)).text();
    if (metricValue(text, 'ws_connections_open') === 1) return notifier;
  }
  throw new Error('the page holds no socket');
}

t.test('the demo page signs in a demo user and shows Connected', async (t) => {
  await page.goto(`${stack.url}/?user=7`);
  await page.locator('[data-testid="status"]', { hasText: 'Connected' }).waitFor({ timeout: 15_000 });
  t.equal(await statusText(), 'Connected');
  t.match(await page.locator('[data-testid="user"]').textContent(), /7/);
  t.match(await page.title(), /Smart Parking Davao/);
});

t.test('an event sent to /api/events/ appears on the page within one second', async (t) => {
  await postEvent({ type: 'reservation', message: 'Reservation 501 confirmed', data: { reservation_id: 501, status: 'active' }, user_ids: [7] });
  await page.locator('[data-testid="notification"]', { hasText: 'Reservation 501 confirmed' }).waitFor({ timeout: 1000 });
  await postEvent({ type: 'parking_lot', message: 'Abreeza Mall: 4 free', data: { lot_id: 1, name: 'Abreeza Mall', free: 4 } });
  await page.waitForFunction(() => document.querySelector('[data-testid="lot-1-free"]')?.textContent === '4', undefined, { timeout: 1000 });
  t.pass('both arrived, and the lot board moved');
});

t.test('stopping the page\'s notifier: Reconnecting…, then Connected, and the next event appears', async (t) => {
  // Record every status the page shows, so a brief one cannot slip between two looks.
  await page.evaluate(() => {
    const el = document.querySelector('[data-testid="status"]')!;
    const seen: string[] = [el.textContent ?? ''];
    (window as unknown as { statuses: string[] }).statuses = seen;
    new MutationObserver(() => seen.push(el.textContent ?? '')).observe(el, { childList: true, characterData: true, subtree: true });
  });
  await (await notifierOfThePage()).kill('SIGTERM');
  await page.waitForFunction(
    () => {
      const seen = (window as unknown as { statuses: string[] }).statuses;
      const gone = seen.indexOf('Reconnecting…');
      return gone >= 0 && seen.indexOf('Connected', gone) > gone;
    },
    undefined,
    { timeout: 15_000 },
  );
  await postEvent({ type: 'reservation', message: 'Reservation 502 confirmed', data: { reservation_id: 502, status: 'active' }, user_ids: [7] });
  await page.locator('[data-testid="notification"]', { hasText: 'Reservation 502 confirmed' }).waitFor({ timeout: 5000 });
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: `${ARTIFACTS}demo-page.png`, fullPage: true });
  t.pass('reconnected through nginx to the other notifier');
});
