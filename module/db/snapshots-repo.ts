import type { Knex } from 'knex';
import { UNPINNABLE_STATUSES } from '../domain/allowed-actions.js';
import { OCCUPYING_STATUSES, type SnapshotStatus } from '../domain/status.js';
import type { RetentionSnapshot } from '../domain/retention.js';
import type { Snapshot, SnapshotOrigin } from '../domain/types.js';
import { DEFAULT_PLAN, LIMITS_TABLE } from './limits-repo.js';
import { listPageQuery, type ListCursor, type ListPage } from './snapshot-list-page.js';
import { PreparedQuery } from './prepared-query.js';
import { byId, insertedId, isMysql, toBool, toDate, toDateOrNull, toNumberOrNull } from './values.js';

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

/** The columns fromRow reads. */
const ROW_COLUMNS = [
  'id', 'service_id', 'name', 'description', 'hv_name', 'status', 'pinned', 'include_memory', 'origin', 'schedule_id', 'disk_bytes',
  'memory_bytes', 'error_code', 'error_message', 'created_by', 'created_at', 'completed_at', 'updated_at',
] as const;
const PREFIX = 'sn__';

/** Adds the snapshot columns of the joined table `alias` to `q`, prefixed so they do not clash with the other table's. */
export function selectSnapshotPrefixed(q: Knex.QueryBuilder, alias: string): Knex.QueryBuilder {
  return q.select(ROW_COLUMNS.map((c) => `${alias}.${c} as ${PREFIX}${c}`));
}

/** The snapshot of a row read with selectSnapshotPrefixed; null where the join found none. */
export function snapshotOfPrefixed(row: Record<string, unknown>): Snapshot | null {
  if (row[`${PREFIX}id`] === null || row[`${PREFIX}id`] === undefined) return null;
  return fromRow(Object.fromEntries(ROW_COLUMNS.map((c) => [c, row[`${PREFIX}${c}`]])));
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

export type { ListCursor, ListPage } from './snapshot-list-page.js';

/** The stored row of a new record. */
function newSnapshotRow(s: NewSnapshot, now: Date): Record<string, unknown> {
  return {
    service_id: s.serviceId, name: s.name, description: s.description, hv_name: s.hvName, status: s.status,
    pinned: false, include_memory: s.includeMemory, origin: s.origin, schedule_id: s.scheduleId,
    created_by: s.createdBy, created_at: now, updated_at: now,
  };
}

/** A new record as stored under `id` (every field is known: no read-back). */
function insertedSnapshot(s: NewSnapshot, id: number, now: Date): Snapshot {
  return {
    ...s, id, pinned: false, diskBytes: null, memoryBytes: null, errorCode: null, errorMessage: null,
    createdAt: now, completedAt: null, updatedAt: now,
  };
}

/**
 * What a create decides on, for the service rows its WHERE picks: the counts, correlated with each
 * row, and with `withLimits` the snapshot limit's layers (see SnapshotLimitRows). Every subquery
 * names the service's row: one that did not (the plan's limit row by a bound plan id) would be read
 * ahead as a constant, before the row's lock is waited for, and would open the transaction's read
 * view there, so the counts read after the wait would miss the creates committed meanwhile. The
 * limit rows are subqueries, not a join, as a locking read locks the rows it joins: every create of
 * a plan would wait on its limit row.
 */
function createReadsQuery(trx: Knex, withLimits: boolean): Knex.QueryBuilder {
  const locked = trx.ref('st.service_id');
  const occupying = trx(`${T} as sn`).where('sn.service_id', locked).whereIn('sn.status', OCCUPYING_STATUSES as SnapshotStatus[]).count('*');
  const queued = trx('snapshot_operations as op').where('op.service_id', locked).where('op.status', 'queued').count('*');
  const q = trx('snapshot_services as st')
    .select('st.service_id', 'st.suspended', 'st.terminated', 'st.clone_pending', occupying.as('occupying'), queued.as('queued'));
  if (!withLimits) return q;
  // The recorded plan's row, else the default's (`plan_id = '*'` sorts it last).
  const limitRow = trx(`${LIMITS_TABLE} as l`).where((w) => w.where('l.plan_id', trx.ref('st.plan_id')).orWhere('l.plan_id', DEFAULT_PLAN))
    .orderByRaw('?? = ?', ['l.plan_id', DEFAULT_PLAN]).limit(1).select('l.max_snapshots');
  return q.select('st.plan_id', 'st.override_max_snapshots', limitRow.as('limit_row_max'));
}

/** The statement of lockForCreate without its WHERE: createReadsQuery, the rows locked (MariaDB). */
function lockingCreateQuery(trx: Knex, withLimits = false): Knex.QueryBuilder {
  const q = createReadsQuery(trx, withLimits);
  return isMysql(trx) ? q.forUpdate() : q;
}

/** A row of lockingCreateQuery as a CreateLock. */
function toCreateLock(row: Record<string, unknown>): CreateLock {
  const lock: CreateLock = {
    occupying: Number(row.occupying), queuedOperations: Number(row.queued), suspended: toBool(row.suspended), terminated: toBool(row.terminated),
    clonePending: toBool(row.clone_pending),
  };
  if ('limit_row_max' in row) {
    lock.limitRows = { planId: (row.plan_id as string | null) ?? null, override: toNumberOrNull(row.override_max_snapshots), row: toNumberOrNull(row.limit_row_max) };
  }
  return lock;
}

/**
 * The layers a service's snapshot limit resolves from (LimitsService.maxSnapshots), read with its
 * lock: the service's override, and the limit row of the plan its state row records (`planId`), or
 * the default row when that plan has none; null where there is none.
 */
export interface SnapshotLimitRows {
  planId: string | null;
  override: number | null;
  row: number | null;
}

export interface CreateLock {
  occupying: number;
  queuedOperations: number;
  suspended: boolean;
  terminated: boolean;
  clonePending: boolean;
  /** Read with the lock when asked for (lockForCreate, lockManyForCreate `withLimits`). */
  limitRows?: SnapshotLimitRows;
}

/** Snapshot records. Status changes go through `transition` so a concurrent change is never overwritten. */
export class SnapshotsRepo {
  private readonly page: ReturnType<typeof listPageQuery>;
  // A create's first statement, compiled once (knex's building cost more than the statement's answer).
  private readonly lockOne: PreparedQuery<'serviceId'>;
  private readonly lockOneWithLimits: PreparedQuery<'serviceId'>;
  private readonly retention: PreparedQuery<'ids'>;

  constructor(private readonly db: Knex) {
    this.page = listPageQuery(db);
    this.lockOne = new PreparedQuery(db, (param) => lockingCreateQuery(db).where('st.service_id', param('serviceId')));
    this.lockOneWithLimits = new PreparedQuery(db, (param) => lockingCreateQuery(db, true).where('st.service_id', param('serviceId')));
    this.retention = new PreparedQuery(db, (param) => db(`${T} as s`).join('snapshot_schedules as sc', 'sc.id', 's.schedule_id')
      .whereIn('s.schedule_id', [param.list('ids')]).select('s.id', 's.schedule_id', 's.pinned', 's.status', 's.created_at', 'sc.keep'));
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
   * Per schedule of `scheduleIds` still there, its keep count and its own snapshots: what retention
   * after scheduled snapshots decides on (manual snapshots and other schedules' are never its
   * concern), for several schedules in one statement off the schedule_id index. A schedule gone, or
   * with no snapshot left, is absent.
   */
  async listForRetention(scheduleIds: number[]): Promise<Map<number, { keep: number; snapshots: RetentionSnapshot[] }>> {
    const rows = await this.retention.rows({ ids: scheduleIds });
    const out = new Map<number, { keep: number; snapshots: RetentionSnapshot[] }>();
    for (const r of rows) {
      const scheduleId = Number(r.schedule_id);
      let entry = out.get(scheduleId);
      if (!entry) out.set(scheduleId, entry = { keep: Number(r.keep), snapshots: [] });
      entry.snapshots.push({ id: Number(r.id), scheduleId, pinned: toBool(r.pinned), status: r.status as SnapshotStatus, createdAt: toDate(r.created_at) });
    }
    return out;
  }

  async listForService(serviceId: string, db: Knex = this.db): Promise<Snapshot[]> {
    const rows = await db(T).where({ service_id: serviceId }).orderBy(newestFirst());
    return rows.map(fromRow);
  }

  /**
   * A service's snapshots (newest first) and how many of its operations wait or run, read by one
   * statement, so at one moment: what reconcile judges. The anchor row gives the count when the
   * service has no snapshots.
   */
  async listWithPending(serviceId: string): Promise<{ snapshots: Snapshot[]; pending: number }> {
    const pending = this.db('snapshot_operations as o').where('o.service_id', serviceId).whereIn('o.status', ['queued', 'running']).count('*');
    const rows: Record<string, unknown>[] = await this.db.from(this.db.raw('(select 1 as one) as anchor'))
      .leftJoin(`${T} as s`, (j) => j.onVal('s.service_id', serviceId))
      .select('s.*', pending.as('pending_count')).orderBy(newestFirst('s.'));
    return { snapshots: rows.filter((r) => r.id !== null && r.id !== undefined).map(fromRow), pending: Number(rows[0]?.pending_count ?? 0) };
  }

  /**
   * Up to `limit` of a service's snapshots newest first, older than snapshot `before` in that order
   * (created, then id); `more`: older ones remain. Off the (service_id, created_at, id) index.
   */
  async listForServicePage(serviceId: string, page: { before?: number; limit: number }): Promise<{ snapshots: Snapshot[]; more: boolean }> {
    const q = this.db(T).where({ service_id: serviceId }).orderBy(newestFirst()).limit(page.limit + 1);
    if (page.before !== undefined) {
      const at = this.db(T).where({ id: page.before, service_id: serviceId }).select('created_at');
      q.where((w) => w.where('created_at', '<', at).orWhere((o) => o.where('created_at', '=', at).where('id', '<', page.before!)));
    }
    const rows = (await q).map(fromRow);
    return { snapshots: rows.slice(0, page.limit), more: rows.length > page.limit };
  }

  /** The service's newest snapshot taking storage: the newest-only restore rule compares with it. */
  async newestOccupying(serviceId: string): Promise<Snapshot | null> {
    const row = await this.db(T).where({ service_id: serviceId }).whereIn('status', OCCUPYING_STATUSES as SnapshotStatus[]).orderBy(newestFirst()).first();
    return row ? fromRow(row) : null;
  }

  /** One page of the Snapshots page, with everything else it shows: see listPageQuery. */
  async listPage(serviceId: string, planId: string, cursor: ListCursor = {}): Promise<ListPage> {
    return this.page.read(serviceId, planId, cursor);
  }

  /**
   * A fingerprint of every row `listPage` could read now, whichever page (tables-fingerprint.ts):
   * equal fingerprints, equal pages. Null on SQLite.
   */
  async listPageFingerprint(serviceId: string, planId: string): Promise<string | null> {
    return this.page.fingerprint(serviceId, planId);
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
   * (see createSnapshot: then no wake is needed); `withLimits`, the snapshot limit's layers too
   * (createReadsQuery). Null when the service has no state row yet. The counts are correlated with
   * the locked row, so they are plain reads made after it is locked (never computed ahead as
   * constants) and see every create that held the lock before. SQLite needs no lock: its writers are
   * serialized. The service's suspension flags come with it (see assertServiceOpen).
   */
  async lockForCreate(trx: Knex.Transaction, serviceId: string, withLimits = false): Promise<CreateLock | null> {
    const [row] = await (withLimits ? this.lockOneWithLimits : this.lockOne).rows({ serviceId }, trx);
    return row ? toCreateLock(row) : null;
  }

  /**
   * lockForCreate for several services, locked in key order (two batches never wait on each other
   * crosswise). The locks are taken first, by a statement of their own, and the counts read after:
   * one locking statement of several rows would read a later row's counts in the read view opened
   * for its first row, before that later row's lock was waited for. A service without a state row is
   * absent.
   */
  async lockManyForCreate(trx: Knex.Transaction, serviceIds: readonly string[], withLimits = false): Promise<Map<string, CreateLock>> {
    const ids = [...new Set(serviceIds)].sort();
    if (isMysql(trx)) await trx('snapshot_services').whereIn('service_id', ids).orderBy('service_id').forUpdate().select('service_id');
    const rows: Array<Record<string, unknown>> = await createReadsQuery(trx, withLimits).whereIn('st.service_id', ids);
    return new Map(rows.map((row) => [String(row.service_id), toCreateLock(row)]));
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

  /**
   * Several snapshots' transitions from `from` to active in one statement, each only if still in
   * `from`; a create's sizes and completion time go per row. Returns how many moved.
   */
  async activateMany(from: 'creating' | 'restoring', list: Array<{ id: number; diskBytes?: number | null; memoryBytes?: number | null }>,
    db: Knex): Promise<number> {
    const row: Record<string, unknown> = toColumns({ status: 'active' });
    if (from === 'creating') {
      row.completed_at = new Date();
      row.disk_bytes = byId(db, 'disk_bytes', list.map((s) => [s.id, s.diskBytes ?? null]));
      row.memory_bytes = byId(db, 'memory_bytes', list.map((s) => [s.id, s.memoryBytes ?? null]));
    }
    return Number(await db(T).whereIn('id', list.map((s) => s.id)).where({ status: from }).update(row));
  }

  /** remove for several; returns how many rows were there to remove. */
  async removeMany(ids: number[], db: Knex): Promise<number> {
    return Number(await db(T).whereIn('id', ids).delete());
  }
}

function toColumns(patch: SnapshotPatch): Record<string, unknown> {
  const row: Record<string, unknown> = { updated_at: new Date() };
  for (const [k, v] of Object.entries(patch)) if (v !== undefined) row[COLUMNS[k as keyof SnapshotPatch]] = v;
  return row;
}
