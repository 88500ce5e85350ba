import type { Request, RequestHandler, Response } from 'express';
import type { SnapshotError } from '../../domain/errors.js';
import { toSnapshotError } from './error-handler.js';
import type { ModuleContext } from './module-context.js';

/**
 * Runs a form action; a refusal (a 4xx other than 401/404) re-renders the form with the message and
 * the user's input kept, anything else goes to the error handler.
 */
export function formAction(ctx: ModuleContext, handler: (req: Request, res: Response) => Promise<void>,
  rerender: (req: Request, res: Response, e: SnapshotError) => Promise<void>): RequestHandler {
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
