import { type FieldError, NotificationEvent } from '@parking-realtime/protocol';
import { Compile } from 'typebox/compile';
import { toFieldErrors } from './field-errors.js';

const validator = Compile(NotificationEvent);

/** Thrown when an event does not match the NotificationEvent schema; carries field-level errors. */
export class InvalidEventError extends Error {
  override name = 'InvalidEventError';
  readonly code = 'invalid_event';
  constructor(readonly errors: FieldError[]) {
    super(`Invalid event: ${errors.map((e) => `${e.path || '/'} ${e.message}`).join('; ')}`);
  }
}

/** Field-level errors of a would-be event; empty when it is valid. */
export function eventErrors(value: unknown): FieldError[] {
  if (validator.Check(value)) return [];
  return toFieldErrors(validator.Errors(value));
}

export function assertEvent(value: unknown): asserts value is NotificationEvent {
  const errors = eventErrors(value);
  if (errors.length > 0) throw new InvalidEventError(errors);
}
