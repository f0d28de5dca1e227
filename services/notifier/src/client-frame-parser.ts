import {
  CLIENT_FRAME_TYPES,
  type ClientFrame,
  ErrorCode,
  isNotificationType,
  NOTIFICATION_TYPES,
  PingFrame,
  SubscribeFrame,
  UnsubscribeFrame,
} from '@parking-realtime/protocol';
import { toFieldErrors } from '@parking-realtime/runtime';
import { Compile } from 'typebox/compile';

// One validator per frame type, so an error names the fields of the frame the client meant.
const validators = {
  subscribe: Compile(SubscribeFrame),
  unsubscribe: Compile(UnsubscribeFrame),
  ping: Compile(PingFrame),
};

export type ParsedFrame =
  | { ok: true; frame: ClientFrame }
  | { ok: false; code: ErrorCode; message: string };

/**
 * Turns a client's frame into a typed message, or says exactly what is wrong
 * with it, by the codes docs/protocol.md lists. Never throws.
 */
export function parseClientFrame(data: Buffer, isBinary: boolean, maxBytes: number): ParsedFrame {
  if (isBinary) return fail(ErrorCode.binaryFrame, 'Frames must be JSON text');
  if (data.length > maxBytes) return fail(ErrorCode.frameTooLarge, `Frames are limited to ${maxBytes} bytes`);
  let value: unknown;
  try {
    value = JSON.parse(data.toString('utf8'));
  } catch {
    return fail(ErrorCode.malformedJson, 'The frame is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return fail(ErrorCode.invalidFrame, 'A frame must be a JSON object with a "type"');
  }
  const type = (value as { type?: unknown }).type as (typeof CLIENT_FRAME_TYPES)[number];
  if (!CLIENT_FRAME_TYPES.includes(type)) {
    return fail(ErrorCode.unknownMessageType, `Unknown message type; expected one of ${CLIENT_FRAME_TYPES.join(', ')}`);
  }
  const types = (value as { notification_types?: unknown }).notification_types;
  if (Array.isArray(types)) {
    const unknown = types.find((t) => !isNotificationType(t));
    if (unknown !== undefined) {
      return fail(
        ErrorCode.unknownNotificationType,
        `Unknown notification type ${JSON.stringify(unknown).slice(0, 64)}; expected one of ${NOTIFICATION_TYPES.join(', ')}`,
      );
    }
  }
  const validator = validators[type];
  if (!validator.Check(value)) {
    const detail = toFieldErrors(validator.Errors(value))
      .map((e) => `${e.path} ${e.message}`)
      .join('; ');
    return fail(ErrorCode.invalidFrame, `Invalid ${type} frame: ${detail}`);
  }
  return { ok: true, frame: value as ClientFrame };
}

function fail(code: ErrorCode, message: string): ParsedFrame {
  return { ok: false, code, message };
}
