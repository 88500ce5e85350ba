import type { Request } from 'express';
import { authorize, mayChange } from '../../domain/authorize.js';
import type { PlanLimits } from '../../domain/limits.js';
import { restoreBlockedReason } from '../../domain/snapshot-service.js';
import type { ListCursor } from '../../db/snapshot-list-page.js';
import type { Actor, PanelService, Snapshot } from '../../domain/types.js';
import type { DriverCapabilities } from '../../drivers/contract.js';
import { snapshotsPath } from '../common/paths.js';
import { requireActor } from '../common/actor.js';
import type { ModuleContext } from '../common/module-context.js';
import { presentSnapshotList, type SnapshotListModel } from './presenter.js';

/**
 * The route's service (`:serviceId`) for a page listing its snapshots, once its actor may view it,
 * with its limits and one page of the list presented for `req`'s user: one query (SnapshotsRepo.listPage)
 * for everything the database holds, and a second for the pinned snapshots older than the newest page.
 */
export async function loadListPage(ctx: ModuleContext, req: Request, cursor: ListCursor = {}, scope?: ListScope): Promise<ListPageModel> {
  const { panel, actor } = scope ?? await viewer(ctx, req);
  const driver = ctx.deps.driver(panel.target.driver);
  const [page, caps] = await Promise.all([ctx.deps.repos.snapshots.listPage(panel.id, panel.planId, cursor), scope?.caps ?? driver.capabilities(panel.target)]);
  // Only a service made from a snapshot has a clone to report on: the page's query says whether this one was.
  const cloneReport = page.madeFromSnapshot && ctx.clones.offered ? await ctx.clones.status(panel.id) : null;
  // The newest page keeps showing every pinned snapshot, however old, as the whole list did.
  const pinned = !cursor.before && page.olderBefore
    ? await ctx.deps.repos.snapshots.listPage(panel.id, panel.planId, { before: page.olderBefore, pinnedOnly: true }) : null;
  const service = await ctx.services.withState(panel, page.state);
  const limits = ctx.deps.limits.resolve(service.planId, page.plans, page.state);
  const snapshots = [...page.snapshots, ...(pinned?.snapshots ?? [])];
  const newest = page.newestOccupying ? [page.newestOccupying as Snapshot] : [];
  const restoreUnavailable = new Map(snapshots.map((s) => [s.id, s.status === 'active' ? restoreBlockedReason(caps, s, newest) : null]));
  const base = snapshotsPath(panel.id);
  const model = presentSnapshotList({
    t: req.t, fmt: ctx.formatters.get(req.language, actor.timezone ?? ctx.config.defaultTimezone), service, snapshots,
    running: union(page.running, pinned?.running), queued: union(page.queued, pinned?.queued), pendingCount: page.pendingCount,
    scheduleNames: new Map([...page.scheduleNames, ...(pinned?.scheduleNames ?? [])]), limits, occupying: page.occupying,
    memoryCapable: caps.memory, simulated: driver.simulated, restoreUnavailable,
    // A new server still being made from a snapshot: nothing to act on yet (its banner says why).
    readOnly: !mayChange(actor, service) || (page.state?.clonePending ?? false),
    cloning: union(page.cloning, pinned?.cloning), cloneReport,
    cloneOffer: ctx.clones.offer(caps, limits.cloneAllowed, page.state?.clonePending ?? false),
    pager: { older: page.olderBefore ? `${base}?before=${page.olderBefore}` : null, newest: cursor.before ? base : null },
  });
  return { service, limits, model };
}

/** Who asks about which service, what its hypervisor can do, once the actor may view it. */
export interface ListScope {
  panel: PanelService;
  actor: Actor;
  caps: DriverCapabilities;
}

export interface ListPageModel {
  service: PanelService;
  limits: PlanLimits;
  model: SnapshotListModel;
}

/** The route's service and actor, authorized to view, with its hypervisor's capabilities. */
export async function listScope(ctx: ModuleContext, req: Request): Promise<ListScope> {
  const { panel, actor } = await viewer(ctx, req);
  return { panel, actor, caps: await ctx.deps.driver(panel.target.driver).capabilities(panel.target) };
}

async function viewer(ctx: ModuleContext, req: Request): Promise<{ panel: PanelService; actor: Actor }> {
  const panel = await ctx.services.panelService(String(req.params.serviceId));
  const actor = requireActor(req);
  // Viewing depends only on who may see the service (the panel's record), not on its state row:
  // checked before anything is read, so another customer's id costs no query.
  authorize(actor, 'view', panel);
  return { panel, actor };
}

const union = (a: ReadonlySet<number>, b?: ReadonlySet<number>) => (b ? new Set([...a, ...b]) : a);
