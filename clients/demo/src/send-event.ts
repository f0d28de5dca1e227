import type { NotificationType } from '@parking-realtime/protocol';

export interface OutgoingEvent {
  type: NotificationType;
  message: string;
  data: Record<string, unknown>;
  /** Absent: a broadcast to everyone subscribed to the type. */
  user_ids?: Array<number | string>;
}

export interface SendOutcome {
  ok: boolean;
  /** One line for the page: the event id, or why it was refused. */
  summary: string;
}

/** `POST /api/events/` with the service JWT, as a domain service would. */
export async function sendEvent(serviceToken: string, event: OutgoingEvent): Promise<SendOutcome> {
  let response: Response;
  try {
    response = await fetch('/api/events/', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${serviceToken}` },
      body: JSON.stringify(event),
    });
  } catch (err) {
    return { ok: false, summary: `Not sent: ${(err as Error).message}` };
  }
  const body = (await response.json().catch(() => ({}))) as { id?: unknown; code?: unknown; message?: unknown };
  if (response.ok) return { ok: true, summary: `Accepted (${response.status}), event id ${String(body.id)}` };
  const code = typeof body.code === 'string' ? ` ${body.code}` : '';
  const message = typeof body.message === 'string' ? `: ${body.message}` : '';
  return { ok: false, summary: `Refused (${response.status}${code})${message}` };
}
