import type { z } from 'zod';
import { ValidationError } from './errors.js';

/** A field's error code (with its message's params) when its value has the wrong shape. */
export type FieldCode = { code: string; params?: Record<string, unknown> };

/**
 * The one way input of any source (form, JSON body, admin filter, billing hook) becomes a typed
 * value or a ValidationError: every failing field gets `codes[field]`, else `fallback`, so the
 * message can say what a valid value is. Issues without a path are reported on `whole`.
 */
export function parseInput<T extends z.ZodType>(schema: T, input: unknown, opts: {
  codes?: Record<string, FieldCode>; fallback?: FieldCode; whole?: string;
} = {}): z.output<T> {
  const r = schema.safeParse(input ?? {});
  if (r.success) return r.data;
  const fields: Record<string, FieldCode> = {};
  for (const issue of r.error.issues) {
    const field = String(issue.path[0] ?? opts.whole ?? 'form');
    fields[field] ??= opts.codes?.[field] ?? opts.fallback ?? { code: 'field_invalid' };
  }
  throw new ValidationError(fields);
}
