import type { Knex } from 'knex';
import type { Operation } from '../domain/types.js';
import { isMysql } from './values.js';

const T = 'snapshot_operations';

/** What a claim attempt found: the operation, a reason to look again later, or nothing left to do. */
export type ClaimResult =
  | { kind: 'claimed'; op: Operation }
  | { kind: 'wait'; reason: 'backoff' | 'held' | 'node_busy'; retryAt: Date | null; node?: string }
  | { kind: 'idle' };

export interface ClaimRequest {
  serviceId: string;
  /** Unique per claim (the runner appends a counter): the lease holder's name. */
  worker: string;
  leaseMs: number;
  /** Operations running at once on one hypervisor node, across every worker process. */
  perNode: number;
}

/** Why the head may not run yet, judged from the row as read. */
function notDue(head: Operation, now: Date): ClaimResult | null {
  if (head.status === 'queued' && head.runAfter > now) return { kind: 'wait', reason: 'backoff', retryAt: head.runAfter };
  if (head.status === 'running' && head.lockedUntil && head.lockedUntil >= now) return { kind: 'wait', reason: 'held', retryAt: head.lockedUntil };
  return null;
}

/**
 * Claims the head (oldest unfinished operation) of a service, if it may run now: queued with its
 * backoff over, or running under a lease that expired with its worker; and its hypervisor node runs
 * fewer than `perNode` operations under live leases. Strict order per service follows from only
 * ever claiming the head: a restore never overtakes the safety snapshot queued before it.
 */
export class OperationClaims {
  /** Node rows known to exist: inserting one is needed once per node, not once per claim. */
  private readonly nodes = new Set<string>();

  constructor(private readonly db: Knex, private readonly read: (row: Record<string, unknown>) => Operation) {}

  async claimHead(r: ClaimRequest): Promise<ClaimResult> {
    const row = await this.headRow(this.db, r.serviceId);
    if (!row) return { kind: 'idle' };
    const head = this.read(row);
    const waiting = notDue(head, new Date());
    if (waiting) return waiting;
    const at = isMysql(this.db) ? await this.claimMysql(head, r) : await this.claimSqlite(head, r);
    if (!at) return { kind: 'wait', reason: 'node_busy', retryAt: null, node: `${head.target.driver}/${head.target.node}` };
    return {
      kind: 'claimed',
      op: { ...head, status: 'running', lockedBy: r.worker, lockedUntil: new Date(at.getTime() + r.leaseMs), attempts: head.attempts + 1, startedAt: head.startedAt ?? at },
    };
  }

  private headRow(db: Knex, serviceId: string, ...extra: Knex.QueryBuilder[]): Promise<Record<string, unknown> | undefined> {
    return db(T).where({ service_id: serviceId }).whereIn('status', ['queued', 'running']).orderBy('id').first(`${T}.*`, ...extra);
  }

  /** One statement is atomic in SQLite, even between processes sharing the file. */
  private async claimSqlite(head: Operation, r: ClaimRequest): Promise<Date | null> {
    const now = Date.now();
    const n = await this.db.raw(
      `UPDATE ${T} SET status = 'running', locked_by = ?, locked_until = ?, attempts = attempts + 1,
         started_at = COALESCE(started_at, ?), updated_at = ?
       WHERE id = ? AND (
         (status = 'queued' AND run_after <= ?) OR (status = 'running' AND locked_until < ?))
         AND NOT EXISTS (SELECT 1 FROM ${T} o WHERE o.service_id = ${T}.service_id AND o.id < ${T}.id
           AND o.status IN ('queued', 'running'))
         AND (SELECT COUNT(*) FROM ${T} n WHERE n.driver = ${T}.driver AND n.node = ${T}.node AND n.id <> ${T}.id
           AND n.status = 'running' AND n.locked_until >= ?) < ?`,
      [r.worker, now + r.leaseMs, now, now, head.id, now, now, now, r.perNode],
    );
    return Number((n as { changes?: number }).changes ?? 0) === 1 ? new Date(now) : null;
  }

  private async claimMysql(head: Operation, r: ClaimRequest): Promise<Date | null> {
    const nodeKey = `${head.target.driver}/${head.target.node}`;
    if (!this.nodes.has(nodeKey)) {
      await this.db('snapshot_nodes').insert({ node_key: nodeKey }).onConflict('node_key').ignore();
      this.nodes.add(nodeKey);
    }
    return this.db.transaction(async (trx) => {
      // Lock order: node, then service, before the first plain read, so that read (the transaction's
      // snapshot) already sees every claim committed on the node. SKIP LOCKED on the service row lets
      // the worker look again later while a create holds that service.
      await trx('snapshot_nodes').where({ node_key: nodeKey }).forUpdate().first();
      const lock = await trx('snapshot_services').where({ service_id: r.serviceId }).forUpdate().skipLocked().first('service_id');
      if (!lock) return null;
      const at = new Date();
      // Still the head, still due, still on that node (the read outside the locks may be stale), and
      // the node's live leases besides it, in one read.
      const onNode = trx(`${T} as n`).where({ 'n.driver': head.target.driver, 'n.node': head.target.node, 'n.status': 'running' })
        .whereNot('n.id', head.id).where('n.locked_until', '>=', at).count('*');
      const now = await this.headRow(trx, r.serviceId, onNode.as('on_node'));
      const current = now && this.read(now);
      if (!current || current.id !== head.id || notDue(current, at) || current.target.node !== head.target.node || current.target.driver !== head.target.driver) return null;
      if (Number(now.on_node ?? 0) >= r.perNode) return null;
      // Due again in the UPDATE itself (InnoDB's current read): a holder whose lease just ran out may
      // have committed its outcome after this transaction's snapshot was taken.
      const n = await trx(T).where({ id: head.id }).where((due) => due
        .where((q) => q.where({ status: 'queued' }).where('run_after', '<=', at))
        .orWhere((q) => q.where({ status: 'running' }).where('locked_until', '<', at)))
        .update({
          status: 'running', locked_by: r.worker, locked_until: new Date(at.getTime() + r.leaseMs), attempts: trx.raw('attempts + 1'),
          started_at: trx.raw('COALESCE(started_at, ?)', [at]), updated_at: at,
        });
      return Number(n) === 1 ? at : null;
    });
  }
}
