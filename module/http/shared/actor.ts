import type { NextFunction, Request, Response } from 'express';
import { ForbiddenError, NotFoundError, SnapshotError } from '../../domain/errors.js';
import { authorize, type Action } from '../../domain/authorize.js';
import type { ServiceStateRow } from '../../db/services-repo.js';
import type { ActionContext } from '../../domain/deps.js';
import type { PlanLimits } from '../../domain/limits.js';
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

const SERVICE_ID = /^[A-Za-z0-9_.:-]{1,64}$/;

/**
 * The service as the module sees it: the panel's record, with the module's own suspension and
 * termination flags (set by billing hooks) taking effect even if the panel lags behind.
 */
export async function loadService(ctx: ModuleContext, serviceId: string): Promise<PanelService> {
  const service = await panelService(ctx, serviceId);
  return withState(ctx, service, await ctx.deps.repos.services.get(service.id));
}

/** loadService, with the service's limits read in the same round trip (a scheduled run needs both). */
export async function loadServiceWithLimits(ctx: ModuleContext, serviceId: string): Promise<{ service: PanelService; limits: PlanLimits }> {
  const service = await panelService(ctx, serviceId);
  const { state, plans } = await ctx.deps.repos.services.getWithPlanLimits(service.id, service.planId);
  return { service: await withState(ctx, service, state), limits: ctx.deps.limits.resolve(service.planId, plans, state) };
}

/** The panel's record of a service, or not found. */
export async function panelService(ctx: ModuleContext, serviceId: string): Promise<PanelService> {
  if (!SERVICE_ID.test(serviceId)) throw new NotFoundError('service');
  const service = await ctx.panel.getService(serviceId);
  if (!service) throw new NotFoundError('service');
  return service;
}

/** The panel's record with the module's suspension and termination (`state`: the service's state row) taking effect. */
export async function withState(ctx: ModuleContext, service: PanelService, state: ServiceStateRow | null): Promise<PanelService> {
  // Written only when it changed (a new row, or a transferred service), never on an ordinary view.
  if (state && state.ownerId !== service.ownerId) await ctx.deps.repos.services.setOwner(service.id, service.ownerId);
  let status = service.status;
  if (status === 'active' && state?.terminated) status = 'terminated';
  else if (status === 'active' && state?.suspended) status = 'suspended';
  return { ...service, status };
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
