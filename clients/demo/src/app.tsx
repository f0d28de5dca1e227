import type { NotificationFrame } from '@parking-realtime/protocol';
import { NotificationCenter, statusLabel, useNotifications } from '@parking-realtime/react';
import type { ConnectionStatus } from '@parking-realtime/web';
import { useCallback, useEffect, useRef, useState } from 'react';
import { type DemoSession, demoLogin, expiresWithin, requestedUserId, type SignIn } from './demo-login';
import { LotBoard } from './lot-board';
import { applyLotUpdate, type Lot, SEEDED_LOTS } from './lots';
import { SendForm } from './send-form';

const TYPES = ['reservation', 'parking_lot'] as const;

export function App() {
  const [signIn, setSignIn] = useState<SignIn>({ state: 'signing-in' });
  const [lots, setLots] = useState<readonly Lot[]>(SEEDED_LOTS);

  useEffect(() => {
    let current = true;
    void demoLogin(requestedUserId(location.search)).then((result) => {
      if (current) setSignIn(result);
    });
    return () => {
      current = false;
    };
  }, []);

  const session = signIn.state === 'signed-in' ? signIn.session : undefined;
  const sessionRef = useRef<DemoSession | undefined>(undefined);
  sessionRef.current = session;
  // Each reconnect asks for a JWT: one about to expire is renewed first (with the service token the send form uses).
  const getJwt = useCallback(async () => {
    const current = sessionRef.current;
    if (!current) return '';
    if (!expiresWithin(current.access, 60_000)) return current.access;
    const renewed = await demoLogin(current.userId);
    if (renewed.state !== 'signed-in') return current.access;
    sessionRef.current = renewed.session;
    setSignIn(renewed);
    return renewed.session.access;
  }, []);
  const onNotification = useCallback((notification: NotificationFrame) => {
    if (notification.notification_type === 'parking_lot') {
      setLots((previous) => applyLotUpdate(previous, notification.data, notification.created_at));
    }
  }, []);
  const notifications = useNotifications({
    getJwt,
    baseUrl: location.origin,
    types: TYPES,
    enabled: session !== undefined,
    onNotification,
  });

  return (
    <div className="page">
      <header className="page__header">
        <h1>Smart Parking Davao — live</h1>
        <div className="page__session">
          <span className={`status-pill is-${notifications.status}`} data-testid="status">
            {statusText(signIn, notifications.status)}
          </span>
          {session && (
            <span className="page__user">
              User <strong data-testid="user">{String(session.userId)}</strong>
            </span>
          )}
        </div>
      </header>

      {signIn.state === 'demo-disabled' && (
        <p className="notice" role="alert" data-testid="notice">
          Demo login is off. The demo needs <code>DEMO_MODE=1</code>: start the stack with <code>DEMO_MODE=1 npm start</code>.
        </p>
      )}
      {signIn.state === 'failed' && (
        <p className="notice" role="alert" data-testid="notice">
          {signIn.message}
        </p>
      )}

      <main className="page__main">
        <div className="page__column">
          <LotBoard lots={lots} />
          {session?.serviceToken && <SendForm serviceToken={session.serviceToken} userId={session.userId} lots={lots} />}
        </div>
        <NotificationCenter notifications={notifications} title="Notifications" showStatus={false} />
      </main>
    </div>
  );
}

/** Exactly one of Connected, Connecting…, Reconnecting…, Closed (a browser test waits for these). */
function statusText(signIn: SignIn, status: ConnectionStatus): string {
  if (signIn.state === 'demo-disabled' || signIn.state === 'failed') return 'Closed';
  // Signing in comes before the client exists: to the reader it is part of connecting.
  if (status === 'idle') return statusLabel('connecting');
  return statusLabel(status);
}
