import type { Knex } from 'knex';
import type { PlanLimits } from '../domain/limits.js';
import { toBool } from './values.js';

export const LIMITS_TABLE = 'snapshot_plan_limits';
const T = LIMITS_TABLE;
/** The row holding the admin-edited default for plans without their own limits. */
export const DEFAULT_PLAN = '*';

/** The columns of a plan's row, and the row as limits. */
export const LIMIT_COLUMNS = ['plan_id', 'max_snapshots', 'max_schedules', 'max_keep', 'memory_allowed', 'schedules_allowed', 'clone_allowed'] as const;
export function fromRow(r: Record<string, unknown>): PlanLimits {
  return {
    maxSnapshots: Number(r.max_snapshots),
    maxSchedules: Number(r.max_schedules),
    maxKeep: Number(r.max_keep),
    memoryAllowed: toBool(r.memory_allowed),
    schedulesAllowed: toBool(r.schedules_allowed),
    // Rows written before the column existed read as the column's default.
    cloneAllowed: r.clone_allowed === undefined || r.clone_allowed === null ? true : toBool(r.clone_allowed),
  };
}

/** Plan limits as admins set them. */
export class LimitsRepo {
  constructor(private readonly db: Knex) {}

  async get(planId: string, db: Knex = this.db): Promise<PlanLimits | null> {
    const row = await db(T).where({ plan_id: planId }).first();
    return row ? fromRow(row) : null;
  }

  /** Several plans' rows in one query (every page needs its plan's and the default row). */
  async getMany(planIds: string[]): Promise<Map<string, PlanLimits>> {
    const rows = await this.db(T).whereIn('plan_id', [...new Set(planIds)]);
    return new Map(rows.map((r) => [String(r.plan_id), fromRow(r)]));
  }

  async list(): Promise<Map<string, PlanLimits>> {
    const rows = await this.db(T).select();
    return new Map(rows.map((r) => [String(r.plan_id), fromRow(r)]));
  }

  async set(planId: string, l: PlanLimits): Promise<void> {
    await this.db(T)
      .insert({
        plan_id: planId,
        max_snapshots: l.maxSnapshots,
        max_schedules: l.maxSchedules,
        max_keep: l.maxKeep,
        memory_allowed: l.memoryAllowed,
        schedules_allowed: l.schedulesAllowed,
        clone_allowed: l.cloneAllowed,
        updated_at: new Date(),
      })
      .onConflict('plan_id')
      .merge();
  }

  async remove(planId: string): Promise<void> {
    await this.db(T).where({ plan_id: planId }).delete();
  }
}
