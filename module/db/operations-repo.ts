import type { Knex } from 'knex';
import type { HypervisorTarget } from '../drivers/contract.js';
import type { Operation, OperationKind, OperationStatus } from '../domain/types.js';
import { PreparedQuery } from './prepared-query.js';
import { OperationClaims, type ClaimRequest, type ClaimResult } from './operation-claim.js';
import { byId, insertedId, isMysql, parseJson, toDate, toDateOrNull, toNumberOrNull } from './values.js';

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
    target: {
      driver: String(r.driver), node: String(r.node), vmId: String(r.vm_id),
      ...(r.guest_type === 'qemu' || r.guest_type === 'lxc' ? { guestType: r.guest_type } : {}),
    },
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

function newOperationRow(op: NewOperation, now: Date): Record<string, unknown> {
  return {
    service_id: op.serviceId, snapshot_id: op.snapshotId, kind: op.kind, status: 'queued', attempts: 0,
    driver: op.target.driver, node: op.target.node, vm_id: op.target.vmId, guest_type: op.target.guestType ?? null,
    payload: JSON.stringify(op.payload ?? {}), origin: op.origin, requested_by: op.requestedBy,
    run_after: now, created_at: now, updated_at: now,
  };
}

export class OperationsRepo {
  private readonly claims: OperationClaims;
  /** A service's unfinished operations: a service job's last look before it goes, once per drained queue. */
  private readonly pending: PreparedQuery<'serviceId'>;

  constructor(private readonly db: Knex) {
    this.claims = new OperationClaims(db, fromRow);
    this.pending = new PreparedQuery(db, (param) => db(T).where({ service_id: param('serviceId') }).whereIn('status', ['queued', 'running']).orderBy('id'));
  }

  async insert(op: NewOperation, db: Knex = this.db): Promise<number> {
    return insertedId(await db(T).insert(newOperationRow(op, new Date())));
  }

  /** Several operations in one statement (a batch of scheduled runs: one create each). */
  async insertMany(ops: NewOperation[], db: Knex = this.db): Promise<void> {
    const now = new Date();
    if (ops.length) await db(T).insert(ops.map((op) => newOperationRow(op, now)));
  }

  async get(id: number): Promise<Operation | null> {
    const row = await this.db(T).where({ id }).first();
    return row ? fromRow(row) : null;
  }

  /** Queued and running operations of a service, oldest first (what the page shows as queued). */
  async pendingForService(serviceId: string, db: Knex = this.db): Promise<Operation[]> {
    return (await this.pending.rows({ serviceId }, db)).map(fromRow);
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

  /** Claims the head operation of a service when it may run now (see OperationClaims). */
  claimHead(request: ClaimRequest): Promise<ClaimResult> {
    return this.claims.claimHead(request);
  }

  /** Services with an unfinished operation: each needs its operations job. */
  async servicesWithWork(): Promise<string[]> {
    const rows: Array<{ service_id: string }> = await this.db(T).whereIn('status', ['queued', 'running']).distinct('service_id');
    return rows.map((r) => String(r.service_id));
  }

  /** Keeps a long operation's lease alive; false when the lease was lost to another worker. */
  async extendLease(id: number, worker: string, leaseMs: number): Promise<boolean> {
    const n = await this.db(T).where({ id, locked_by: worker, status: 'running' })
      .update({ locked_until: new Date(Date.now() + leaseMs), updated_at: new Date() });
    return Number(n) === 1;
  }

  /** Stores the running task's reference; false when the lease was lost (the task is then not ours to resume). */
  async setDriverTask(id: number, worker: string, task: string | null): Promise<boolean> {
    const n = await this.db(T).where({ id, locked_by: worker, status: 'running' }).update({ driver_task: task, updated_at: new Date() });
    return Number(n) === 1;
  }

  /**
   * Ends an operation, if the claim `holder` (its `locked_by`) still runs it; false otherwise: a worker
   * whose lease ran out, and was taken over, must not write its outcome over the new holder's work.
   * `driverTask`, when given, is recorded with it (a task over before it was stored).
   */
  async finish(id: number, holder: string | null, status: 'succeeded' | 'failed', error: { code: string; message: string } | null = null,
    db: Knex = this.db, driverTask?: string | null): Promise<boolean> {
    const now = new Date();
    const n = await db(T).where({ id, status: 'running', locked_by: holder }).update({
      status, error_code: error?.code ?? null, error_message: error?.message?.slice(0, 1000) ?? null,
      locked_by: null, locked_until: null, finished_at: now, updated_at: now, ...(driverTask ? { driver_task: driverTask } : {}),
    });
    return Number(n) === 1;
  }

  /**
   * finish(…, 'succeeded') for several operations in one statement, each only where its own claim
   * holder still runs it (the `(id, locked_by)` pairs; `id IN` keeps it on the primary key). Returns how
   * many were finished: fewer than given means some lease was lost, and the caller rolls back.
   */
  async succeedMany(list: Array<{ id: number; holder: string; driverTask: string | null }>, db: Knex): Promise<number> {
    const now = new Date();
    const tasks = list.filter((o) => o.driverTask);
    const row: Record<string, unknown> = {
      status: 'succeeded', error_code: null, error_message: null, locked_by: null, locked_until: null, finished_at: now, updated_at: now,
    };
    if (tasks.length) row.driver_task = byId(db, 'driver_task', tasks.map((o) => [o.id, o.driverTask]));
    const n = await db(T).whereIn('id', list.map((o) => o.id)).where({ status: 'running' })
      .whereIn(['id', 'locked_by'], list.map((o) => [o.id, o.holder])).update(row);
    return Number(n);
  }

  /**
   * Puts a running operation back in the queue (kept driver task: the next worker resumes polling it),
   * if the claim `holder` still runs it: a worker that lost its lease must not put back an operation
   * another worker now runs.
   */
  async requeue(id: number, holder: string, runAfter: Date, error: { code: string; message: string } | null = null, resetTask = false): Promise<void> {
    const row: Record<string, unknown> = {
      status: 'queued', locked_by: null, locked_until: null, run_after: runAfter, updated_at: new Date(),
      error_code: error?.code ?? null, error_message: error?.message?.slice(0, 1000) ?? null,
    };
    if (resetTask) row.driver_task = null;
    await this.db(T).where({ id, status: 'running', locked_by: holder }).update(row);
  }

  /**
   * Cancels the queued operations of a service (termination supersedes them) and returns them. The
   * rows are locked as they are read (MariaDB), so a worker claiming one at the same moment either
   * claimed it first (it is running, not returned) or waits and finds it failed.
   */
  /** Fails one operation if it is still queued (a worker's claim, once made, is never overwritten). */
  async failIfQueued(id: number, code: string, db: Knex = this.db): Promise<boolean> {
    const n = await db(T).where({ id, status: 'queued' }).update({ status: 'failed', error_code: code, finished_at: new Date(), updated_at: new Date() });
    return Number(n) === 1;
  }

  async failQueued(serviceId: string, code: string, db: Knex = this.db): Promise<Array<{ id: number; snapshotId: number | null; kind: OperationKind }>> {
    const q = db(T).where({ service_id: serviceId, status: 'queued' }).select('id', 'snapshot_id', 'kind');
    const rows: Array<Record<string, unknown>> = await (isMysql(db) ? q.forUpdate() : q);
    if (rows.length) {
      await db(T).whereIn('id', rows.map((r) => Number(r.id))).where({ status: 'queued' })
        .update({ status: 'failed', error_code: code, finished_at: new Date(), updated_at: new Date() });
    }
    return rows.map((r) => ({ id: Number(r.id), snapshotId: toNumberOrNull(r.snapshot_id), kind: r.kind as OperationKind }));
  }
}
