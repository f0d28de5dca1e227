import type { NotificationFrame, NotificationType } from '@parking-realtime/protocol';
import {
  type CatchUp,
  type ConnectionStatus,
  type HistoryGap,
  NotificationClient,
  type NotificationClientError,
  type NotificationClientOptions,
  type ReadonlyStreamPositions,
  type ResumeGap,
} from '@parking-realtime/web';
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'react';

export interface UseNotificationsOptions extends NotificationClientOptions {
  /** false: no client at all (status 'idle'), e.g. until the user has signed in. Default true. */
  enabled?: boolean;
  /** Called once for each notification as it arrives; handy for state that outlives the bounded `messages`. */
  onNotification?: (notification: NotificationFrame) => void;
  /**
   * The socket's resume no longer reached back to where the client was in
   * `gap.streams`. The client then catches up from the notifications
   * endpoint (`catchUpOnGap`, default true): `onHistoryGap` says what is lost for good.
   */
  onResumeGap?: (gap: ResumeGap) => void;
  /**
   * Even the notifications endpoint's history no longer reaches back in
   * `gap.streams`: refetch whatever state they keep up to date.
   */
  onHistoryGap?: (gap: HistoryGap) => void;
}

export interface UseNotificationsResult {
  /** True once the server has answered the subscription, not merely when the socket is open. */
  isConnected: boolean;
  /** The latest notifications, oldest first, at most `bufferSize` (default 100). */
  messages: readonly NotificationFrame[];
  status: ConnectionStatus;
  /**
   * The latest error, cleared when a connection opens again. With status
   * 'closed' and code 'auth_failed' the JWT was refused: the client has stopped.
   */
  error: NotificationClientError | undefined;
  /** Empties `messages`; the resume position is kept. */
  clear: () => void;
  /** Id of the latest notification, sent as `last_id` when reconnecting. */
  lastId: string | undefined;
  /**
   * Where the client is in each stream, sent as `positions` when reconnecting.
   * Always set by the hook; optional so results built by hand (test doubles) still type-check.
   */
  positions?: ReadonlyStreamPositions;
  /**
   * Fetches from the notifications endpoint what the client has not got:
   * what came after its positions, or before it has any the most recent
   * notifications. They join `messages` like live ones (each once, in id
   * order). Resolves with what it delivered, or undefined if the fetch failed
   * (then `error` says why) or there is no client. Always set by the hook.
   */
  refetch?: () => Promise<CatchUp | undefined>;
}

interface ConnectionState {
  status: ConnectionStatus;
  messages: readonly NotificationFrame[];
  error: NotificationClientError | undefined;
  lastId: string | undefined;
  positions: ReadonlyStreamPositions;
}

const idle: ConnectionState = { status: 'idle', messages: [], error: undefined, lastId: undefined, positions: {} };

/**
 * One live notification connection for as long as the component is mounted
 * (and `enabled`). The client is created again only when where it connects or
 * what it subscribes to changes (baseUrl, tokenUrl, socketUrl,
 * notificationsUrl, types, enabled);
 * the other options, getJwt and the callbacks are read when needed, so passing
 * new function identities on every render is fine.
 */
export function useNotifications(options: UseNotificationsOptions): UseNotificationsResult {
  const { baseUrl, tokenUrl, socketUrl, notificationsUrl, enabled = true } = options;
  // Compared by value: a types array written inline is a new array on every render.
  const typesKey = options.types?.join(',');
  const latest = useRef(options);
  useLayoutEffect(() => {
    latest.current = options;
  });
  const clientRef = useRef<NotificationClient | undefined>(undefined);
  const [state, setState] = useState<ConnectionState>(idle);

  useEffect(() => {
    setState(idle);
    if (!enabled) return;
    const { getJwt: _getJwt, onNotification: _n, onResumeGap: _r, onHistoryGap: _h, enabled: _e, ...rest } = latest.current;
    const client = new NotificationClient({
      ...rest,
      baseUrl,
      tokenUrl,
      socketUrl,
      notificationsUrl,
      types: typesKey === undefined ? undefined : (typesKey.split(',').filter(Boolean) as NotificationType[]),
      getJwt: () => latest.current.getJwt(),
    });
    const update = (patch: Partial<ConnectionState>) => setState((previous) => ({ ...previous, ...patch }));
    const unsubscribe = [
      // Open means `subscribed` arrived, and with it new positions.
      client.on('status', (status) => update(status === 'open' ? { status, error: undefined, positions: client.positions } : { status })),
      client.on('error', (error) => update({ error })),
      client.on('notification', (notification) => {
        // The client's buffer is mutated in place: copy it so React sees a new array.
        update({ messages: [...client.notifications], lastId: client.lastId, positions: client.positions });
        latest.current.onNotification?.(notification);
      }),
      client.on('resume_gap', (gap) => latest.current.onResumeGap?.(gap)),
      client.on('history_gap', (gap) => latest.current.onHistoryGap?.(gap)),
    ];
    clientRef.current = client;
    // StrictMode mounts, unmounts and mounts again in one go; connecting a
    // microtask later means the discarded first client never even asks for a token.
    let live = true;
    queueMicrotask(() => {
      if (live) client.connect();
    });
    return () => {
      live = false;
      for (const off of unsubscribe) off();
      // close() clears the retry and ping timers and detaches the socket: nothing reconnects after unmount.
      client.close();
      if (clientRef.current === client) clientRef.current = undefined;
    };
  }, [baseUrl, tokenUrl, socketUrl, notificationsUrl, typesKey, enabled]);

  const clear = useCallback(() => {
    clientRef.current?.clear();
    setState((previous) => ({ ...previous, messages: [] }));
  }, []);

  // The notifications it delivers reach `messages` through the client's `notification` events.
  const refetch = useCallback(async (): Promise<CatchUp | undefined> => {
    const client = clientRef.current;
    if (!client) return undefined;
    try {
      return await client.fetchMissed();
    } catch (err) {
      if (clientRef.current === client) setState((previous) => ({ ...previous, error: err as NotificationClientError }));
      return undefined;
    }
  }, []);

  return {
    isConnected: state.status === 'open',
    messages: state.messages,
    status: state.status,
    error: state.error,
    clear,
    lastId: state.lastId,
    positions: state.positions,
    refetch,
  };
}
