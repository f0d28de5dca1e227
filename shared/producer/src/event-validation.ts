import { ErrorCode, eventDepthErrors, type FieldError, NotificationEvent } from '@parking-realtime/protocol';
import { Compile } from 'typebox/compile';
import { toFieldErrors } from '@parking-realtime/runtime';

const validator = Compile(NotificationEvent);

/** Thrown when an event does not match the NotificationEvent schema; carries field-level errors. */
export class InvalidEventError extends Error {
  override name = 'InvalidEventError';
  readonly code = ErrorCode.invalidEvent;
  constructor(readonly errors: FieldError[]) {
    super(`Invalid event: ${errors.map((e) => `${e.path || '/'} ${e.message}`).join('; ')}`);
  }
}

/**
 * Field-level errors of a would-be event; empty when it is valid. `data`'s
 * depth (MAX_DATA_DEPTH) is checked first, by a walk that cannot overflow
 * the stack; data too deep is then left out of the schema check, which so
 * reports only the other fields. Nothing here serialises the value.
 */
export function eventErrors(value: unknown): FieldError[] {
  const tooDeep = eventDepthErrors(value);
  if (tooDeep.length === 0) return validator.Check(value) ? [] : toFieldErrors(validator.Errors(value));
  const rest = { ...(value as object), data: {} };
  return validator.Check(rest) ? tooDeep : [...tooDeep, ...toFieldErrors(validator.Errors(rest))];
}

export function assertEvent(value: unknown): asserts value is NotificationEvent {
  const errors = eventErrors(value);
  if (errors.length > 0) throw new InvalidEventError(errors);
}
