import type { Request } from 'express';
import { restoreBlockedReason } from '../../domain/snapshot-service.js';
import type { PlanLimits } from '../../domain/limits.js';
import type { PanelService } from '../../domain/types.js';
import type { ModuleContext } from '../shared/module-context.js';
import { presentSnapshotList, type SnapshotListModel } from './presenter.js';

/**
 * Gathers a service's snapshots, queue, limits and driver facts, and presents them for `req`'s user.
 * `limits`: the service's, as loadServiceWithLimits read them.
 */
export async function loadListModel(ctx: ModuleContext, req: Request, service: PanelService, limits: PlanLimits): Promise<SnapshotListModel> {
  const { repos } = ctx.deps;
  const driver = ctx.deps.driver(service.target.driver);
  const [{ snapshots, scheduleNames }, pending, caps] = await Promise.all([
    repos.snapshots.listForServiceWithScheduleNames(service.id),
    repos.operations.pendingForService(service.id),
    driver.capabilities(service.target),
  ]);
  const restoreUnavailable = new Map(snapshots.map((s) => [s.id, s.status === 'active' ? restoreBlockedReason(caps, s, snapshots) : null]));
  const actor = req.snapshotActor!;
  const timezone = actor.timezone ?? ctx.config.defaultTimezone;
  return presentSnapshotList({
    t: req.t, fmt: ctx.formatters.get(req.language, timezone), service, snapshots, pending, scheduleNames, limits,
    memoryCapable: caps.memory, simulated: driver.simulated, restoreUnavailable,
    readOnly: actor.role !== 'admin' && service.status !== 'active',
  });
}
