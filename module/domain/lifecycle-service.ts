import type { ActionContext, DomainDeps } from './deps.js';
import { quotaView } from './limits.js';
import { adjustSchedulesToLimits, checkDiskChange, type ScheduleAdjustment } from './plan-change.js';
import { canTransition } from './status.js';
import type { PanelService } from './types.js';

export interface PlanChangeRequest {
  newPlanId: string;
  /** The new plan's disk size; growth is refused while snapshots exist. */
  newDiskBytes?: number;
}

export interface PlanChangeDecision {
  allowed: boolean;
  reason?: 'snapshots_exist';
  snapshotCount: number;
}

export interface PlanChangeResult {
  planId: string;
  adjustments: ScheduleAdjustment[];
  /** Snapshots beyond the new limit (kept; creating more is refused until under it). */
  over: number;
}

/** Effects of billing events on a service's snapshots and schedules (SPEC §3). */
export class LifecycleService {
  constructor(private readonly deps: DomainDeps) {}

  /** Whether a plan change may go ahead; a disk that grows needs a service without snapshots. */
  async checkPlanChange(service: PanelService, req: PlanChangeRequest, ctx: ActionContext): Promise<PlanChangeDecision> {
    const count = await this.deps.repos.snapshots.countOccupying(service.id);
    const decision = checkDiskChange(service.diskBytes, req.newDiskBytes, count);
    await this.deps.repos.audit.record({
      actor: ctx.actor, ip: ctx.ip, serviceId: service.id, action: 'billing.before_plan_change',
      result: decision.allowed ? 'ok' : 'refused', code: decision.reason ?? null,
      details: { newPlanId: req.newPlanId, newDiskBytes: req.newDiskBytes ?? null, snapshotCount: count },
    });
    if (!decision.allowed) {
      await this.deps.notifier.notify({ type: 'storage_expansion_refused', serviceId: service.id, params: { count } });
    }
    return decision;
  }

  /**
   * Applies new limits at once: keep clamped, memory turned off, schedules disabled where the plan no
   * longer allows them. Nothing is deleted; a service over its new limit keeps its snapshots.
   */
  async applyPlanChange(service: PanelService, ctx: ActionContext): Promise<PlanChangeResult> {
    const { repos } = this.deps;
    await repos.services.ensure(service.id, service.planId);
    await repos.services.update(service.id, { planId: service.planId });
    const limits = await this.deps.limits.forService(service.id, service.planId);
    const schedules = await repos.schedules.listForService(service.id);
    const adjustments = adjustSchedulesToLimits(limits, schedules);
    for (const { id, ...patch } of adjustments) await repos.schedules.update(id, patch);
    const used = await repos.snapshots.countOccupying(service.id);
    const { over } = quotaView(limits.maxSnapshots, used);
    await repos.audit.record({
      actor: ctx.actor, ip: ctx.ip, serviceId: service.id, action: 'billing.plan_changed', result: 'ok',
      details: { planId: service.planId, adjustments, over },
    });
    if (adjustments.length || over > 0) {
      await this.deps.notifier.notify({ type: 'plan_clamped', serviceId: service.id, params: { schedules: adjustments.length, over } });
    }
    return { planId: service.planId, adjustments, over };
  }

  /** Suspended: customer actions refused and schedules paused; nothing is deleted. */
  async setSuspended(service: PanelService, suspended: boolean, ctx: ActionContext): Promise<{ changed: boolean }> {
    const { repos } = this.deps;
    await repos.services.ensure(service.id, service.planId);
    const state = await repos.services.get(service.id);
    const changed = state?.suspended !== suspended;
    if (changed) await repos.services.update(service.id, { suspended });
    await repos.audit.record({
      actor: ctx.actor, ip: ctx.ip, serviceId: service.id, action: suspended ? 'billing.suspended' : 'billing.unsuspended',
      result: 'ok', details: { changed },
    });
    return { changed };
  }

  /**
   * Terminated: every snapshot is deleted on the hypervisor and the schedules are removed; the audit
   * log keeps the history. Delivered twice, the second call changes nothing.
   */
  async terminate(service: PanelService, ctx: ActionContext): Promise<{ changed: boolean; deleting: number }> {
    const { repos } = this.deps;
    await repos.services.ensure(service.id, service.planId);
    const result = await this.deps.transaction(async (trx) => {
      const state = await repos.services.lock(trx, service.id);
      if (state?.terminated) return { changed: false, deleting: 0 };
      await repos.services.update(service.id, { terminated: true }, trx);
      // Queued work is superseded; a create that never started leaves nothing on the hypervisor.
      const cancelled = new Set(await repos.operations.failQueued(service.id, 'service_terminated', trx));
      const pending = await repos.operations.pendingForService(service.id, trx);
      let deleting = 0;
      for (const s of await repos.snapshots.listForService(service.id, trx)) {
        const running = pending.some((op) => op.snapshotId === s.id);
        if (s.status === 'failed' || (s.status === 'creating' && !running)) {
          await repos.snapshots.remove(s.id, trx);
          continue;
        }
        const status = s.status === 'restoring' && !running ? 'active' : s.status;
        if (canTransition(status, 'deleting')) await repos.snapshots.update(s.id, { status: 'deleting', pinned: false }, trx);
        // A running create or restore finishes first: operations of a service run in order.
        await repos.operations.insert({ serviceId: service.id, snapshotId: s.id, kind: 'delete', target: service.target, origin: ctx.actor.type, requestedBy: ctx.actor.id ?? null }, trx);
        deleting += 1;
      }
      await repos.schedules.removeForService(service.id, trx);
      return { changed: true, deleting, cancelled: cancelled.size };
    });
    await repos.audit.record({ actor: ctx.actor, ip: ctx.ip, serviceId: service.id, action: 'billing.terminated', result: 'ok', details: result });
    this.deps.wake(service.id);
    return { changed: result.changed, deleting: result.deleting };
  }
}
