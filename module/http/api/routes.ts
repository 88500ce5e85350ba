import express, { type Request, type Router } from 'express';
import { z } from 'zod';
import { authorize, type Action } from '../../domain/authorize.js';
import { SnapshotError } from '../../domain/errors.js';
import { quotaView } from '../../domain/limits.js';
import type { Snapshot } from '../../domain/types.js';
import { actionContext, loadService, parseId, requireActor } from '../shared/actor.js';
import type { ModuleContext } from '../shared/module-context.js';
import { actionRateLimit } from '../shared/security.js';
import { apiBody, jsonBody } from './api-input.js';
import { scheduleApiRouter } from './schedule-routes.js';

const str = z.string().max(20_000);
export const apiSchemas = {
  create: z.object({ name: str, description: str.nullable().optional(), includeMemory: z.boolean().optional() }),
  edit: z.object({ name: str, description: str.nullable().optional() }),
  pin: z.object({ pinned: z.boolean() }),
  delete: z.object({ confirm: z.literal(true), typedName: str.optional() }),
  restore: z.object({ typedServiceName: str, safetySnapshot: z.boolean().optional(), startAfter: z.boolean().optional() }),
};

const body = <T extends z.ZodType>(schema: T, req: Request) => apiBody(schema, req, { confirm: 'confirm_required' });

/** The API's snapshot shape (documented in openapi.json). */
export function snapshotJson(s: Snapshot) {
  return {
    id: s.id, name: s.name, description: s.description, status: s.status, pinned: s.pinned, includeMemory: s.includeMemory,
    origin: s.origin, scheduleId: s.scheduleId, diskBytes: s.diskBytes, memoryBytes: s.memoryBytes,
    error: s.errorCode ? { code: s.errorCode } : null, createdAt: s.createdAt.toISOString(),
    completedAt: s.completedAt?.toISOString() ?? null,
  };
}

/**
 * JSON API under /api/v1 with the same rules and error codes as the pages. State-changing calls need
 * a JSON body (a cross-site form cannot send one without a CORS preflight, which we never grant).
 */
export function apiRouter(ctx: ModuleContext): Router {
  const router = express.Router();
  const base = '/api/v1/services/:serviceId/snapshots';
  const limited = actionRateLimit(20);
  const mutating = jsonBody();

  async function serviceFor(req: Request, action: Action) {
    const service = await loadService(ctx, String(req.params.serviceId));
    authorize(requireActor(req), action, service);
    return service;
  }

  router.get(base, async (req, res) => {
    const service = await serviceFor(req, 'view');
    const [snapshots, pending, limits] = await Promise.all([
      ctx.deps.repos.snapshots.listForService(service.id),
      ctx.deps.repos.operations.pendingForService(service.id),
      ctx.deps.limits.forService(service.id, service.planId),
    ]);
    const used = snapshots.filter((s) => s.status !== 'failed').length;
    res.json({
      snapshots: snapshots.map(snapshotJson),
      quota: quotaView(limits.maxSnapshots, used),
      limits,
      queue: pending.map((o) => ({ id: o.id, kind: o.kind, status: o.status, snapshotId: o.snapshotId })),
      storageExpansionBlocked: used > 0,
    });
  });

  router.get(`${base}/:id`, async (req, res) => {
    const service = await serviceFor(req, 'view');
    res.json({ snapshot: snapshotJson(await ctx.snapshots.get(service, parseId(req.params.id as string))) });
  });

  router.post(base, ...mutating, limited, async (req, res) => {
    const input = body(apiSchemas.create, req);
    const service = await serviceFor(req, 'create');
    res.status(202).json({ snapshot: snapshotJson(await ctx.snapshots.create(service, input, actionContext(req))) });
  });

  router.patch(`${base}/:id`, ...mutating, async (req, res) => {
    const input = body(apiSchemas.edit, req);
    const service = await serviceFor(req, 'edit');
    res.json({ snapshot: snapshotJson(await ctx.snapshots.edit(service, parseId(req.params.id as string), input, actionContext(req))) });
  });

  router.post(`${base}/:id/pin`, ...mutating, async (req, res) => {
    const { pinned } = body(apiSchemas.pin, req);
    const service = await serviceFor(req, 'pin');
    res.json({ snapshot: snapshotJson(await ctx.snapshots.setPinned(service, parseId(req.params.id as string), pinned, actionContext(req))) });
  });

  router.delete(`${base}/:id`, ...mutating, async (req, res) => {
    const input = body(apiSchemas.delete, req);
    const service = await serviceFor(req, 'delete');
    res.status(202).json({ snapshot: snapshotJson(await ctx.snapshots.delete(service, parseId(req.params.id as string), input, actionContext(req))) });
  });

  router.post(`${base}/:id/restore`, ...mutating, limited, async (req, res) => {
    const input = body(apiSchemas.restore, req);
    const service = await serviceFor(req, 'restore');
    const r = await ctx.snapshots.restore(service, parseId(req.params.id as string), input, actionContext(req));
    res.status(202).json({ snapshot: snapshotJson(r.snapshot), safetySnapshot: r.safety ? snapshotJson(r.safety) : null });
  });

  router.use(scheduleApiRouter(ctx));
  router.use((_req, _res, next) => next(new SnapshotError('route_not_found', 404)));
  return router;
}
