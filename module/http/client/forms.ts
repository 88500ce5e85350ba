import type { Request } from 'express';
import { z } from 'zod';
import { ValidationError, type SnapshotError } from '../../domain/errors.js';
import { parseInput } from '../../domain/parse-input.js';

/** An HTML checkbox: present ('on', '1', 'true') or absent. */
export const checkbox = z.union([z.literal('on'), z.literal('1'), z.literal('true'), z.literal('0'), z.literal('')]).optional()
  .transform((v) => v === 'on' || v === '1' || v === 'true');
/** A free-text field; its real rules (length, characters) are the domain's, with their own messages. */
export const text = z.string().max(20_000).optional();

/** Parses a form body; a field of the wrong shape is reported as that field's error. */
export function parse<T extends z.ZodType>(schema: T, body: unknown): z.output<T> {
  return parseInput(schema, body);
}

/** A refusal as the form shows it: the message and one localized line per field. */
export function presentError(req: Request, e: SnapshotError) {
  const fields = e instanceof ValidationError
    ? Object.fromEntries(Object.entries(e.fields).map(([k, v]) => [k, req.t(`errors:${v.code}`, v.params ?? {})])) : {};
  return { code: e.code, message: req.t(e.i18nKey, e.params), fields };
}
