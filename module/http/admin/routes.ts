import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { AdminQueries } from '../../db/admin-queries.js';
import type { AdminLimitsService } from '../../domain/admin-limits.js';
import type { AdminSnapshotService } from '../../domain/admin-service.js';
import type { SchedulerHealthPort } from '../../scheduler/health.js';
import { requireAdmin } from '../common/actor.js';
import { formAction } from '../common/form-action.js';
import type { ModuleContext } from '../common/module-context.js';
import { bodyParsers, csrfProtection } from '../common/security.js';
import { ADMIN_BASE, cappedCount, renderAdmin } from './admin-kit.js';
import { auditRoutes } from './audit-routes.js';
import { browserRoutes } from './browser-routes.js';
import { healthRoutes } from './health-routes.js';
import { limitsRoutes } from './limits-routes.js';
import type { AdminPageDeps } from './page-deps.js';
import { serviceRoutes } from './service-routes.js';

export interface AdminRouterPorts {
  /** Scheduler health, readable whether or not this process runs the scheduler. */
  health: SchedulerHealthPort;
  /** The knex instance the module's tables live in (read-only queries of the browser and audit log). */
  queries: AdminQueries;
  /** Admin edits of plan limits and per-service overrides. */
  limits: AdminLimitsService;
  /** Admin repairs: retry, adopt, delete unmanaged, force-remove. */
  actions: AdminSnapshotService;
}

/**
 * The admin area under /admin/snapshots: admin-only (anyone else gets 403 before anything is read or
 * any CSRF check runs), CSRF on every POST, each page in its own module.
 */
export function adminRouter(ctx: ModuleContext, ports: AdminRouterPorts): Router {
  const router = express.Router();
  const csrf = csrfProtection(ctx);
  router.use(ADMIN_BASE, (req: Request, _res: Response, next: NextFunction) => {
    requireAdmin(req);
    next();
  });
  router.use(csrf.router);

  const deps: AdminPageDeps = {
    limits: ports.limits,
    actions: ports.actions,
    queries: ports.queries,
    health: ports.health,
    csrf,
    post: [...bodyParsers(), csrf.verify, csrf.issue],
    formAction: (handler, rerender) => formAction(ctx, handler, rerender),
  };

  router.get(ADMIN_BASE, async (req, res) => {
    const stuckBefore = new Date(Date.now() - ctx.config.operations.operationTimeoutMs);
    // Capped counts, each read through a (status, …) index: a problem count never reads the whole table.
    const [errors, unmanaged, stuck, failedOps, stuckOps, health] = await Promise.all([
      ports.queries.countSnapshots({ problem: 'errors', stuckBefore }), ports.queries.countSnapshots({ problem: 'unmanaged', stuckBefore }),
      ports.queries.countSnapshots({ problem: 'stuck', stuckBefore }), ports.queries.countOperations({ problem: 'errors', stuckBefore }),
      ports.queries.countOperations({ problem: 'stuck', stuckBefore }), ports.queries.operationStats(),
    ]);
    const card = (key: string, count: number, href: string) => ({ label: req.t(`admin:overview.${key}`), count: cappedCount(count), href });
    await renderAdmin(ctx, req, res, 'overview', 'overview', {
      cards: [
        card('errors', errors, `${ADMIN_BASE}/items?problem=errors`),
        card('unmanaged', unmanaged, `${ADMIN_BASE}/items?problem=unmanaged`),
        card('stuck_snapshots', stuck, `${ADMIN_BASE}/items?problem=stuck`),
        card('failed_operations', failedOps, `${ADMIN_BASE}/operations?problem=errors`),
        card('stuck_operations', stuckOps, `${ADMIN_BASE}/operations?problem=stuck`),
        card('queued_operations', health.queued, `${ADMIN_BASE}/operations?status=queued`),
      ],
    }, { title: req.t('admin:nav.overview') });
  });
  limitsRoutes(router, ctx, deps);
  serviceRoutes(router, ctx, deps);
  browserRoutes(router, ctx, deps);
  healthRoutes(router, ctx, deps);
  auditRoutes(router, ctx, deps);
  return router;
}
