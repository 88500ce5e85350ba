import type { Knex } from 'knex';
import type { LimitOverrides, PlanLimits } from '../domain/limits.js';
import { DEFAULT_PLAN, fromRow as limitsFromRow, LIMIT_COLUMNS, LIMITS_TABLE } from './limits-repo.js';
import { isMysql, toBool } from './values.js';

const T = 'snapshot_services';

export interface ServiceStateRow {
  serviceId: string;
  planId: string | null;
  /** The panel's owner as last seen by the module (null until the service is next loaded). */
  ownerId: string | null;
  overrides: LimitOverrides;
  suspended: boolean;
  terminated: boolean;
  /** A new server whose disk is still being made from a snapshot: nothing else may touch it yet. */
  clonePending: boolean;
}

function fromRow(r: Record<string, unknown>): ServiceStateRow {
  const nullableNumber = (v: unknown) => (v === null || v === undefined ? undefined : Number(v));
  const nullableBool = (v: unknown) => (v === null || v === undefined ? undefined : toBool(v));
  return {
    serviceId: String(r.service_id),
    planId: (r.plan_id as string | null) ?? null,
    ownerId: (r.owner_id as string | null) ?? null,
    overrides: {
      maxSnapshots: nullableNumber(r.override_max_snapshots),
      maxSchedules: nullableNumber(r.override_max_schedules),
      maxKeep: nullableNumber(r.override_max_keep),
      memoryAllowed: nullableBool(r.override_memory_allowed),
      schedulesAllowed: nullableBool(r.override_schedules_allowed),
      cloneAllowed: nullableBool(r.override_clone_allowed),
    },
    suspended: toBool(r.suspended),
    terminated: toBool(r.terminated),
    clonePending: toBool(r.clone_pending),
  };
}

const STATE_COLUMNS = ['service_id', 'plan_id', 'owner_id', 'override_max_snapshots', 'override_max_schedules', 'override_max_keep',
  'override_memory_allowed', 'override_schedules_allowed', 'override_clone_allowed', 'suspended', 'terminated', 'clone_pending'] as const;

/** A service's state row (null before the module first stores it) and the limit rows of its plan and of the default. */
export type StateAndLimits = { state: ServiceStateRow | null; plans: Map<string, PlanLimits> };

/**
 * Left-joins to `q`, whose FROM has one row per row wanted, the service's state row and the limit
 * rows of its plan and of the default, selected as `st_*`, `p_*` and `d_*` columns (each row may be
 * missing); stateAndLimitsOf reads them back. `defaultPlan`: DEFAULT_PLAN, or where a prepared query puts it.
 */
export function joinStateAndLimits(q: Knex.QueryBuilder, serviceId: string, planId: string, defaultPlan = DEFAULT_PLAN): Knex.QueryBuilder {
  return q.select(...STATE_COLUMNS.map((c) => `st.${c} as st_${c}`),
    ...LIMIT_COLUMNS.map((c) => `p.${c} as p_${c}`), ...LIMIT_COLUMNS.map((c) => `d.${c} as d_${c}`))
    .leftJoin(`${T} as st`, (j) => j.onVal('st.service_id', serviceId))
    .leftJoin(`${LIMITS_TABLE} as p`, (j) => j.onVal('p.plan_id', planId))
    .leftJoin(`${LIMITS_TABLE} as d`, (j) => j.onVal('d.plan_id', defaultPlan));
}

/**
 * As joinStateAndLimits, for a query whose FROM names the service in `serviceColumn` (a schedule's
 * row): the plan joined is the one the state row last recorded, which the caller checks against
 * the panel's (see ServiceDirectory.withStateAndLimits).
 */
export function joinRecordedStateAndLimits(q: Knex.QueryBuilder, serviceColumn: string): Knex.QueryBuilder {
  return q.select(...STATE_COLUMNS.map((c) => `st.${c} as st_${c}`),
    ...LIMIT_COLUMNS.map((c) => `p.${c} as p_${c}`), ...LIMIT_COLUMNS.map((c) => `d.${c} as d_${c}`))
    .leftJoin(`${T} as st`, 'st.service_id', serviceColumn)
    .leftJoin(`${LIMITS_TABLE} as p`, 'p.plan_id', 'st.plan_id')
    .leftJoin(`${LIMITS_TABLE} as d`, (j) => j.onVal('d.plan_id', DEFAULT_PLAN));
}

/** The state and limit rows of a row selected with joinStateAndLimits. */
export function stateAndLimitsOf(row: Record<string, unknown>): StateAndLimits {
  const plans = new Map<string, PlanLimits>();
  for (const table of ['p', 'd']) {
    if (row[`${table}_plan_id`] === null || row[`${table}_plan_id`] === undefined) continue;
    const limits = Object.fromEntries(LIMIT_COLUMNS.map((c) => [c, row[`${table}_${c}`]]));
    plans.set(String(limits.plan_id), limitsFromRow(limits));
  }
  if (row.st_service_id === null || row.st_service_id === undefined) return { state: null, plans };
  return { state: fromRow(Object.fromEntries(STATE_COLUMNS.map((c) => [c, row[`st_${c}`]]))), plans };
}

/** Per-service state: overrides, suspension, and the row that serializes a service's quota. */
export class ServicesRepo {
  constructor(private readonly db: Knex) {}

  /** Creates the state row on first sight of a service; harmless when it exists. */
  async ensure(serviceId: string, planId: string | null, db: Knex = this.db): Promise<void> {
    await this.ensureMany([{ serviceId, planId }], db);
  }

  /** ensure for several services in one statement (a batch of scheduled runs meeting them first). */
  async ensureMany(services: Array<{ serviceId: string; planId: string | null }>, db: Knex = this.db): Promise<void> {
    const now = new Date();
    if (!services.length) return;
    await db(T)
      .insert(services.map((s) => ({ service_id: s.serviceId, plan_id: s.planId, suspended: false, terminated: false, created_at: now, updated_at: now })))
      .onConflict('service_id')
      .ignore();
  }

  /** Services the module has seen and that are not terminated (what reconcile walks). */
  async listLiveIds(): Promise<string[]> {
    return (await this.db(T).where({ terminated: false }).orderBy('service_id').select('service_id')).map((r) => String(r.service_id));
  }

  /**
   * Live services with saved schedules, on `planId` or (null) on any plan: what an admin's edit of
   * limits can change (a service without schedules has nothing to adjust).
   */
  async listLiveIdsWithSchedules(planId: string | null): Promise<string[]> {
    const q = this.db(T).where({ terminated: false })
      .whereExists((sub) => sub.select(this.db.raw('1')).from('snapshot_schedules').whereRaw('snapshot_schedules.service_id = ??', [`${T}.service_id`]));
    if (planId !== null) q.where({ plan_id: planId });
    return (await q.orderBy('service_id').select('service_id')).map((r) => String(r.service_id));
  }

  async get(serviceId: string, db: Knex = this.db): Promise<ServiceStateRow | null> {
    const row = await db(T).where({ service_id: serviceId }).first();
    return row ? fromRow(row) : null;
  }

  /** Several services' state rows by id (a service without one is simply absent). */
  async getMany(serviceIds: readonly string[], db: Knex = this.db): Promise<Map<string, ServiceStateRow>> {
    if (!serviceIds.length) return new Map();
    const rows = await db(T).whereIn('service_id', [...serviceIds]);
    return new Map(rows.map((r) => [String(r.service_id), fromRow(r)]));
  }

  /**
   * get, with the limit rows of the service's plan and of the default in the same round trip (each
   * may be missing, so the three are left-joined to a one-row anchor): the pages showing a quota
   * need all three, and on those pages a round trip costs more than its rows.
   */
  async getWithPlanLimits(serviceId: string, planId: string, db: Knex = this.db): Promise<StateAndLimits> {
    const row = await joinStateAndLimits(db.from(db.raw('(select 1 as one) as anchor')), serviceId, planId).first();
    return stateAndLimitsOf(row as Record<string, unknown>);
  }

  /**
   * Takes the service's row lock inside `trx` (MySQL/MariaDB). SQLite needs none: the module's
   * connection is single-writer, so a transaction already excludes every other.
   */
  async lock(trx: Knex.Transaction, serviceId: string): Promise<ServiceStateRow | null> {
    const q = trx(T).where({ service_id: serviceId });
    const row = await (isMysql(trx) ? q.forUpdate() : q).first();
    return row ? fromRow(row) : null;
  }

  async update(serviceId: string, patch: Partial<{ planId: string | null; suspended: boolean; terminated: boolean; clonePending: boolean }>, db: Knex = this.db): Promise<void> {
    const row: Record<string, unknown> = { updated_at: new Date() };
    if (patch.planId !== undefined) row.plan_id = patch.planId;
    if (patch.suspended !== undefined) row.suspended = patch.suspended;
    if (patch.terminated !== undefined) row.terminated = patch.terminated;
    if (patch.clonePending !== undefined) row.clone_pending = patch.clonePending;
    await db(T).where({ service_id: serviceId }).update(row);
  }

  /** Records the panel's current owner of the service (for the admin browser's customer filter). */
  async setOwner(serviceId: string, ownerId: string, db: Knex = this.db): Promise<void> {
    await db(T).where({ service_id: serviceId }).update({ owner_id: ownerId });
  }

  /** Replaces the per-service overrides; undefined fields fall back to the plan. */
  async setOverrides(serviceId: string, o: LimitOverrides, db: Knex = this.db): Promise<void> {
    await db(T).where({ service_id: serviceId }).update({
      override_max_snapshots: o.maxSnapshots ?? null,
      override_max_schedules: o.maxSchedules ?? null,
      override_max_keep: o.maxKeep ?? null,
      override_memory_allowed: o.memoryAllowed ?? null,
      override_schedules_allowed: o.schedulesAllowed ?? null,
      override_clone_allowed: o.cloneAllowed ?? null,
      updated_at: new Date(),
    });
  }
}
