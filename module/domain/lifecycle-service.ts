import type { NewAuditEvent } from '../db/audit-repo.js';
import { endClone, reportEnded } from './clone/end-clone.js';
import type { ActionContext, DomainDeps } from './deps.js';
import { quotaView } from './limits.js';
import { adjustSchedulesToLimits, checkDiskChange, type ScheduleAdjustment } from './plan-change.js';
import type { SchedulerPort } from './schedule-service.js';
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

const BEFORE_PLAN_CHANGE = 'billing.before_plan_change';
/** The same refusal asked again within this window is audited but not mailed again. */
const REPEAT_WINDOW_MS = 24 * 60 * 60_000;

/** Effects of billing events on a service's snapshots and schedules. */
export class LifecycleService {
  constructor(private readonly deps: DomainDeps, private readonly scheduler: () => SchedulerPort | null = () => null) {}

  /**
   * Whether a plan change may go ahead; a disk that grows needs a service without snapshots. Every
   * question is audited; the customer hears of a refusal once, not again for the same question
   * asked again (a billing system retrying, or a panel asking on every page view).
   */
  async checkPlanChange(service: PanelService, req: PlanChangeRequest, ctx: ActionContext): Promise<PlanChangeDecision> {
    const { repos } = this.deps;
    await repos.services.ensure(service.id, service.planId);
    const details = { newPlanId: req.newPlanId, newDiskBytes: req.newDiskBytes ?? null };
    const { decision, notify } = await this.deps.transaction(async (trx) => {
      await repos.services.lock(trx, service.id);
      const count = await repos.snapshots.countOccupying(service.id, trx);
      const decision = checkDiskChange(service.diskBytes, req.newDiskBytes, count);
      const [last] = await repos.audit.list({ serviceId: service.id, action: BEFORE_PLAN_CHANGE, limit: 1 }, trx);
      const repeated = !decision.allowed && last?.result === 'refused' && sameRefusal(last.details, { ...details, snapshotCount: count })
        && Date.now() - last.occurredAt.getTime() < REPEAT_WINDOW_MS;
      await repos.audit.record({
        actor: ctx.actor, ip: ctx.ip, serviceId: service.id, action: BEFORE_PLAN_CHANGE,
        result: decision.allowed ? 'ok' : 'refused', code: decision.reason ?? null,
        details: { ...details, snapshotCount: count, ...(repeated ? { repeated } : {}) },
      }, trx);
      return { decision, notify: !decision.allowed && !repeated };
    });
    if (notify) {
      await this.deps.notifier.notify({ type: 'storage_expansion_refused', serviceId: service.id, params: { count: decision.snapshotCount } });
    }
    return decision;
  }

  /** Whether the service's disk may grow now (no snapshot occupies storage); audited like every billing call. */
  async checkStorageExpansion(service: PanelService, ctx: ActionContext): Promise<{ allowed: boolean; snapshotCount: number }> {
    const snapshotCount = await this.deps.repos.snapshots.countOccupying(service.id);
    const allowed = snapshotCount === 0;
    await this.deps.repos.audit.record({
      actor: ctx.actor, ip: ctx.ip, serviceId: service.id, action: 'billing.can_expand_storage',
      result: allowed ? 'ok' : 'refused', code: allowed ? null : 'snapshots_exist', details: { snapshotCount },
    });
    return { allowed, snapshotCount };
  }

  /**
   * Applies new limits at once: keep clamped, memory turned off, schedules disabled where the plan no
   * longer allows them. Nothing is deleted; a service over its new limit keeps its snapshots.
   */
  async applyPlanChange(service: PanelService, ctx: ActionContext, source: 'billing' | 'admin' = 'billing'): Promise<PlanChangeResult> {
    const { repos } = this.deps;
    await repos.services.ensure(service.id, null);
    // Limits read before the transaction: SQLite has one connection, which the transaction holds.
    const limits = await this.deps.limits.forService(service.id, service.planId);
    const { adjustments, over, planChanged } = await this.deps.transaction(async (trx) => {
      const state = await repos.services.lock(trx, service.id);
      const planChanged = state?.planId !== service.planId;
      if (planChanged) await repos.services.update(service.id, { planId: service.planId }, trx);
      const adjustments = adjustSchedulesToLimits(limits, await repos.schedules.listForService(service.id, trx));
      for (const { id, ...patch } of adjustments) await repos.schedules.update(id, patch, trx);
      const { over } = quotaView(limits.maxSnapshots, await repos.snapshots.countOccupying(service.id, trx));
      // A plan change is an event of its own; an admin's edit of limits, only where it changed something here.
      if (source === 'billing' || adjustments.length) {
        await repos.audit.record({
          actor: ctx.actor, ip: ctx.ip, serviceId: service.id, action: source === 'billing' ? 'billing.plan_changed' : 'admin.limits_applied',
          result: 'ok', details: { planId: service.planId, previousPlanId: state?.planId ?? null, adjustments, over },
        }, trx);
      }
      return { adjustments, over, planChanged };
    });
    await this.syncSchedules(adjustments.map((a) => a.id));
    // Told once per change: a second delivery of the same change adjusts nothing and says nothing.
    if (adjustments.length || (planChanged && over > 0)) {
      await this.deps.notifier.notify({ type: 'plan_clamped', serviceId: service.id, params: { schedules: adjustments.length, over } });
    }
    return { planId: service.planId, adjustments, over };
  }

  /** Suspended: customer actions refused and schedules paused; nothing is deleted. */
  async setSuspended(service: PanelService, suspended: boolean, ctx: ActionContext): Promise<{ changed: boolean }> {
    const { repos } = this.deps;
    await repos.services.ensure(service.id, service.planId);
    const changed = await this.deps.transaction(async (trx) => {
      const state = await repos.services.lock(trx, service.id);
      const changed = state?.suspended !== suspended;
      if (changed) await repos.services.update(service.id, { suspended }, trx);
      await repos.audit.record({
        actor: ctx.actor, ip: ctx.ip, serviceId: service.id, action: suspended ? 'billing.suspended' : 'billing.unsuspended',
        result: 'ok', details: { changed },
      }, trx);
      return changed;
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
    let clonesEnded: string[] = [];
    const result = await this.deps.transaction(async (trx) => {
      clonesEnded = [];
      const state = await repos.services.lock(trx, service.id);
      const terminated = (details: Record<string, unknown>): NewAuditEvent => ({
        actor: ctx.actor, ip: ctx.ip, serviceId: service.id, action: 'billing.terminated', result: 'ok', details,
      });
      if (state?.terminated) {
        // Delivered again: audited as such, nothing changes.
        await repos.audit.record(terminated({ changed: false, deleting: 0 }), trx);
        return { changed: false, deleting: 0, cancelled: 0, schedules: [] as number[] };
      }
      await repos.services.update(service.id, { terminated: true }, trx);
      // Queued work is superseded; a create that never started leaves nothing on the hypervisor.
      const cancelled = await repos.operations.failQueued(service.id, 'service_terminated', trx);
      // A new server not yet begun from this one's snapshot gets nothing: its clone ends here.
      for (const op of cancelled) if (op.kind === 'clone') await endClone(this.deps, op.id, 'service_terminated', trx).then((id) => id && clonesEnded.push(id));
      // This service is itself a new server whose copy has not begun (it waits in its source's queue):
      // a terminated order gets no disk. A copy already running finishes; the panel removes its guest.
      const making = state?.clonePending ? await repos.clones.forNewService(service.id, trx) : null;
      if (making?.status === 'queued' && making.operationId !== null && (await repos.operations.failIfQueued(making.operationId, 'service_terminated', trx))) {
        if (await endClone(this.deps, making.operationId, 'service_terminated', trx)) clonesEnded.push(service.id);
      }
      const running = await repos.operations.pendingForService(service.id, trx);
      const events: NewAuditEvent[] = cancelled.map((op) => ({
        actor: ctx.actor, ip: ctx.ip, serviceId: service.id, snapshotId: op.snapshotId, action: 'operation.cancelled', result: 'failed',
        code: 'service_terminated', details: { operationId: op.id, kind: op.kind },
      }));
      let deleting = 0;
      for (const s of await repos.snapshots.listForService(service.id, trx)) {
        const op = running.find((o) => o.snapshotId === s.id);
        if (s.status === 'failed' || (s.status === 'creating' && !op)) {
          await repos.snapshots.remove(s.id, trx);
          continue;
        }
        deleting += 1;
        const status = s.status === 'restoring' && !op ? 'active' : s.status;
        if (canTransition(status, 'deleting')) await repos.snapshots.update(s.id, { status: 'deleting', pinned: false }, trx);
        // A delete already running removes it; a second one would act on a snapshot already gone.
        if (op?.kind === 'delete') continue;
        // A running create or restore finishes first: operations of a service run in order.
        await repos.operations.insert({ serviceId: service.id, snapshotId: s.id, kind: 'delete', target: service.target, origin: ctx.actor.type, requestedBy: ctx.actor.id ?? null }, trx);
      }
      const schedules = (await repos.schedules.listForService(service.id, trx)).map((x) => x.id);
      await repos.schedules.removeForService(service.id, trx);
      const summary = { changed: true, deleting, cancelled: cancelled.length, schedules };
      await repos.audit.record([...events, terminated(summary)], trx);
      return summary;
    });
    for (const id of result.schedules) await this.scheduler()?.remove(id);
    await reportEnded(this.deps, clonesEnded);
    if (result.changed) this.deps.wake(service.id);
    return { changed: result.changed, deleting: result.deleting };
  }

  /** Brings the job scheduler in line with schedules the plan change touched (disabled ones stop running). */
  private async syncSchedules(ids: number[]): Promise<void> {
    const scheduler = this.scheduler();
    if (!scheduler) return;
    for (const id of ids) {
      const s = await this.deps.repos.schedules.get(id);
      if (s) await scheduler.sync(s);
    }
  }
}

function sameRefusal(a: Record<string, unknown> | null, b: Record<string, unknown>): boolean {
  return !!a && ['newPlanId', 'newDiskBytes', 'snapshotCount'].every((k) => a[k] === b[k]);
}
