import express, { type Router } from 'express';
import { requireAdmin } from '../shared/actor.js';
import type { ModuleContext } from '../shared/module-context.js';
import { formatters } from '../client/presenter.js';
import { renderPage } from '../shared/render.js';

/** Admin area (admin-only): for now an overview of snapshots that need attention and recent operations. */
export function adminRouter(ctx: ModuleContext): Router {
  const router = express.Router();
  router.get('/admin/snapshots', async (req, res) => {
    const actor = requireAdmin(req);
    const fmt = formatters(req.language, actor.timezone ?? ctx.config.defaultTimezone);
    const [attention, operations] = await Promise.all([
      ctx.deps.repos.snapshots.list({ statuses: ['error', 'unmanaged', 'failed'], limit: 100 }),
      ctx.deps.repos.operations.list({ limit: 50 }),
    ]);
    await renderPage(ctx, req, res, 'admin/overview', {
      attention: attention.map((s) => ({ serviceId: s.serviceId, name: s.name, status: req.t(`snapshots:status.${s.status}`), error: s.errorCode ? req.t(`errors:${s.errorCode}`) : '', created: fmt.date(s.createdAt) })),
      operations: operations.map((o) => ({ id: o.id, serviceId: o.serviceId, kind: req.t(`snapshots:operation.${o.kind}`), status: req.t(`snapshots:operation_status.${o.status}`), attempts: o.attempts, error: o.errorCode ? req.t(`errors:${o.errorCode}`) : '', created: fmt.date(o.createdAt) })),
    }, { title: req.t('snapshots:admin.title') });
  });
  return router;
}
