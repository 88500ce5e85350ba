import type { Knex } from 'knex';
import type { PlanLimits } from '../domain/limits.js';
import type { SnapshotStatus } from '../domain/status.js';
import type { Snapshot } from '../domain/types.js';
import { DEFAULT_PLAN, LimitsRepo } from './limits-repo.js';
import { ServicesRepo, type ServiceStateRow } from './services-repo.js';
import { fromRow } from './snapshots-repo.js';

/** What AllSnapshotsRepo.listPage reads: one page of rows, and every listed service's facts. */
export interface AllSnapshotsRows {
  /** Grouped by service (by id), each service's newest first. */
  snapshots: Snapshot[];
  /** Names of the schedules that made the page's snapshots, by id (absent: deleted). */
  scheduleNames: Map<number, string>;
  /** Every listed service's snapshots by status: its quota, and the total the pager counts. */
  counts: Map<string, Map<SnapshotStatus, number>>;
  states: Map<string, ServiceStateRow>;
  /** The limit rows of the services' plans and of the default. */
  plans: Map<string, PlanLimits>;
}

/**
 * The snapshots of many services at once, for the All snapshots page: a reseller's customers may
 * have thousands, so rows come a page at a time while counts, state and limit rows come for every
 * service (a page's quota figures must not depend on which rows it shows). The statements are
 * independent and sent together: one round trip's wait on MariaDB's pool.
 */
export class AllSnapshotsRepo {
  private readonly services: ServicesRepo;
  private readonly limits: LimitsRepo;

  constructor(private readonly db: Knex) {
    this.services = new ServicesRepo(db);
    this.limits = new LimitsRepo(db);
  }

  async listPage(services: readonly { id: string; planId: string }[], page: { limit: number; offset: number }): Promise<AllSnapshotsRows> {
    const ids = [...new Set(services.map((s) => s.id))];
    if (!ids.length) return { snapshots: [], scheduleNames: new Map(), counts: new Map(), states: new Map(), plans: new Map() };
    const rows = this.db('snapshot_snapshots as s')
      .leftJoin('snapshot_schedules as sc', (j) => j.on('sc.id', 's.schedule_id').andOn('sc.service_id', 's.service_id'))
      .whereIn('s.service_id', ids)
      .orderBy([{ column: 's.service_id' }, { column: 's.created_at', order: 'desc' }, { column: 's.id', order: 'desc' }])
      .limit(page.limit).offset(page.offset)
      .select('s.*', 'sc.name as schedule_name');
    const counts = this.db('snapshot_snapshots').whereIn('service_id', ids).groupBy('service_id', 'status')
      .select('service_id', 'status').count({ n: '*' });
    const [pageRows, countRows, states, plans] = await Promise.all([
      rows, counts, this.services.getMany(ids), this.limits.getMany([...services.map((s) => s.planId), DEFAULT_PLAN]),
    ]);
    const scheduleNames = new Map<number, string>();
    const snapshots = (pageRows as Record<string, unknown>[]).map((r) => {
      if (r.schedule_name !== null && r.schedule_name !== undefined) scheduleNames.set(Number(r.schedule_id), String(r.schedule_name));
      return fromRow(r);
    });
    const byService = new Map<string, Map<SnapshotStatus, number>>();
    for (const r of countRows as Record<string, unknown>[]) {
      const id = String(r.service_id);
      if (!byService.has(id)) byService.set(id, new Map());
      byService.get(id)!.set(r.status as SnapshotStatus, Number(r.n));
    }
    return { snapshots, scheduleNames, counts: byService, states, plans };
  }
}
