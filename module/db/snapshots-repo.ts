import type { Knex } from 'knex';
import { UNPINNABLE_STATUSES } from '../domain/allowed-actions.js';
import { OCCUPYING_STATUSES, type SnapshotStatus } from '../domain/status.js';
import type { Snapshot, SnapshotOrigin } from '../domain/types.js';
import { DEFAULT_PLAN } from './limits-repo.js';
import { PreparedQuery } from './prepared-query.js';
import { joinStateAndLimits, stateAndLimitsOf, type StateAndLimits } from './services-repo.js';
import { insertedId, isMysql, toBool, toDate, toDateOrNull, toNumberOrNull } from './values.js';

const T = 'snapshot_snapshots';
const newestFirst = (prefix = '') => [{ column: `${prefix}created_at`, order: 'desc' }, { column: `${prefix}id`, order: 'desc' }];

/** Maps a stored row (also for the admin browser's own queries). */
export function fromRow(r: Record<string, unknown>): Snapshot {
  return {
    id: Number(r.id),
    serviceId: String(r.service_id),
    name: String(r.name),
    description: (r.description as string | null) ?? null,
    hvName: String(r.hv_name),
    status: r.status as SnapshotStatus,
    pinned: toBool(r.pinned),
    includeMemory: toBool(r.include_memory),
    origin: r.origin as SnapshotOrigin,
    scheduleId: toNumberOrNull(r.schedule_id),
    diskBytes: toNumberOrNull(r.disk_bytes),
    memoryBytes: toNumberOrNull(r.memory_bytes),
    errorCode: (r.error_code as string | null) ?? null,
    errorMessage: (r.error_message as string | null) ?? null,
    createdBy: (r.created_by as string | null) ?? null,
    createdAt: toDate(r.created_at),
    completedAt: toDateOrNull(r.completed_at),
    updatedAt: toDate(r.updated_at),
  };
}

export interface NewSnapshot {
  serviceId: string;
  name: string;
  description: string | null;
  hvName: string;
  status: SnapshotStatus;
  includeMemory: boolean;
  origin: SnapshotOrigin;
  scheduleId: number | null;
  createdBy: string | null;
}

export type SnapshotPatch = Partial<Pick<Snapshot,
  'name' | 'description' | 'status' | 'pinned' | 'diskBytes' | 'memoryBytes' | 'errorCode' | 'errorMessage' | 'completedAt' | 'includeMemory'>>;

const COLUMNS: Record<keyof SnapshotPatch, string> = {
  name: 'name', description: 'description', status: 'status', pinned: 'pinned', diskBytes: 'disk_bytes',
  memoryBytes: 'memory_bytes', errorCode: 'error_code', errorMessage: 'error_message', completedAt: 'completed_at',
  includeMemory: 'include_memory',
};

/** What SnapshotsRepo.listPage reads for the Snapshots page. */
export interface ListPage extends StateAndLimits {
  /** Newest first. */
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
}

/** What a create decides on, read under the service's row lock (SnapshotsRepo.lockForCreate). */
/** The stored row of a new record. */
export function newSnapshotRow(s: NewSnapshot, now: Date): Record<string, unknown> {
  return {
    service_id: s.serviceId, name: s.name, description: s.description, hv_name: s.hvName, status: s.status,
    pinned: false, include_memory: s.includeMemory, origin: s.origin, schedule_id: s.scheduleId,
    created_by: s.createdBy, created_at: now, updated_at: now,
  };
}

/** A new record as stored under `id` (every field is known: no read-back). */
export function insertedSnapshot(s: NewSnapshot, id: number, now: Date): Snapshot {
  return {
    ...s, id, pinned: false, diskBytes: null, memoryBytes: null, errorCode: null, errorMessage: null,
    createdAt: now, completedAt: null, updatedAt: now,
  };
}

/**
 * The statement of lockForCreate without its WHERE: the service rows locked (MariaDB), each with the
 * counts a create decides on, correlated with the locked row.
 */
export function lockingCreateQuery(trx: Knex.Transaction): Knex.QueryBuilder {
  const locked = trx.ref('st.service_id');
  const occupying = trx(`${T} as sn`).where('sn.service_id', locked).whereIn('sn.status', OCCUPYING_STATUSES as SnapshotStatus[]).count('*');
  const queued = trx('snapshot_operations as op').where('op.service_id', locked).where('op.status', 'queued').count('*');
  const q = trx('snapshot_services as st')
    .select('st.service_id', 'st.suspended', 'st.terminated', 'st.clone_pending', occupying.as('occupying'), queued.as('queued'));
  return isMysql(trx) ? q.forUpdate() : q;
}

export function toCreateLock(row: Record<string, unknown>): CreateLock {
  return {
    occupying: Number(row.occupying), queuedOperations: Number(row.queued), suspended: toBool(row.suspended), terminated: toBool(row.terminated),
    clonePending: toBool(row.clone_pending),
  };
}

export interface CreateLock {
  occupying: number;
  queuedOperations: number;
  suspended: boolean;
  terminated: boolean;
  clonePending: boolean;
}

/** Snapshot records. Status changes go through `transition` so a concurrent change is never overwritten. */
export class SnapshotsRepo {
  private readonly page: PreparedQuery<'serviceId' | 'planId' | 'defaultPlan'>;

  constructor(private readonly db: Knex) {
    this.page = new PreparedQuery(db, (param) => {
      // The service's waiting and running operations by snapshot, gathered once: a correlated
      // EXISTS per row and status cost MariaDB more than the rest of the query.
      const flag = (status: string) => db.raw(`max(case when o.status = '${status}' then 1 else 0 end) as op_${status}`);
      const pending = db('snapshot_operations as o').where('o.service_id', param('serviceId')).whereIn('o.status', ['queued', 'running'])
        .groupBy('o.snapshot_id').select('o.snapshot_id', flag('running'), flag('queued'),
          db.raw("max(case when o.kind = 'clone' then 1 else 0 end) as op_clone")).as('ops');
      const q = db.from(db.raw('(select 1 as one) as anchor'))
        .leftJoin(`${T} as s`, (j) => j.onVal('s.service_id', param('serviceId')))
        .leftJoin('snapshot_schedules as sc', (j) => j.on('sc.id', 's.schedule_id').andOn('sc.service_id', 's.service_id'))
        .leftJoin(pending, 'ops.snapshot_id', 's.id')
        .select('s.*', 'sc.name as schedule_name', 'ops.op_running', 'ops.op_queued', 'ops.op_clone',
          db.raw("(select count(*) from snapshot_operations o where o.service_id = ? and o.status in ('queued', 'running')) as pending_count", [param('serviceId')]))
        .orderBy(newestFirst('s.'));
      return joinStateAndLimits(q, param('serviceId'), param('planId'), param('defaultPlan'));
    });
  }

  /** Inserts a record and returns it as stored (no read-back: every field is known here). */
  async insert(s: NewSnapshot, db: Knex = this.db): Promise<Snapshot> {
    const now = new Date();
    return insertedSnapshot(s, insertedId(await db(T).insert(newSnapshotRow(s, now))), now);
  }

  /**
   * Several records in one statement, returned as stored. Their ids are read back by the records'
   * unique key (service, hypervisor name): a multi-row insert reports one id, and whether the others
   * follow it depends on the server's auto-increment settings.
   */
  async insertMany(list: NewSnapshot[], db: Knex = this.db): Promise<Snapshot[]> {
    const now = new Date();
    await db(T).insert(list.map((s) => newSnapshotRow(s, now)));
    const rows: Array<Record<string, unknown>> = await db(T).whereIn('service_id', [...new Set(list.map((s) => s.serviceId))])
      .whereIn('hv_name', list.map((s) => s.hvName)).select('id', 'service_id', 'hv_name');
    const ids = new Map(rows.map((r) => [`${String(r.service_id)}/${String(r.hv_name)}`, Number(r.id)]));
    return list.map((s) => insertedSnapshot(s, ids.get(`${s.serviceId}/${s.hvName}`)!, now));
  }

  async get(id: number, db: Knex = this.db): Promise<Snapshot | null> {
    const row = await db(T).where({ id }).first();
    return row ? fromRow(row) : null;
  }

  /**
   * listForService, with the keep count of schedule `scheduleId` read in the same statement (null
   * when the schedule is gone): what retention after a scheduled snapshot decides on.
   */
  async listForRetention(serviceId: string, scheduleId: number): Promise<{ keep: number | null; snapshots: Snapshot[] }> {
    const keep = this.db('snapshot_schedules').where('id', scheduleId).select('keep');
    const rows: Array<Record<string, unknown>> = await this.db(T).where({ service_id: serviceId }).orderBy(newestFirst()).select(`${T}.*`, keep.as('schedule_keep'));
    const k = rows[0]?.schedule_keep;
    return { keep: k === null || k === undefined ? null : Number(k), snapshots: rows.map(fromRow) };
  }

  async listForService(serviceId: string, db: Knex = this.db): Promise<Snapshot[]> {
    const rows = await db(T).where({ service_id: serviceId }).orderBy(newestFirst());
    return rows.map(fromRow);
  }

  /**
   * All the Snapshots page reads, in one query: the service's state and limit rows, its snapshots
   * newest first with the names of the schedules that made them, whether each has a running or a
   * queued operation, and how many operations the service has waiting or running. Each round trip
   * costs the page more than all its rows; and one statement reads one moment of the database.
   */
  async listPage(serviceId: string, planId: string): Promise<ListPage> {
    const rows = await this.page.rows({ serviceId, planId, defaultPlan: DEFAULT_PLAN });
    const snapshots: Snapshot[] = [];
    const scheduleNames = new Map<number, string>();
    const running = new Set<number>();
    const queued = new Set<number>();
    const cloning = new Set<number>();
    for (const r of rows) {
      // No snapshots: the anchor's one row, with the rest of the page's facts.
      if (r.id === null || r.id === undefined) continue;
      const s = fromRow(r);
      snapshots.push(s);
      if (r.schedule_name !== null && r.schedule_name !== undefined) scheduleNames.set(Number(r.schedule_id), String(r.schedule_name));
      if (toBool(r.op_running)) running.add(s.id);
      if (toBool(r.op_queued)) queued.add(s.id);
      if (toBool(r.op_clone)) cloning.add(s.id);
    }
    return { ...stateAndLimitsOf(rows[0]!), snapshots, scheduleNames, running, queued, cloning, pendingCount: Number(rows[0]!.pending_count) };
  }

  async list(filter: { statuses?: SnapshotStatus[]; serviceId?: string; limit?: number } = {}): Promise<Snapshot[]> {
    const q = this.db(T).orderBy('id', 'desc').limit(filter.limit ?? 200);
    if (filter.statuses?.length) q.whereIn('status', filter.statuses);
    if (filter.serviceId) q.where({ service_id: filter.serviceId });
    return (await q).map(fromRow);
  }

  /** Snapshots taking hypervisor storage: what the limit counts. */
  async countOccupying(serviceId: string, db: Knex = this.db): Promise<number> {
    const row = await db(T).where({ service_id: serviceId }).whereIn('status', OCCUPYING_STATUSES as SnapshotStatus[]).count({ n: '*' }).first();
    return Number(row?.n ?? 0);
  }

  /**
   * Takes the service's row lock for a create and reads, in the same statement, what the create
   * decides on: the snapshots taking storage, and how many of the service's operations wait queued
   * (see createSnapshot: then no wake is needed). Null when the service has no state row yet. The
   * counts are correlated with the locked row, so they are plain reads made after it is locked (never
   * computed ahead as constants) and see every create that held the lock before. SQLite needs no
   * lock: its writers are serialized. The service's suspension flags come with it (see assertServiceOpen).
   */
  async lockForCreate(trx: Knex.Transaction, serviceId: string): Promise<CreateLock | null> {
    const row = await lockingCreateQuery(trx).where('st.service_id', serviceId).first() as Record<string, unknown> | undefined;
    return row ? toCreateLock(row) : null;
  }

  /** Updates a record; false when it is gone (a delete finished meanwhile). */
  async update(id: number, patch: SnapshotPatch, db: Knex = this.db): Promise<boolean> {
    return Number(await db(T).where({ id }).update(toColumns(patch))) === 1;
  }

  /**
   * Pins or unpins unless the snapshot is being deleted or failed: one conditional UPDATE, so a
   * rotation moving it to deleting at the same moment either comes first (and the pin is refused) or
   * sees it pinned (and skips it). False when nothing was changed.
   */
  async setPinned(id: number, pinned: boolean, db: Knex = this.db): Promise<boolean> {
    return Number(await db(T).where({ id }).whereNotIn('status', UNPINNABLE_STATUSES as SnapshotStatus[]).update(toColumns({ pinned }))) === 1;
  }

  /**
   * Moves a snapshot from `from` to `patch.status` only if it is still in `from`; returns whether it
   * did, so two racing requests cannot both act on the same snapshot.
   */
  async transition(id: number, from: SnapshotStatus, patch: SnapshotPatch & { status: SnapshotStatus }, db: Knex = this.db): Promise<boolean> {
    const n = await db(T).where({ id, status: from }).update(toColumns(patch));
    return Number(n) === 1;
  }

  /** Retention's transition: an active snapshot to `deleting`, unless it was pinned meanwhile. */
  async rotateOut(id: number, db: Knex = this.db): Promise<boolean> {
    // A snapshot a new server is being made from stays until that clone has ended.
    const n = await db(T).where({ id, status: 'active', pinned: false })
      .whereNotExists((q) => q.select(db.raw('1')).from('snapshot_clones as c').where('c.snapshot_id', id).whereIn('c.status', ['queued', 'running']))
      .update(toColumns({ status: 'deleting' }));
    return Number(n) === 1;
  }

  async remove(id: number, db: Knex = this.db): Promise<void> {
    await db(T).where({ id }).delete();
  }
}

function toColumns(patch: SnapshotPatch): Record<string, unknown> {
  const row: Record<string, unknown> = { updated_at: new Date() };
  for (const [k, v] of Object.entries(patch)) if (v !== undefined) row[COLUMNS[k as keyof SnapshotPatch]] = v;
  return row;
}
