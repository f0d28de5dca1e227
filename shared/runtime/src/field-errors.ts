import type { FieldError } from '@parking-realtime/protocol';

interface SchemaError {
  instancePath: string;
  message?: string | undefined;
  keyword?: string;
}

/**
 * One error per field, readable: a union reports each failed branch and then
 * a summary (`anyOf`); keep only the last word on each path.
 */
export function toFieldErrors(errors: readonly SchemaError[]): FieldError[] {
  const byPath = new Map<string, string>();
  for (const e of errors) {
    if (e.keyword === 'boolean') continue; // "schema is false": repeated by additionalProperties
    const path = e.instancePath || '/';
    byPath.delete(path);
    byPath.set(path, e.message ?? 'is invalid');
  }
  return [...byPath].map(([path, message]) => ({ path, message }));
}
