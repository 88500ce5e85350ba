import type { Knex } from 'knex';
import { OCCUPYING_STATUSES } from '../domain/status.js';
import type { Snapshot } from '../domain/types.js';
import { DEFAULT_PLAN } from './limits-repo.js';
import { PreparedQuery } from './prepared-query.js';
import { TablesFingerprint } from './tables-fingerprint.js';
import { joinStateAndLimits, stateAndLimitsOf, type StateAndLimits } from './services-repo.js';
import { fromRow } from './snapshots-repo.js';
import { toBool, toDate } from './values.js';

const T = 'snapshot_snapshots';

/** Snapshots a page of the Snapshots page (and of the API's list) shows at most. */
export const LIST_PAGE = 50;

/** What SnapshotsRepo.listPage reads for the Snapshots page. */
export interface ListPage extends StateAndLimits {
  /** Newest first: one page of them. */
  snapshots: Snapshot[];
  /** Names of the schedules that made snapshots, by id (absent: deleted). */
  scheduleNames: Map<number, string>;
  /** Ids of the snapshots with a running operation, and with a queued one. */
  running: Set<number>;
  queued: Set<number>;
  /** Ids of the snapshots a new server is being made from (a clone waiting or running). */
  cloning: Set<number>;
  /** The service's operations waiting or running. */
  pendingCount: number;
  /** The service's snapshots taking storage (the quota's "used"), all of them, not only this page's. */
  occupying: number;
  /** The service's newest snapshot taking storage (the newest-only restore rule compares with it). */
  newestOccupying: Pick<Snapshot, 'id' | 'createdAt' | 'status'> | null;
  /** The id to ask for the next older page with (`before`), or null when this page reaches the oldest. */
  olderBefore: number | null;
  /** The service was ordered as a new server from a snapshot (its clone's report is worth reading). */
  madeFromSnapshot: boolean;
}

/**
 * Which page: the newest (no `before`), the snapshots older than snapshot `before` in the list's
 * order (created, then id), or (`inclusive`) from `before` on; `pinnedOnly` keeps just pinned ones.
 */
export interface ListCursor {
  before?: number;
  inclusive?: boolean;
  pinnedOnly?: boolean;
}

type Param = 'serviceId' | 'planId' | 'defaultPlan' | 'before' | 'exclusive' | 'pinnedOnly';

/**
 * The Snapshots page's one query: the service's state and limit rows, one page of its snapshots newest
 * first with the names of the schedules that made them, whether each has a running or a queued
 * operation, how many operations the service has waiting or running, how many snapshots take storage
 * and which is the newest of those. A page, read off the (service_id, created_at, id) index: a service
 * with 500 snapshots made a 750 kB page; each round trip costs the page more than its rows, and one
 * statement reads one moment of the database.
 */
export function listPageQuery(db: Knex): {
  read: (serviceId: string, planId: string, cursor: ListCursor) => Promise<ListPage>;
  fingerprint: (serviceId: string, planId: string) => Promise<string | null>;
} {
  const occupying = OCCUPYING_STATUSES.map(() => '?').join(', ');
  const prepared = new PreparedQuery<Param>(db, (param) => {
    // The service's waiting and running operations by snapshot, gathered once: a correlated
    // EXISTS per row and status cost MariaDB more than the rest of the query.
    const flag = (status: string) => db.raw(`max(case when o.status = '${status}' then 1 else 0 end) as op_${status}`);
    const pending = db('snapshot_operations as o').where('o.service_id', param('serviceId')).whereIn('o.status', ['queued', 'running'])
      .groupBy('o.snapshot_id').select('o.snapshot_id', flag('running'), flag('queued'),
        db.raw("max(case when o.kind = 'clone' then 1 else 0 end) as op_clone")).as('ops');
    const cursor = db(T).where('id', param('before')).where('service_id', param('serviceId')).select('created_at as c_at', 'id as c_id').as('c');
    const newest = (column: string) => db.raw(`(select n.${column} from ${T} n where n.service_id = ? and n.status in (${occupying}) order by n.created_at desc, n.id desc limit 1) as newest_${column}`,
      [param('serviceId'), ...OCCUPYING_STATUSES]);
    const q = db.from(db.raw('(select 1 as one) as anchor'))
      .leftJoin(cursor, (j) => j.on(db.raw('1 = 1')))
      .leftJoin(`${T} as s`, (j) => j.onVal('s.service_id', param('serviceId'))
        .andOn(db.raw('(? = 0 or s.created_at < c.c_at or (s.created_at = c.c_at and s.id <= c.c_id - ?))', [param('before'), param('exclusive')]))
        .andOn(db.raw('(? = 0 or s.pinned <> 0)', [param('pinnedOnly')])))
      .leftJoin('snapshot_schedules as sc', (j) => j.on('sc.id', 's.schedule_id').andOn('sc.service_id', 's.service_id'))
      .leftJoin(pending, 'ops.snapshot_id', 's.id')
      .select('s.*', 'sc.name as schedule_name', 'ops.op_running', 'ops.op_queued', 'ops.op_clone',
        db.raw("(select count(*) from snapshot_operations o where o.service_id = ? and o.status in ('queued', 'running')) as pending_count", [param('serviceId')]),
        db.raw(`(select count(*) from ${T} u where u.service_id = ? and u.status in (${occupying})) as occupying_count`, [param('serviceId'), ...OCCUPYING_STATUSES]),
        newest('id'), newest('created_at'),
        // Through the unique index on new_service_id; most services were never made from a snapshot.
        db.raw('(select count(*) from snapshot_clones nc where nc.new_service_id = ?) as made_from_snapshot', [param('serviceId')]))
      .orderBy([{ column: 's.created_at', order: 'desc' }, { column: 's.id', order: 'desc' }])
      .limit(LIST_PAGE + 1);
    return joinStateAndLimits(q, param('serviceId'), param('planId'), param('defaultPlan'));
  });

  const values = (serviceId: string, planId: string, cursor: ListCursor) => ({
    serviceId, planId, defaultPlan: DEFAULT_PLAN, before: cursor.before ?? 0, exclusive: cursor.inclusive ? 0 : 1, pinnedOnly: cursor.pinnedOnly ? 1 : 0,
  });

  const read = async (serviceId: string, planId: string, cursor: ListCursor): Promise<ListPage> => {
    const rows = await prepared.rows(values(serviceId, planId, cursor));
    const snapshots: Snapshot[] = [];
    const scheduleNames = new Map<number, string>();
    const running = new Set<number>();
    const queued = new Set<number>();
    const cloning = new Set<number>();
    for (const r of rows.slice(0, LIST_PAGE)) {
      // No snapshots: the anchor's one row, with the rest of the page's facts.
      if (r.id === null || r.id === undefined) continue;
      const s = fromRow(r);
      snapshots.push(s);
      if (r.schedule_name !== null && r.schedule_name !== undefined) scheduleNames.set(Number(r.schedule_id), String(r.schedule_name));
      if (toBool(r.op_running)) running.add(s.id);
      if (toBool(r.op_queued)) queued.add(s.id);
      if (toBool(r.op_clone)) cloning.add(s.id);
    }
    const first = rows[0]!;
    return {
      ...stateAndLimitsOf(first), snapshots, scheduleNames, running, queued, cloning, pendingCount: Number(first.pending_count),
      occupying: Number(first.occupying_count),
      newestOccupying: first.newest_id === null || first.newest_id === undefined ? null
        : { id: Number(first.newest_id), createdAt: toDate(first.newest_created_at), status: 'active' },
      olderBefore: rows.length > LIST_PAGE ? snapshots.at(-1)!.id : null,
      madeFromSnapshot: Number(first.made_from_snapshot) > 0,
    };
  };
  const fingerprint = listPageFingerprint(db);
  return { read, fingerprint: (serviceId, planId) => fingerprint.of({ serviceId, planId, defaultPlan: DEFAULT_PLAN }) };
}

/**
 * Every row the page's query can read, table by table, a superset of them: all of the service's
 * snapshots (whichever page), its schedules, its waiting and running operations, its state row, its
 * plan's and the default limits, and its clone row as a new server. test/db/list-page-fingerprint.test.ts
 * checks that every table the query names is here.
 */
export function listPageFingerprint(db: Knex): TablesFingerprint<'serviceId' | 'planId' | 'defaultPlan'> {
  return new TablesFingerprint(db, [
    { table: T, where: 'service_id = ?', params: ['serviceId'] },
    { table: 'snapshot_schedules', where: 'service_id = ?', params: ['serviceId'] },
    { table: 'snapshot_operations', where: "service_id = ? and status in ('queued', 'running')", params: ['serviceId'] },
    { table: 'snapshot_services', where: 'service_id = ?', params: ['serviceId'] },
    { table: 'snapshot_plan_limits', where: 'plan_id in (?, ?)', params: ['planId', 'defaultPlan'] },
    { table: 'snapshot_clones', where: 'new_service_id = ?', params: ['serviceId'] },
  ]);
}
