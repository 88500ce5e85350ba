import type { Knex } from 'knex';
import type { Schedule } from '../domain/types.js';
import { joinRecordedStateAndLimits, stateAndLimitsOf, type StateAndLimits } from './services-repo.js';
import { insertedId, toBool, toDate, toDateOrNull } from './values.js';

const T = 'snapshot_schedules';

function fromRow(r: Record<string, unknown>): Schedule {
  return {
    id: Number(r.id),
    serviceId: String(r.service_id),
    name: String(r.name),
    enabled: toBool(r.enabled),
    disabledReason: (r.disabled_reason as string | null) ?? null,
    days: String(r.days).split(',').filter(Boolean).map(Number),
    hour: Number(r.hour),
    minute: Number(r.minute),
    timezone: String(r.timezone),
    keep: Number(r.keep),
    includeMemory: toBool(r.include_memory),
    lastRunAt: toDateOrNull(r.last_run_at),
    lastResult: (r.last_result as string | null) ?? null,
    lastError: (r.last_error as string | null) ?? null,
    createdAt: toDate(r.created_at),
    updatedAt: toDate(r.updated_at),
  };
}

export type NewSchedule = Pick<Schedule, 'serviceId' | 'name' | 'enabled' | 'days' | 'hour' | 'minute' | 'timezone' | 'keep' | 'includeMemory'>;
export type SchedulePatch = Partial<Pick<Schedule, 'name' | 'enabled' | 'disabledReason' | 'days' | 'hour' | 'minute' | 'timezone' | 'keep' | 'includeMemory' | 'lastRunAt' | 'lastResult' | 'lastError'>>;

const COLUMNS: Record<keyof SchedulePatch, string> = {
  name: 'name', enabled: 'enabled', disabledReason: 'disabled_reason', days: 'days', hour: 'hour', minute: 'minute',
  timezone: 'timezone', keep: 'keep', includeMemory: 'include_memory', lastRunAt: 'last_run_at',
  lastResult: 'last_result', lastError: 'last_error',
};

function toColumns(patch: SchedulePatch): Record<string, unknown> {
  const row: Record<string, unknown> = { updated_at: new Date() };
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined) continue;
    row[COLUMNS[k as keyof SchedulePatch]] = k === 'days' ? (v as number[]).join(',') : v;
  }
  return row;
}

/** Weekly snapshot schedules of services. */
export class SchedulesRepo {
  constructor(private readonly db: Knex) {}

  async insert(s: NewSchedule, db: Knex = this.db): Promise<number> {
    const now = new Date();
    const { serviceId, ...fields } = s;
    return insertedId(await db(T).insert({ ...toColumns(fields), service_id: serviceId, created_at: now, updated_at: now }));
  }

  async get(id: number, db: Knex = this.db): Promise<Schedule | null> {
    const row = await db(T).where({ id }).first();
    return row ? fromRow(row) : null;
  }

  /**
   * get, with its service's state row and limits read in the same statement (a scheduled run needs
   * all three): the limits of the plan the state row recorded, which the caller checks is still the
   * service's plan.
   */
  async getWithService(id: number): Promise<{ schedule: Schedule; recorded: StateAndLimits } | null> {
    return (await this.getManyWithService([id])).get(id) ?? null;
  }

  /** getWithService for several schedules in one statement (a batch of runs); a schedule gone is absent. */
  async getManyWithService(ids: number[]): Promise<Map<number, { schedule: Schedule; recorded: StateAndLimits }>> {
    const rows: Array<Record<string, unknown>> = await joinRecordedStateAndLimits(this.db(`${T} as sc`).select('sc.*').whereIn('sc.id', ids), 'sc.service_id');
    return new Map(rows.map((row) => [Number(row.id), { schedule: fromRow(row), recorded: stateAndLimitsOf(row) }]));
  }

  async listForService(serviceId: string, db: Knex = this.db): Promise<Schedule[]> {
    return (await db(T).where({ service_id: serviceId }).orderBy('id')).map(fromRow);
  }

  /** The enabled schedules after id `afterId`, `limit` of them by id: the start-up sync a chunk at a time. */
  async listEnabledAfter(afterId: number, limit: number): Promise<Schedule[]> {
    return (await this.db(T).where({ enabled: true }).where('id', '>', afterId).orderBy('id').limit(limit)).map(fromRow);
  }

  /** false when the schedule is gone. */
  async update(id: number, patch: SchedulePatch, db: Knex = this.db): Promise<boolean> {
    return (await this.updateMany([id], patch, db)) === 1;
  }

  /** update for several schedules; returns how many were there. */
  async updateMany(ids: number[], patch: SchedulePatch, db: Knex = this.db): Promise<number> {
    return Number(await db(T).whereIn('id', ids).update(toColumns(patch)));
  }

  /**
   * Records a run of the occurrence `patch.lastRunAt` unless one at or after it is recorded already
   * (false then: the occurrence ran before). One conditional UPDATE, so of two runs of one occurrence
   * only one can record it.
   */
  async recordRun(id: number, patch: SchedulePatch & { lastRunAt: Date }, db: Knex = this.db): Promise<boolean> {
    return (await this.recordRuns([id], patch, db)) === 1;
  }

  /** recordRun for several schedules run for the same occurrence time; returns how many recorded it. */
  async recordRuns(ids: number[], patch: SchedulePatch & { lastRunAt: Date }, db: Knex = this.db): Promise<number> {
    const n = await db(T).whereIn('id', ids).where((q) => q.whereNull('last_run_at').orWhere('last_run_at', '<', patch.lastRunAt)).update(toColumns(patch));
    return Number(n);
  }

  async remove(id: number, db: Knex = this.db): Promise<void> {
    await db(T).where({ id }).delete();
  }

  async removeForService(serviceId: string, db: Knex = this.db): Promise<number> {
    return Number(await db(T).where({ service_id: serviceId }).delete());
  }
}
