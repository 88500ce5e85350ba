import type { Request, Response } from 'express';
import { z } from 'zod';
import { ValidationError, type SnapshotError } from '../../domain/errors.js';
import { toSnapshotError } from '../shared/error-handler.js';
import type { ModuleContext } from '../shared/module-context.js';

/** An HTML checkbox: present ('on', '1', 'true') or absent. */
export const checkbox = z.union([z.literal('on'), z.literal('1'), z.literal('true'), z.literal('0'), z.literal('')]).optional()
  .transform((v) => v === 'on' || v === '1' || v === 'true');
/** A free-text field; its real rules (length, characters) are the domain's, with their own messages. */
export const text = z.string().max(20_000).optional();

/** Parses a form body; a field of the wrong shape is reported as that field's error. */
export function parse<T extends z.ZodType>(schema: T, body: unknown): z.output<T> {
  const r = schema.safeParse(body ?? {});
  if (!r.success) {
    throw new ValidationError(Object.fromEntries(r.error.issues.map((i) => [String(i.path[0] ?? 'form'), { code: 'field_invalid' }])));
  }
  return r.data;
}

/** A refusal as the form shows it: the message and one localized line per field. */
export function presentError(req: Request, e: SnapshotError) {
  const fields = e instanceof ValidationError
    ? Object.fromEntries(Object.entries(e.fields).map(([k, v]) => [k, req.t(`errors:${v.code}`, v.params ?? {})])) : {};
  return { message: req.t(e.i18nKey, e.params), fields };
}

/** Runs a form action; a refusal re-renders the page with the message and the user's input kept. */
export function formAction(ctx: ModuleContext, handler: (req: Request, res: Response) => Promise<void>,
  rerender: (req: Request, res: Response, e: SnapshotError) => Promise<void>) {
  return async (req: Request, res: Response) => {
    try {
      await handler(req, res);
    } catch (err) {
      const e = toSnapshotError(ctx, err);
      if (e.status >= 500 || e.status === 404 || e.status === 401) throw e;
      await rerender(req, res, e);
    }
  };
}
