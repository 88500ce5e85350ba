import type { Knex } from 'knex';
import type { LimitsRepo } from '../db/limits-repo.js';
import { DEFAULT_PLAN } from '../db/limits-repo.js';
import type { ServiceStateRow, ServicesRepo } from '../db/services-repo.js';
import type { SnapshotLimitRows } from '../db/snapshots-repo.js';
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
    return this.resolve(planId, await this.limits.getMany([planId, DEFAULT_PLAN]), null);
  }

  /** `db`: a transaction to read in (SQLite's one connection is held by it). */
  async forService(serviceId: string, planId: string, db?: Knex): Promise<PlanLimits> {
    // One round trip for the three rows: every create and every scheduled run asks.
    const { state, plans } = await this.services.getWithPlanLimits(serviceId, planId, db);
    return this.resolve(planId, plans, state);
  }

  /**
   * The snapshot limit alone of a service on `planId`, from its layers as read with a create's lock;
   * null when they are another plan's (the panel's plan is not the one recorded): then forService.
   */
  maxSnapshots(rows: SnapshotLimitRows, planId: string): number | null {
    if (rows.planId !== planId) return null;
    return resolveLimits(this.configDefault, { maxSnapshots: rows.override ?? undefined }, { maxSnapshots: rows.row ?? undefined }).maxSnapshots;
  }

  /** forService from rows the caller has read itself (ServicesRepo.getWithPlanLimits). */
  resolve(planId: string, rows: Map<string, PlanLimits>, state: ServiceStateRow | null): PlanLimits {
    return resolveLimits(this.configDefault, state?.overrides, rows.get(planId), rows.get(DEFAULT_PLAN));
  }
}
