/**
 * `POST /api/events/` at `baseUrl` (nginx or event-ingest itself) with a
 * service JWT's Authorization header: resolves with the event's id once
 * answered 202, and throws with the status and body otherwise.
 */
export async function postEventTo(baseUrl: string, authorization: string, event: Record<string, unknown>): Promise<string> {
  const res = await fetch(`${baseUrl}/api/events/`, {
    method: 'POST',
    headers: { authorization, 'content-type': 'application/json' },
    body: JSON.stringify(event),
  });
  if (res.status !== 202) throw new Error(`POST ${baseUrl}/api/events/ answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { id: string }).id;
}
