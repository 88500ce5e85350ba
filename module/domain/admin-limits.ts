import { DEFAULT_PLAN } from '../db/limits-repo.js';
import type { ActionContext, DomainDeps } from './deps.js';
import { explainLimits, type ExplainedLimits } from './limit-sources.js';
import type { LimitOverrides, PlanLimits } from './limits.js';
import type { PanelService } from './types.js';

export interface PlanLimitsEntry {
  planId: string;
  /** The plan's own row, or null when it inherits the default. */
  own: PlanLimits | null;
  /** What services on the plan get (before per-service overrides). */
  effective: PlanLimits;
}

/**
 * Applies new limits to services' saved schedules (clamped, turned off), as a plan change does:
 * 'applied' when done, 'queued' when left to a background job (many services).
 */
export type ApplyLimits = (serviceIds: string[], ctx: ActionContext) => Promise<'applied' | 'queued'>;

/**
 * Admin edits of plan limits and per-service overrides. Nothing is cached: LimitsService reads the
 * rows on every request, so an edit applies to the next one. Every change is audited, and lowered
 * limits reach the services' saved schedules at once, as a plan change does.
 */
export class AdminLimitsService {
  constructor(private readonly deps: DomainDeps, private readonly configDefault: PlanLimits, private readonly apply: ApplyLimits) {}

  /** The '*' default first, then each plan, with its own row (if any) and what it resolves to. */
  async listPlans(planIds: string[]): Promise<{ defaultRow: PlanLimits | null; defaultEffective: PlanLimits; plans: PlanLimitsEntry[] }> {
    const rows = await this.deps.repos.limits.list();
    const defaultRow = rows.get(DEFAULT_PLAN) ?? null;
    const defaultEffective = defaultRow ?? this.configDefault;
    const plans = planIds.filter((id) => id !== DEFAULT_PLAN).map((planId) => ({
      planId, own: rows.get(planId) ?? null, effective: rows.get(planId) ?? defaultEffective,
    }));
    return { defaultRow, defaultEffective, plans };
  }

  /** Plan ids with a row of their own (the '*' default excluded). */
  async configuredPlanIds(): Promise<string[]> {
    return [...(await this.deps.repos.limits.list()).keys()].filter((id) => id !== DEFAULT_PLAN);
  }

  async setPlanLimits(planId: string, limits: PlanLimits, ctx: ActionContext): Promise<'applied' | 'queued'> {
    const before = await this.deps.repos.limits.get(planId);
    await this.deps.repos.limits.set(planId, limits);
    await this.audit(ctx, null, 'admin.plan_limits_set', { planId, before, after: limits });
    return this.applyToPlan(planId, ctx);
  }

  /** Removes the plan's own row, so it follows the default again ('*': back to the config default). */
  async inheritDefault(planId: string, ctx: ActionContext): Promise<'applied' | 'queued'> {
    const before = await this.deps.repos.limits.get(planId);
    await this.deps.repos.limits.remove(planId);
    await this.audit(ctx, null, 'admin.plan_limits_inherit', { planId, before });
    return this.applyToPlan(planId, ctx);
  }

  /** The plan's services with schedules (any plan's for the default, which every plan may inherit). */
  private async applyToPlan(planId: string, ctx: ActionContext): Promise<'applied' | 'queued'> {
    return this.apply(await this.deps.repos.services.listLiveIdsWithSchedules(planId === DEFAULT_PLAN ? null : planId), ctx);
  }

  /** The service's effective limits, each with the layer it comes from. */
  async explain(service: PanelService): Promise<{ limits: ExplainedLimits; overrides: LimitOverrides }> {
    const [state, planRow, defaultRow] = await Promise.all([
      this.deps.repos.services.get(service.id), this.deps.repos.limits.get(service.planId), this.deps.repos.limits.get(DEFAULT_PLAN),
    ]);
    const overrides = state?.overrides ?? {};
    return { limits: explainLimits({ config: this.configDefault, defaultRow, planRow, overrides }), overrides };
  }

  /** Replaces the service's overrides; a field left undefined follows the plan. */
  async setOverrides(service: PanelService, overrides: LimitOverrides, ctx: ActionContext): Promise<void> {
    await this.deps.repos.services.ensure(service.id, service.planId);
    const before = (await this.deps.repos.services.get(service.id))?.overrides ?? {};
    await this.deps.repos.services.setOverrides(service.id, overrides);
    const empty = Object.values(overrides).every((v) => v === undefined);
    await this.audit(ctx, service.id, empty ? 'admin.overrides_cleared' : 'admin.overrides_set', { before: compact(before), after: compact(overrides) });
    await this.apply([service.id], ctx);
  }

  private async audit(ctx: ActionContext, serviceId: string | null, action: string, details: Record<string, unknown>): Promise<void> {
    await this.deps.repos.audit.record({ actor: ctx.actor, ip: ctx.ip, serviceId, action, result: 'ok', details });
  }
}

function compact(o: LimitOverrides): LimitOverrides {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== null));
}
