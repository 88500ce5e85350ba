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
   * Claims a due operation that is the oldest queued one of a service with nothing running, for `worker` until the
   * lease ends. At most one operation per service, and `perNode` per hypervisor node, run at a time
   * across every worker process. `worker` must be unique per claim (the runner appends a counter).
   */
  async claimNext(worker: string, leaseMs: number, perNode: number, now = new Date()): Promise<Operation | null> {
    const until = new Date(now.getTime() + leaseMs);
    if (!isMysql(this.db)) {
      // One statement is atomic in SQLite, even between processes sharing the file.
      await this.db.raw(
        `UPDATE ${T} SET status = 'running', locked_by = ?, locked_until = ?, attempts = attempts + 1,
           started_at = COALESCE(started_at, ?), updated_at = ?
         WHERE id = (SELECT o.id FROM ${T} o WHERE o.status = 'queued' AND o.run_after <= ?
           AND NOT EXISTS (SELECT 1 FROM ${T} r WHERE r.service_id = o.service_id AND r.status = 'running')
           AND NOT EXISTS (SELECT 1 FROM ${T} q WHERE q.service_id = o.service_id AND q.status = 'queued' AND q.id < o.id)
           AND (SELECT COUNT(*) FROM ${T} n WHERE n.driver = o.driver AND n.node = o.node AND n.status = 'running') < ?
           ORDER BY o.id LIMIT 1)`,
        [worker, until.getTime(), now.getTime(), now.getTime(), now.getTime(), perNode],
      );
      // `worker` is a token unique to this claim, so the row carrying it is the one just claimed.
      const row = await this.db(T).where({ locked_by: worker, status: 'running' }).first();
      return row ? fromRow(row) : null;
    }
    const candidates = await this.db(T).where({ status: 'queued' }).where('run_after', '<=', now)
      .whereNotExists(function () {
        this.select(1).from(`${T} as r`).whereRaw(`r.service_id = ${T}.service_id`).where('r.status', 'running');
      })
      .whereNotExists(function () {
        this.select(1).from(`${T} as q`).whereRaw(`q.service_id = ${T}.service_id AND q.id < ${T}.id`).where('q.status', 'queued');
      })
      .whereRaw(`(SELECT COUNT(*) FROM ${T} n WHERE n.driver = ${T}.driver AND n.node = ${T}.node AND n.status = 'running') < ?`, [perNode])
      .orderBy('id').limit(8).select('id', 'service_id', 'driver', 'node');
    for (const c of candidates) {
      const nodeKey = `${c.driver}/${c.node}`;
      await this.db('snapshot_nodes').insert({ node_key: nodeKey }).onConflict('node_key').ignore();
      const claimed = await this.db.transaction(async (trx) => {
        // Lock order: node, then service. The node row makes the per-node count exact; SKIP LOCKED on
        // the service row lets a worker move on while a create holds that service.
        await trx('snapshot_nodes').where({ node_key: nodeKey }).forUpdate().first();
        const lock = await trx('snapshot_services').where({ service_id: c.service_id }).forUpdate().skipLocked().first();
        if (!lock) return false;
        const running = await trx(T).where({ service_id: c.service_id, status: 'running' }).first('id');
        if (running) return false;
        // Strictly in order per service: an older operation (even one waiting out a retry backoff)
        // goes first, or a restore could overtake the safety snapshot queued before it.
        const older = await trx(T).where({ service_id: c.service_id, status: 'queued' }).where('id', '<', c.id).first('id');
        if (older) return false;
        const onNode = await trx(T).where({ driver: c.driver, node: c.node, status: 'running' }).count({ n: '*' }).first();
        if (Number(onNode?.n ?? 0) >= perNode) return false;
        // Stamped now, under the lock: the previous operation of the service has finished by then.
        const at = new Date();
        const n = await trx(T).where({ id: c.id, status: 'queued' }).update({
          status: 'running', locked_by: worker, locked_until: new Date(at.getTime() + leaseMs), attempts: trx.raw('attempts + 1'),
          started_at: trx.raw('COALESCE(started_at, ?)', [at]), updated_at: at,
        });
        return Number(n) === 1;
      });
      if (claimed) return this.get(Number(c.id));
    }
    return null;
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
  async requeue(id: number, runAfter: Date, error: { code: string; message: string } | null = null, resetTask = false): Promise<void> {
    const row: Record<string, unknown> = {
      status: 'queued', locked_by: null, locked_until: null, run_after: runAfter, updated_at: new Date(),
      error_code: error?.code ?? null, error_message: error?.message?.slice(0, 1000) ?? null,
    };
    if (resetTask) row.driver_task = null;
    await this.db(T).where({ id, status: 'running' }).update(row);
  }

  /** Running operations whose worker died (lease ended) go back to the queue to be resumed. */
  async recoverExpired(now = new Date()): Promise<number> {
    return Number(await this.db(T).where({ status: 'running' }).where('locked_until', '<', now)
      .update({ status: 'queued', locked_by: null, locked_until: null, updated_at: now }));
  }

  /** Cancels queued operations of a service (termination supersedes them). */
  async failQueued(serviceId: string, code: string, db: Knex = this.db): Promise<number[]> {
    const rows = await db(T).where({ service_id: serviceId, status: 'queued' }).select('id', 'snapshot_id', 'kind');
    if (rows.length) await db(T).whereIn('id', rows.map((r) => r.id)).update({ status: 'failed', error_code: code, finished_at: new Date(), updated_at: new Date() });
    return rows.map((r) => Number(r.id));
  }
}
