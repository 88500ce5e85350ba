import express, { type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import { mayChange } from '../../domain/authorize.js';
import { SnapshotError } from '../../domain/errors.js';
import { SNAPSHOT_REFUSALS } from '../../domain/refusals.js';
import { LIST_PAGE } from '../../db/snapshot-list-page.js';
import { allowedActions, type SnapshotActions } from '../../domain/allowed-actions.js';
import { quotaView } from '../../domain/limits.js';
import { restoreBlockedReason } from '../../domain/snapshot-service.js';
import type { PlanLimits } from '../../domain/limits.js';
import type { Operation, PanelService, Snapshot } from '../../domain/types.js';
import type { DriverCapabilities } from '../../drivers/contract.js';
import { parse } from '../client/forms.js';
import { actionContext, authorizedService, parseId, requireActor } from '../common/actor.js';
import type { ModuleContext } from '../common/module-context.js';
import { fingerprintEtag } from '../common/fingerprint-etag.js';
import { safetyNamer } from '../common/safety-name.js';
import { actionRateLimit } from '../common/security.js';
import { apiBody, jsonBody } from './api-input.js';
import type { ApiRouteDoc } from './openapi.js';
import { allSnapshotsApiRouter } from './all-snapshots-routes.js';
import { scheduleApiRouter } from './schedule-routes.js';
import { cloneApiRouter } from './clone-routes.js';
import {
  apiSchemas, limitsSchema, pathParams, queueItemSchema, quotaSchema, restoreResultSchema, snapshotEnvelopeSchema,
  snapshotListQuery, snapshotListSchema, snapshotSchema, type SnapshotJson,
} from './schemas.js';

export { apiSchemas } from './schemas.js';

const body = <T extends z.ZodType>(schema: T, req: Request) => apiBody(schema, req, { confirm: 'confirm_required' });

/** The API's snapshot shape (`snapshotSchema`, documented in openapi.json). */
export function snapshotJson(s: Snapshot, actions?: SnapshotActions): SnapshotJson {
  return {
    ...(actions ? { actions } : {}),
    id: s.id, name: s.name, description: s.description, status: s.status, pinned: s.pinned, includeMemory: s.includeMemory,
    origin: s.origin, scheduleId: s.scheduleId, diskBytes: s.diskBytes, memoryBytes: s.memoryBytes,
    error: s.errorCode ? { code: s.errorCode } : null, createdAt: s.createdAt.toISOString(),
    completedAt: s.completedAt?.toISOString() ?? null,
  };
}

const BASE = '/api/v1/services/:serviceId/snapshots';
const ONE = `${BASE}/:id`;
const tag = 'Snapshots';
const params = pathParams;
const notFound = { 404: ['snapshot_not_found'] } as const;

/** The snapshot routes: what the router registers and what openapi.json documents, from the same entries. */
export const snapshotRoutes = {
  list: {
    method: 'get', path: BASE, operationId: 'listSnapshots', tag, params, query: snapshotListQuery,
    summary: "A service's snapshots (a page at a time, newest first), quota, limits and queue",
    description: 'The answer carries an `ETag` (`Cache-Control: private, no-cache`): asked again with it in `If-None-Match`, the list answers 304 with no body while nothing in it has changed (on MySQL/MariaDB without reading the list).',
    headers: z.object({ 'if-none-match': z.string().optional().describe('The ETag of an earlier answer') }),
    responses: {
      200: { description: 'One page of the snapshot list', schema: snapshotListSchema },
      304: { description: 'Not modified: the tag given in If-None-Match is still current' },
    },
    errors: { 422: ['validation_failed'] },
  },
  get: {
    method: 'get', path: ONE, operationId: 'getSnapshot', tag, params, summary: 'One snapshot',
    responses: { 200: { description: 'The snapshot', schema: snapshotEnvelopeSchema } }, errors: notFound,
  },
  create: {
    method: 'post', path: BASE, operationId: 'createSnapshot', tag, params, body: apiSchemas.create,
    summary: 'Take a snapshot', description: 'Queued: the snapshot is `creating` until the hypervisor finishes. Rate-limited per user.',
    responses: { 202: { description: 'Queued', schema: snapshotEnvelopeSchema } },
    errors: { ...SNAPSHOT_REFUSALS.create, 429: ['rate_limited'], 503: ['driver_missing'] },
  },
  edit: {
    method: 'patch', path: ONE, operationId: 'editSnapshot', tag, params, body: apiSchemas.edit, summary: 'Rename or re-describe a snapshot',
    responses: { 200: { description: 'The snapshot', schema: snapshotEnvelopeSchema } },
    errors: SNAPSHOT_REFUSALS.edit,
  },
  pin: {
    method: 'post', path: `${ONE}/pin`, operationId: 'pinSnapshot', tag, params, body: apiSchemas.pin,
    summary: 'Pin or unpin (pinned snapshots are never rotated and need the typed name to delete)',
    responses: { 200: { description: 'The snapshot', schema: snapshotEnvelopeSchema } },
    errors: SNAPSHOT_REFUSALS.pin,
  },
  delete: {
    method: 'delete', path: ONE, operationId: 'deleteSnapshot', tag, params, body: apiSchemas.delete,
    summary: 'Delete a snapshot (a failed one is dismissed at once)',
    responses: { 202: { description: 'Queued (status `deleting`), or dismissed', schema: snapshotEnvelopeSchema } },
    errors: SNAPSHOT_REFUSALS.delete,
  },
  restore: {
    method: 'post', path: `${ONE}/restore`, operationId: 'restoreSnapshot', tag, params, body: apiSchemas.restore,
    summary: 'Roll the server back to a snapshot', description: 'Queued; optionally takes a safety snapshot first. Rate-limited per user.',
    responses: { 202: { description: 'Queued', schema: restoreResultSchema } },
    errors: { ...SNAPSHOT_REFUSALS.restore, 429: ['rate_limited'], 503: ['driver_missing'] },
  },
} satisfies Record<string, ApiRouteDoc>;

/** For openapi.ts: this file's routes and its named shapes. */
export const openapiRoutes: ApiRouteDoc[] = Object.values(snapshotRoutes);
export const openapiComponents = {
  Snapshot: snapshotSchema, Quota: quotaSchema, PlanLimits: limitsSchema, QueueItem: queueItemSchema,
  SnapshotList: snapshotListSchema, SnapshotEnvelope: snapshotEnvelopeSchema, RestoreResult: restoreResultSchema,
};

/**
 * JSON API under /api/v1 with the same rules and error codes as the pages. State-changing calls need
 * a JSON body (a cross-site form cannot send one without a CORS preflight, which we never grant).
 */
export function apiRouter(ctx: ModuleContext): Router {
  const router = express.Router();
  const limited = actionRateLimit(20);
  const mutating = jsonBody();
  type Handler = (req: Request, res: Response) => Promise<void>;
  const route = (doc: ApiRouteDoc, handler: Handler, extra: express.RequestHandler[] = []) =>
    router[doc.method](doc.path, ...(doc.body ? mutating : []), ...extra, handler);

  const sid = (req: Request) => parseId(req.params.id as string);
  /** allowedActions for the request's actor (`all`: the service's newest snapshot taking storage, for the newest-only restore rule). */
  async function actionsFor(req: Request, service: PanelService, all: Snapshot[], known: { pending?: Operation[]; limits?: PlanLimits; caps?: DriverCapabilities } = {}) {
    const [caps, pending, limits, state] = await Promise.all([
      known.caps ?? ctx.deps.driver(service.target.driver).capabilities(service.target),
      known.pending ?? ctx.deps.repos.operations.pendingForService(service.id),
      known.limits ?? ctx.deps.limits.forService(service.id, service.planId),
      ctx.clones.offered ? ctx.deps.repos.services.get(service.id) : null,
    ]);
    const open = mayChange(requireActor(req), service);
    const cloning = new Set(pending.filter((o) => o.kind === 'clone').map((o) => o.snapshotId));
    const cloneOffer = ctx.clones.offer(caps, limits.cloneAllowed, state?.clonePending ?? false);
    return (s: Snapshot) => allowedActions(s, {
      open, restoreBlocked: s.status === 'active' ? restoreBlockedReason(caps, s, all) : null, cloning: cloning.has(s.id), cloneOffer,
    });
  }

  route(snapshotRoutes.list, async (req, res) => {
    const { before, limit = LIST_PAGE } = parse(snapshotListQuery, req.query);
    const service = await authorizedService(ctx, req, 'view');
    const { snapshots: repo } = ctx.deps.repos;
    // A client polling for a change (the page's script, a panel's integration) revalidates with the
    // tag: one fingerprint statement answers 304 while nothing the answer is made of has changed.
    // (Without a fingerprint, SQLite, express's own tag of the body answers 304 after the reads.)
    res.set('Cache-Control', 'private, no-cache');
    const fingerprint = await repo.listPageFingerprint(service.id, service.planId);
    // The tag depends on what the hypervisor can do; the answer's actions below reuse them.
    const caps = fingerprint ? await ctx.deps.driver(service.target.driver).capabilities(service.target) : undefined;
    if (fingerprint) {
      res.set('ETag', fingerprintEtag(fingerprint, [service, requireActor(req), req.language, before ?? null, limit, caps]));
      if (req.fresh) {
        res.status(304).end();
        return;
      }
    }
    // One page of rows; the quota and the newest-only restore rule from counts over all of them.
    const [page, pending, limits, occupying, newest] = await Promise.all([
      repo.listForServicePage(service.id, { before, limit }),
      ctx.deps.repos.operations.pendingForService(service.id),
      ctx.deps.limits.forService(service.id, service.planId),
      repo.countOccupying(service.id),
      repo.newestOccupying(service.id),
    ]);
    const quota = quotaView(limits.maxSnapshots, occupying);
    const actions = await actionsFor(req, service, newest ? [newest] : [], { pending, limits, ...(caps ? { caps } : {}) });
    res.json({
      snapshots: page.snapshots.map((s) => snapshotJson(s, actions(s))),
      quota,
      limits,
      queue: pending.map((o) => ({ id: o.id, kind: o.kind, status: o.status, snapshotId: o.snapshotId })),
      storageExpansionBlocked: quota.used > 0,
      page: { limit, olderBefore: page.more ? page.snapshots.at(-1)!.id : null },
    } satisfies z.output<typeof snapshotListSchema>);
  });

  route(snapshotRoutes.get, async (req, res) => {
    const service = await authorizedService(ctx, req, 'view');
    const snapshot = await ctx.snapshots.get(service, sid(req));
    const newest = snapshot.status === 'active' ? await ctx.deps.repos.snapshots.newestOccupying(service.id) : null;
    const actions = await actionsFor(req, service, newest ? [newest] : [snapshot]);
    res.json({ snapshot: snapshotJson(snapshot, actions(snapshot)) });
  });

  route(snapshotRoutes.create, async (req, res) => {
    const input = body(snapshotRoutes.create.body, req);
    const service = await authorizedService(ctx, req, 'create');
    res.status(202).json({ snapshot: snapshotJson(await ctx.snapshots.create(service, input, actionContext(req))) });
  }, [limited]);

  route(snapshotRoutes.edit, async (req, res) => {
    const input = body(snapshotRoutes.edit.body, req);
    const service = await authorizedService(ctx, req, 'edit');
    res.json({ snapshot: snapshotJson(await ctx.snapshots.edit(service, sid(req), input, actionContext(req))) });
  });

  route(snapshotRoutes.pin, async (req, res) => {
    const { pinned } = body(snapshotRoutes.pin.body, req);
    const service = await authorizedService(ctx, req, 'pin');
    res.json({ snapshot: snapshotJson(await ctx.snapshots.setPinned(service, sid(req), pinned, actionContext(req))) });
  });

  route(snapshotRoutes.delete, async (req, res) => {
    const input = body(snapshotRoutes.delete.body, req);
    const service = await authorizedService(ctx, req, 'delete');
    res.status(202).json({ snapshot: snapshotJson(await ctx.snapshots.delete(service, sid(req), input, actionContext(req))) });
  });

  route(snapshotRoutes.restore, async (req, res) => {
    const input = body(snapshotRoutes.restore.body, req);
    const service = await authorizedService(ctx, req, 'restore');
    const r = await ctx.snapshots.restore(service, sid(req), input, actionContext(req), safetyNamer(ctx, req));
    res.status(202).json({ snapshot: snapshotJson(r.snapshot), safetySnapshot: r.safety ? snapshotJson(r.safety) : null });
  }, [limited]);

  router.use(scheduleApiRouter(ctx), allSnapshotsApiRouter(ctx), cloneApiRouter(ctx));
  router.use((_req, _res, next) => next(new SnapshotError('route_not_found', 404)));
  return router;
}
