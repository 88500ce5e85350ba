import type { Request } from 'express';
import { authorize, mayChange } from '../../domain/authorize.js';
import type { PlanLimits } from '../../domain/limits.js';
import { restoreBlockedReason } from '../../domain/snapshot-service.js';
import type { PanelService } from '../../domain/types.js';
import { requireActor } from '../common/actor.js';
import type { ModuleContext } from '../common/module-context.js';
import { presentSnapshotList, type SnapshotListModel } from './presenter.js';

/**
 * The route's service (`:serviceId`) for a page listing its snapshots, once its actor may view it,
 * with its limits and the list presented for `req`'s user: one query (SnapshotsRepo.listPage) for
 * everything the database holds.
 */
export async function loadListPage(ctx: ModuleContext, req: Request): Promise<{ service: PanelService; limits: PlanLimits; model: SnapshotListModel }> {
  const panel = await ctx.services.panelService(String(req.params.serviceId));
  const actor = requireActor(req);
  // Viewing depends only on who may see the service (the panel's record), not on its state row:
  // checked before anything is read, so another customer's id costs no query.
  authorize(actor, 'view', panel);
  const driver = ctx.deps.driver(panel.target.driver);
  const [page, caps, cloneReport] = await Promise.all([
    ctx.deps.repos.snapshots.listPage(panel.id, panel.planId), driver.capabilities(panel.target),
    // Only a panel that offers new servers from snapshots has services made that way.
    ctx.clones.offered ? ctx.clones.status(panel.id) : null,
  ]);
  const service = await ctx.services.withState(panel, page.state);
  const limits = ctx.deps.limits.resolve(service.planId, page.plans, page.state);
  const { snapshots } = page;
  const restoreUnavailable = new Map(snapshots.map((s) => [s.id, s.status === 'active' ? restoreBlockedReason(caps, s, snapshots) : null]));
  const model = presentSnapshotList({
    t: req.t, fmt: ctx.formatters.get(req.language, actor.timezone ?? ctx.config.defaultTimezone), service, snapshots,
    running: page.running, queued: page.queued, pendingCount: page.pendingCount, scheduleNames: page.scheduleNames, limits,
    memoryCapable: caps.memory, simulated: driver.simulated, restoreUnavailable,
    // A new server still being made from a snapshot: nothing to act on yet (its banner says why).
    readOnly: !mayChange(actor, service) || (page.state?.clonePending ?? false),
    cloning: page.cloning, cloneReport,
    cloneOffer: { offered: ctx.clones.offered, cloneAllowed: limits.cloneAllowed, driverCanClone: caps.clone, clonePending: page.state?.clonePending ?? false },
  });
  return { service, limits, model };
}
