import type { LimitsRepo } from '../db/limits-repo.js';
import { DEFAULT_PLAN } from '../db/limits-repo.js';
import type { ServiceStateRow, ServicesRepo } from '../db/services-repo.js';
import { resolveLimits, type PlanLimits } from './limits.js';

/**
 * Resolves what a service may do: per-service override → plan row → admin default row → config
 * default. Read on every request, so an admin's edit applies at once.
 */
export class LimitsService {
  constructor(
    private readonly limits: LimitsRepo,
    private readonly services: ServicesRepo,
    private readonly configDefault: PlanLimits,
  ) {}

  async forPlan(planId: string): Promise<PlanLimits> {
    const rows = await this.limits.getMany([planId, DEFAULT_PLAN]);
    return resolveLimits(this.configDefault, rows.get(planId), rows.get(DEFAULT_PLAN));
  }

  /** `known`: the service's state row when the caller has just read it, saving a second read. */
  async forService(serviceId: string, planId: string, known?: { state: ServiceStateRow | null }): Promise<PlanLimits> {
    const [state, plan] = await Promise.all([known ? known.state : this.services.get(serviceId), this.forPlan(planId)]);
    return resolveLimits(plan, state?.overrides);
  }
}
