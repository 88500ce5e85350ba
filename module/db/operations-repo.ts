import type { Knex } from 'knex';
import type { HypervisorTarget } from '../drivers/contract.js';
import type { Operation, OperationKind, OperationStatus } from '../domain/types.js';
import { insertedId, isMysql, parseJson, toDate, toDateOrNull, toNumberOrNull } from './values.js';

const T = 'snapshot_operations';

/** Maps a stored row (also for the admin browser's own queries). */
export function fromRow(r: Record<string, unknown>): Operation {
  return {
    id: Number(r.id),
    serviceId: String(r.service_id),
    snapshotId: toNumberOrNull(r.snapshot_id),
    kind: r.kind as OperationKind,
    status: r.status as OperationStatus,
    attempts: Number(r.attempts),
    target: { driver: String(r.driver), node: String(r.node), vmId: String(r.vm_id) },
    driverTask: (r.driver_task as string | null) ?? null,
    payload: parseJson<Record<string, unknown>>(r.payload, {}),
    errorCode: (r.error_code as string | null) ?? null,
    errorMessage: (r.error_message as string | null) ?? null,
    origin: r.origin as Operation['origin'],
    requestedBy: (r.requested_by as string | null) ?? null,
    lockedBy: (r.locked_by as string | null) ?? null,
    lockedUntil: toDateOrNull(r.locked_until),
    runAfter: toDate(r.run_after),
    createdAt: toDate(r.created_at),
    startedAt: toDateOrNull(r.started_at),
    finishedAt: toDateOrNull(r.finished_at),
  };
}

export interface NewOperation {
  serviceId: string;
  snapshotId: number | null;
  kind: OperationKind;
  target: HypervisorTarget;
  payload?: Record<string, unknown>;
  origin: Operation['origin'];
  requestedBy: string | null;
}

/** What a claim attempt found: the operation, a reason to look again later, or nothing left to do. */
export type ClaimResult =
  | { kind: 'claimed'; op: Operation }
  | { kind: 'wait'; reason: 'backoff' | 'held' | 'node_busy'; retryAt: Date | null }
  | { kind: 'not_head' }
  | { kind: 'done' };

/** Durable hypervisor operations: queued, claimed with a lease, resumed after a crash. */
export class OperationsRepo {
  constructor(private readonly db: Knex) {}

  async insert(op: NewOperation, db: Knex = this.db): Promise<number> {
    const now = new Date();
    return insertedId(await db(T).insert({
      service_id: op.serviceId, snapshot_id: op.snapshotId, kind: op.kind, status: 'queued', attempts: 0,
      driver: op.target.driver, node: op.target.node, vm_id: op.target.vmId,
      payload: JSON.stringify(op.payload ?? {}), origin: op.origin, requested_by: op.requestedBy,
      run_after: now, created_at: now, updated_at: now,
    }));
  }

  async get(id: number): Promise<Operation | null> {
    const row = await this.db(T).where({ id }).first();
    return row ? fromRow(row) : null;
  }

  /** Queued and running operations of a service, oldest first (what the page shows as queued). */
  async pendingForService(serviceId: string, db: Knex = this.db): Promise<Operation[]> {
    const rows = await db(T).where({ service_id: serviceId }).whereIn('status', ['queued', 'running']).orderBy('id');
    return rows.map(fromRow);
  }

  /** The newest operation of a snapshot (an admin retries only that one). */
  async latestForSnapshot(snapshotId: number, db: Knex = this.db): Promise<Operation | null> {
    const row = await db(T).where({ snapshot_id: snapshotId }).orderBy('id', 'desc').first();
    return row ? fromRow(row) : null;
  }

  async list(filter: { status?: OperationStatus; serviceId?: string; limit?: number } = {}): Promise<Operation[]> {
    const q = this.db(T).orderBy('id', 'desc').limit(filter.limit ?? 200);
    if (filter.status) q.where({ status: filter.status });
    if (filter.serviceId) q.where({ service_id: filter.serviceId });
    return (await q).map(fromRow);
  }

  /**
   * Claims operation `id` for `worker` until the lease ends, if it may run now: it is due (queued
   * with its backoff over, or running under a lease that expired with its worker), it is the oldest
   * unfinished operation of its service, and its hypervisor node runs fewer than `perNode` operations
   * (live leases, across every worker process). Otherwise says why not, and when to look again.
   * `worker` must be unique per claim (the runner appends a counter).
   */
  async claim(id: number, worker: string, leaseMs: number, perNode: number): Promise<ClaimResult> {
    const now = new Date();
    const claimed = isMysql(this.db) ? await this.claimMysql(id, worker, leaseMs, perNode) : await this.claimSqlite(id, worker, leaseMs, perNode, now);
    if (claimed) return { kind: 'claimed', op: (await this.get(id))! };
    const op = await this.get(id);
    if (!op || op.status === 'succeeded' || op.status === 'failed') return { kind: 'done' };
    if (op.status === 'queued' && op.runAfter > now) return { kind: 'wait', reason: 'backoff', retryAt: op.runAfter };
    if (op.status === 'running' && op.lockedUntil && op.lockedUntil >= now) return { kind: 'wait', reason: 'held', retryAt: op.lockedUntil };
    const older = await this.db(T).where({ service_id: op.serviceId }).whereIn('status', ['queued', 'running']).where('id', '<', id).first('id');
    if (older) return { kind: 'not_head' };
    return { kind: 'wait', reason: 'node_busy', retryAt: null };
  }

  private async claimSqlite(id: number, worker: string, leaseMs: number, perNode: number, now: Date): Promise<boolean> {
    // One statement is atomic in SQLite, even between processes sharing the file.
    const n = await this.db.raw(
      `UPDATE ${T} SET status = 'running', locked_by = ?, locked_until = ?, attempts = attempts + 1,
         started_at = COALESCE(started_at, ?), updated_at = ?
       WHERE id = ? AND (
         (status = 'queued' AND run_after <= ?) OR (status = 'running' AND locked_until < ?))
         AND NOT EXISTS (SELECT 1 FROM ${T} o WHERE o.service_id = ${T}.service_id AND o.id <> ${T}.id
           AND (o.status = 'running' OR (o.status = 'queued' AND o.id < ${T}.id)))
         AND (SELECT COUNT(*) FROM ${T} n WHERE n.driver = ${T}.driver AND n.node = ${T}.node AND n.id <> ${T}.id
           AND n.status = 'running' AND n.locked_until >= ?) < ?`,
      [worker, now.getTime() + leaseMs, now.getTime(), now.getTime(), id, now.getTime(), now.getTime(), now.getTime(), perNode],
    );
    return Number((n as { changes?: number }).changes ?? 0) === 1;
  }

  private async claimMysql(id: number, worker: string, leaseMs: number, perNode: number): Promise<boolean> {
    const c = await this.db(T).where({ id }).first('service_id', 'driver', 'node');
    if (!c) return false;
    const nodeKey = `${c.driver}/${c.node}`;
    await this.db('snapshot_nodes').insert({ node_key: nodeKey }).onConflict('node_key').ignore();
    return this.db.transaction(async (trx) => {
      // Lock order: node, then service. The node row makes the per-node count exact; SKIP LOCKED on
      // the service row lets the worker look again later while a create holds that service.
      await trx('snapshot_nodes').where({ node_key: nodeKey }).forUpdate().first();
      const lock = await trx('snapshot_services').where({ service_id: c.service_id }).forUpdate().skipLocked().first();
      if (!lock) return false;
      // Stamped under the lock: the previous operation of the service has finished by then.
      const at = new Date();
      const op = await trx(T).where({ id }).first('status', 'run_after', 'locked_until');
      const due = op && ((op.status === 'queued' && new Date(op.run_after) <= at) || (op.status === 'running' && new Date(op.locked_until) < at));
      if (!due) return false;
      // Strictly in order per service: an older operation (even one waiting out a retry backoff)
      // goes first, or a restore could overtake the safety snapshot queued before it.
      const ahead = await trx(T).where({ service_id: c.service_id }).whereNot({ id })
        .where((q) => q.where({ status: 'running' }).orWhere((qq) => qq.where({ status: 'queued' }).where('id', '<', id))).first('id');
      if (ahead) return false;
      const onNode = await trx(T).where({ driver: c.driver, node: c.node, status: 'running' }).whereNot({ id })
        .where('locked_until', '>=', at).count({ n: '*' }).first();
      if (Number(onNode?.n ?? 0) >= perNode) return false;
      const n = await trx(T).where({ id }).update({
        status: 'running', locked_by: worker, locked_until: new Date(at.getTime() + leaseMs), attempts: trx.raw('attempts + 1'),
        started_at: trx.raw('COALESCE(started_at, ?)', [at]), updated_at: at,
      });
      return Number(n) === 1;
    });
  }

  /** The oldest unfinished operation of each service that has one (what may run next there). */
  async heads(): Promise<Array<{ id: number; serviceId: string }>> {
    const rows: Array<{ id: number; service_id: string }> = await this.db(T).whereIn('status', ['queued', 'running'])
      .groupBy('service_id').select('service_id').min({ id: 'id' });
    return rows.map((r) => ({ id: Number(r.id), serviceId: String(r.service_id) }));
  }

  /** Keeps a long operation's lease alive; false when the lease was lost to another worker. */
  async extendLease(id: number, worker: string, leaseMs: number): Promise<boolean> {
    const n = await this.db(T).where({ id, locked_by: worker, status: 'running' })
      .update({ locked_until: new Date(Date.now() + leaseMs), updated_at: new Date() });
    return Number(n) === 1;
  }

  async setDriverTask(id: number, worker: string, task: string | null): Promise<void> {
    await this.db(T).where({ id, locked_by: worker }).update({ driver_task: task, updated_at: new Date() });
  }

  async finish(id: number, status: 'succeeded' | 'failed', error: { code: string; message: string } | null = null, db: Knex = this.db): Promise<void> {
    const now = new Date();
    await db(T).where({ id }).update({
      status, error_code: error?.code ?? null, error_message: error?.message?.slice(0, 1000) ?? null,
      locked_by: null, locked_until: null, finished_at: now, updated_at: now,
    });
  }

  /** Puts a running operation back in the queue (kept driver task: the next worker resumes polling it). */
  async requeue(id: number, runAfter: Date, error: { code: string; message: string } | null = null, resetTask = false, worker?: string): Promise<void> {
    const row: Record<string, unknown> = {
      status: 'queued', locked_by: null, locked_until: null, run_after: runAfter, updated_at: new Date(),
      error_code: error?.code ?? null, error_message: error?.message?.slice(0, 1000) ?? null,
    };
    if (resetTask) row.driver_task = null;
    // A worker that lost its lease must not put back an operation another worker now runs.
    const q = this.db(T).where({ id, status: 'running' });
    if (worker) q.where({ locked_by: worker });
    await q.update(row);
  }

  /** Cancels queued operations of a service (termination supersedes them). */
  async failQueued(serviceId: string, code: string, db: Knex = this.db): Promise<number[]> {
    const rows = await db(T).where({ service_id: serviceId, status: 'queued' }).select('id', 'snapshot_id', 'kind');
    if (rows.length) await db(T).whereIn('id', rows.map((r) => r.id)).update({ status: 'failed', error_code: code, finished_at: new Date(), updated_at: new Date() });
    return rows.map((r) => Number(r.id));
  }
}
