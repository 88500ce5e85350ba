import express, { type Router } from 'express';
import { z } from 'zod';
import { CLONE_REFUSALS } from '../../domain/refusals.js';
import { NotFoundError } from '../../domain/errors.js';
import { cloneReportSchema } from '../webhook/schemas.js';
import { actionContext, authorizedService, parseId, requireActor } from '../common/actor.js';
import type { ModuleContext } from '../common/module-context.js';
import { actionRateLimit } from '../common/security.js';
import { jsonBody } from './api-input.js';
import type { ApiRouteDoc } from './openapi.js';
import { pathParams } from './schemas.js';

const tag = 'New servers';
export const newServerResultSchema = z.object({
  continueUrl: z.string().describe("The panel's order page: send the customer there"),
  expiresAt: z.string().describe('ISO 8601; the reference in the order expires then'),
});
const serviceParams = { serviceId: pathParams.serviceId };

/** "New server from this snapshot" and the new server's progress, documented and registered from the same entries. */
export const cloneRoutes = {
  begin: {
    method: 'post', path: '/api/v1/services/:serviceId/snapshots/:id/new-server', operationId: 'newServerFromSnapshot', tag, params: pathParams,
    body: z.object({}).describe('Empty: a JSON body, as for every state-changing call'),
    summary: 'Start ordering a new server made from this snapshot',
    description: "Checks the snapshot can become a new server and asks the panel where the order continues. The answer's URL carries a signed, single-use reference; the panel provisions the order and the module makes the new server's disks from the snapshot. Rate-limited per user.",
    responses: { 200: { description: 'Continue at the panel\'s order page', schema: newServerResultSchema } },
    errors: { ...CLONE_REFUSALS.begin, 429: ['rate_limited'], 503: ['driver_missing'] },
  },
  status: {
    method: 'get', path: '/api/v1/services/:serviceId/clone', operationId: 'getCloneStatus', tag, params: serviceParams,
    summary: 'How a new server made from a snapshot is getting on',
    responses: { 200: { description: 'The clone that makes (or made) this service', schema: z.object({ clone: cloneReportSchema }) } },
    errors: { 404: ['clone_not_found'] },
  },
} satisfies Record<string, ApiRouteDoc>;

export const cloneOpenapiRoutes: ApiRouteDoc[] = Object.values(cloneRoutes);
export const cloneOpenapiComponents = { NewServerResult: newServerResultSchema, CloneReport: cloneReportSchema };

/** The JSON twin of the Snapshots page's "New server" button, and the new server's progress. */
export function cloneApiRouter(ctx: ModuleContext): Router {
  const router = express.Router();
  router.post(cloneRoutes.begin.path, ...jsonBody(), actionRateLimit(20), async (req, res) => {
    const service = await authorizedService(ctx, req, 'create');
    const r = await ctx.clones.begin(requireActor(req), service, parseId(req.params.id as string), actionContext(req), req.language);
    res.json({ continueUrl: r.continueUrl, expiresAt: r.expiresAt.toISOString() });
  });
  router.get(cloneRoutes.status.path, async (req, res) => {
    const service = await authorizedService(ctx, req, 'view');
    const report = await ctx.clones.status(service.id);
    if (!report) throw new NotFoundError('clone');
    res.json({ clone: { ...report, requestedAt: report.requestedAt.toISOString(), finishedAt: report.finishedAt?.toISOString() ?? null } });
  });
  return router;
}
