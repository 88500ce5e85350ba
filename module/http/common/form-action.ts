import type { Request, RequestHandler, Response } from 'express';
import type { SnapshotError } from '../../domain/errors.js';
import { toSnapshotError } from './error-handler.js';
import type { ModuleContext } from './module-context.js';

/**
 * The fields a refused form shows again: what a browser form can send (text, or the same field
 * repeated). Anything else in a body (a JSON body's objects, numbers, nulls) is not echoed: a view
 * writing it out could throw (`{ "toString": 1 }`) or show `[object Object]`.
 */
export function submittedFields(body: unknown): Record<string, string | string[]> {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return {};
  return Object.fromEntries(Object.entries(body).filter(([, v]) => typeof v === 'string' || (Array.isArray(v) && v.every((x) => typeof x === 'string'))));
}

/**
 * Runs a form action; a refusal (a 4xx other than 401/404) re-renders the form with the message and
 * the user's input kept (`submittedFields`), anything else goes to the error handler.
 */
export function formAction(ctx: ModuleContext, handler: (req: Request, res: Response) => Promise<void>,
  rerender: (req: Request, res: Response, e: SnapshotError) => Promise<void>): RequestHandler {
  return async (req: Request, res: Response) => {
    try {
      await handler(req, res);
    } catch (err) {
      const e = toSnapshotError(ctx, err);
      if (e.status >= 500 || e.status === 404 || e.status === 401) throw e;
      req.body = submittedFields(req.body);
      await rerender(req, res, e);
    }
  };
}
