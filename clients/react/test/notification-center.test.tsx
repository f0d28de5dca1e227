import { inAct, render, untilDom } from './support/render.js';
import type { NotificationFrame } from '@parking-realtime/protocol';
import { ScriptedNotifier } from '@parking-realtime/testing';
import { NotificationClientError } from '@parking-realtime/web';
import t from 'tap';
import WebSocket from 'ws';
import { NotificationCenter, type UseNotificationsResult } from '../src/index.js';

function frame(id: string, type: NotificationFrame['notification_type'], message: string): NotificationFrame {
  return { type: 'notification', id, stream: `user:${type}`, epoch: '1-0', notification_type: type, message, data: {}, created_at: '2026-01-05T08:30:00.000Z' };
}

function result(overrides: Partial<UseNotificationsResult> = {}): UseNotificationsResult {
  return { isConnected: true, status: 'open', messages: [], error: undefined, clear: () => {}, lastId: undefined, ...overrides };
}

const byTestId = (el: Element, id: string) => [...el.querySelectorAll(`[data-testid="${id}"]`)];

t.test('lists notifications newest first with message, type and time', async (t) => {
  const messages = [frame('1-0', 'reservation', 'Reservation confirmed'), frame('2-0', 'parking_lot', 'Abreeza Mall: 12 free')];
  const view = await render(<NotificationCenter notifications={result({ messages })} />);
  t.teardown(() => view.unmount());

  const items = byTestId(view.container, 'notification');
  t.same(
    items.map((li) => li.querySelector('.notification__message')?.textContent),
    ['Abreeza Mall: 12 free', 'Reservation confirmed'],
  );
  t.match(items[0]?.textContent, /Parking lot/);
  t.match(items[1]?.textContent, /Reservation/);
  t.equal(items[0]?.querySelector('time')?.getAttribute('datetime'), '2026-01-05T08:30:00.000Z');
  t.equal(byTestId(view.container, 'notification-status')[0]?.textContent, 'Connected');
  t.equal(view.container.querySelector('section')?.getAttribute('aria-labelledby'), view.container.querySelector('h2')?.id, 'the region is named by its heading');
});

t.test('Clear calls clear(), and is disabled when there is nothing to clear', async (t) => {
  let cleared = 0;
  const view = await render(<NotificationCenter notifications={result({ messages: [frame('1-0', 'reservation', 'x')], clear: () => cleared++ })} />);
  t.teardown(() => view.unmount());
  const button = byTestId(view.container, 'notifications-clear')[0] as HTMLButtonElement;
  t.equal(button.disabled, false);
  await inAct(() => button.click());
  t.equal(cleared, 1);

  await view.rerender(<NotificationCenter notifications={result()} />);
  t.equal(button.disabled, true);
  t.equal(byTestId(view.container, 'notifications').length, 1, 'the list is present even when empty');
  t.match(view.container.textContent, /No notifications yet/);
});

t.test('shows a refused JWT as an alert next to the Closed status', async (t) => {
  const error = new NotificationClientError('auth_failed', 'JWT expired', true);
  const view = await render(<NotificationCenter notifications={result({ status: 'closed', isConnected: false, error })} />);
  t.teardown(() => view.unmount());
  t.equal(byTestId(view.container, 'notification-status')[0]?.textContent, 'Closed');
  t.equal(view.container.querySelector('[role="alert"]')?.textContent, 'JWT expired');
});

t.test('given options, it connects itself and shows what the server pushes', async (t) => {
  const server = await ScriptedNotifier.start();
  t.teardown(() => server.stop());
  const view = await render(
    <NotificationCenter title="Live" options={{ getJwt: () => 'jwt', baseUrl: server.baseUrl, WebSocket: WebSocket as never }} />,
  );
  await untilDom(view.container, (el) => byTestId(el, 'notification-status')[0]?.textContent === 'Connected', 'Connected');

  server.push(server.openConnections()[0]!, { notification_type: 'parking_lot', message: 'SM Lanang: 40 free' });
  const item = await untilDom(view.container, (el) => byTestId(el, 'notification')[0], 'a notification item');
  t.match(item.textContent, /SM Lanang: 40 free/);

  await view.unmount();
  await server.until(() => server.openConnections().length === 0, 5000, 'the socket to close');
});
