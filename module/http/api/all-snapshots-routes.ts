import express, { type Router } from 'express';
import { loadAllSnapshots } from '../client/all-snapshots-routes.js';
import type { ModuleContext } from '../common/module-context.js';
import { allSnapshotsQuery, allSnapshotsSchema, serviceSummarySchema, type AllSnapshotsJson } from './all-snapshots-schemas.js';
import type { ApiRouteDoc } from './openapi.js';
import { snapshotJson } from './routes.js';

/** GET /api/v1/snapshots: the All snapshots page as JSON (what the router registers and openapi.json documents). */
export const allSnapshotsRoute = {
  method: 'get', path: '/api/v1/snapshots', operationId: 'listAllSnapshots', tag: 'Snapshots', query: allSnapshotsQuery,
  summary: 'Snapshots of every service the viewer may see, a page at a time, with each service\'s quota',
  description: 'Offered when the panel tells the module which services are whose (`listServices`); otherwise 404.',
  responses: { 200: { description: 'One page of snapshots and every service\'s quota', schema: allSnapshotsSchema } },
  errors: { 404: ['route_not_found'], 422: ['validation_failed'] },
} satisfies ApiRouteDoc;

export const allSnapshotsOpenapiRoutes: ApiRouteDoc[] = [allSnapshotsRoute];
export const allSnapshotsOpenapiComponents = { AllSnapshots: allSnapshotsSchema, ServiceSummary: serviceSummarySchema };

export function allSnapshotsApiRouter(ctx: ModuleContext): Router {
  const router = express.Router();
  router.get(allSnapshotsRoute.path, async (req, res) => {
    const page = await loadAllSnapshots(ctx, req);
    res.json({
      services: page.services.map((s) => ({
        id: s.service.id, name: s.service.name, status: s.service.status, quota: s.quota, canCreate: s.canCreate, snapshotCount: s.snapshotCount,
      })),
      snapshots: page.snapshots.map((s) => ({ serviceId: s.serviceId, ...snapshotJson(s) })),
      page: { page: page.page, pageSize: page.pageSize, total: page.total, pages: page.pages },
    } satisfies AllSnapshotsJson);
  });
  return router;
}
