import type { NotificationType } from './notification-types.js';
import type { StreamName } from './streams.js';

/**
 * A notification frame's layout, the one place it is spelled: the publisher
 * builds frames from it (its Lua script splices each stream's id, name and
 * epoch between these pieces) and the notifier reads them with the readers
 * below. The frame is
 *
 *   PIECES[0] id PIECES[1] stream PIECES[2] epoch PIECES[3] body
 *
 * and the body (notificationBody) begins with `"created_at":"…"`. So a frame
 * opens with its fixed part, `type`, `id`, `stream`, `epoch`, `created_at`,
 * whose values never hold a quote or an escape (ids, stream names and
 * date-times), and a reader finds each by position without parsing; the
 * event's own fields (`notification_type`, `message`, `data`) follow. JSON
 * key order is no part of the wire contract: clients parse frames.
 */
export const NOTIFICATION_FRAME_PIECES = ['{"type":"notification","id":"', '","stream":"', '","epoch":"', '",'] as const;

const [BEFORE_ID, BEFORE_STREAM, BEFORE_EPOCH, BEFORE_BODY] = NOTIFICATION_FRAME_PIECES;
const CREATED_AT_KEY = '"created_at":"';

/** The frame of a notification at `id` in `stream`, whose epoch is `epoch`, from its event's body. */
export function notificationFrameText(id: string, stream: StreamName, epoch: string, body: string): string {
  return BEFORE_ID + id + BEFORE_STREAM + stream + BEFORE_EPOCH + epoch + BEFORE_BODY + body;
}

/**
 * The frame body of an event, the same in each of its frames: its fields as
 * a JSON object without the opening brace, `created_at` first. Throws if
 * `data` cannot be serialized.
 */
export function notificationBody(event: { type: NotificationType; message: string; data: unknown; created_at: string }): string {
  return JSON.stringify({
    created_at: event.created_at,
    notification_type: event.type,
    message: event.message,
    data: event.data,
  }).slice(1);
}

/**
 * A serialized frame's bytes, as the notifier holds them (a Node Buffer is
 * one). Described by shape so that this package imports no Node module.
 */
export interface FrameBytes {
  readonly [index: number]: number;
  indexOf(byte: number, from?: number): number;
  toString(encoding: 'latin1', start?: number, end?: number): string;
}

const QUOTE = 0x22;
// Every piece is ASCII: its length in characters is its length in bytes.
const ID_AT = BEFORE_ID.length;
const CREATED_AT_SKIP = BEFORE_BODY.length + CREATED_AT_KEY.length;

/** The id of a frame built here, read from its fixed part without parsing the frame. */
export function notificationIdOf(frame: FrameBytes): string {
  return frame.toString('latin1', ID_AT, frame.indexOf(QUOTE, ID_AT));
}

/**
 * The `created_at` of a frame built here, read from its fixed part without
 * parsing the frame; '' for bytes laid out otherwise (an older publisher put
 * `created_at` last), which Date.parse turns into NaN.
 */
export function notificationCreatedAtOf(frame: FrameBytes): string {
  const idEnd = frame.indexOf(QUOTE, ID_AT);
  const streamEnd = idEnd < 0 ? -1 : frame.indexOf(QUOTE, idEnd + BEFORE_STREAM.length);
  const epochEnd = streamEnd < 0 ? -1 : frame.indexOf(QUOTE, streamEnd + BEFORE_EPOCH.length);
  if (epochEnd < 0 || !holdsAt(frame, epochEnd + BEFORE_BODY.length, CREATED_AT_KEY)) return '';
  const start = epochEnd + CREATED_AT_SKIP;
  const end = frame.indexOf(QUOTE, start);
  return end < 0 ? '' : frame.toString('latin1', start, end);
}

/** Whether `frame` holds the ASCII text `text` at `at`. */
function holdsAt(frame: FrameBytes, at: number, text: string): boolean {
  for (let i = 0; i < text.length; i++) if (frame[at + i] !== text.charCodeAt(i)) return false;
  return true;
}
