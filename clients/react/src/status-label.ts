import type { ConnectionStatus } from '@parking-realtime/web';

const labels: Record<ConnectionStatus, string> = {
  idle: 'Not connected',
  connecting: 'Connecting…',
  open: 'Connected',
  reconnecting: 'Reconnecting…',
  closed: 'Closed',
};

/** What a person reads for a connection status. */
export function statusLabel(status: ConnectionStatus): string {
  return labels[status];
}
