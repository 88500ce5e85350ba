import type { NextFunction, Request, Response } from 'express';
import { ForbiddenError, NotFoundError, SnapshotError } from '../../domain/errors.js';
import { authorize, type Action } from '../../domain/authorize.js';
import type { ActionContext } from '../../domain/deps.js';
import type { Actor, PanelService } from '../../domain/types.js';
import type { ModuleContext } from './module-context.js';

/** Resolves the acting user through the panel adapter before i18n runs, so their locale counts. */
export function resolveActor(ctx: ModuleContext) {
  return async (req: Request, _res: Response, next: NextFunction) => {
    try {
      req.snapshotActor = (await ctx.panel.getActor(req)) ?? null;
      next();
    } catch (err) {
      next(err);
    }
  };
}

export class NotLoggedInError extends SnapshotError {
  constructor() {
    super('not_logged_in', 401);
  }
}

/** Who acts and from where, for the audit log of a request's domain call. */
export function actionContext(req: Request): ActionContext {
  const actor = requireActor(req);
  return { actor: { type: actor.role, id: actor.id }, ip: req.ip ?? null };
}

/** The request's actor, or a 401. */
export function requireActor(req: Request): Actor {
  if (!req.snapshotActor) throw new NotLoggedInError();
  return req.snapshotActor;
}

export function requireAdmin(req: Request): Actor {
  const actor = requireActor(req);
  if (actor.role !== 'admin') throw new ForbiddenError('admin_only');
  return actor;
}

/** The route's service as the module sees it (ServiceDirectory.load). */
export function loadService(ctx: ModuleContext, serviceId: string): Promise<PanelService> {
  return ctx.services.load(serviceId);
}

/** Parses a numeric route id; anything else is simply not found. */
export function parseId(raw: string | undefined, what: 'snapshot' | 'schedule' = 'snapshot'): number {
  const id = /^[1-9]\d{0,15}$/.test(raw ?? '') ? Number(raw) : NaN;
  if (!Number.isSafeInteger(id)) throw new NotFoundError(what);
  return id;
}

/** The route's service (`:serviceId`), after checking the request's actor may do `action` on it. */
export async function authorizedService(ctx: ModuleContext, req: Request, action: Action): Promise<PanelService> {
  const service = await loadService(ctx, String(req.params.serviceId));
  authorize(requireActor(req), action, service);
  return service;
}
