import type { Knex } from 'knex';
import type { Operation } from '../domain/types.js';
import { MysqlHeadClaims } from './operation-claim-batch.js';
import { claimed, nodeBusy, notDue, OPERATIONS as T, type ClaimRequest, type ClaimResult } from './operation-head.js';
import { TurnBatcher, type Waiting } from '../domain/turn-batcher.js';
import { isMysql } from './values.js';

export type { ClaimRequest, ClaimResult } from './operation-head.js';

interface PendingClaim extends Waiting<ClaimResult> {
  r: ClaimRequest;
}

/**
 * Claims the head (oldest unfinished operation) of a service, if it may run now: queued with its
 * backoff over, or running under a lease that expired with its worker; and its hypervisor node runs
 * fewer than `perNode` operations under live leases. Strict order per service follows from only
 * ever claiming the head: a restore never overtakes the safety snapshot queued before it.
 *
 * On MySQL/MariaDB the claims made in one event-loop turn (Agenda starting many services' jobs at
 * once, in a rush) share one transaction (see MysqlHeadClaims). SQLite has one writer: each claim is
 * one statement of its own.
 */
export class OperationClaims {
  private readonly batcher: TurnBatcher<PendingClaim> | null;

  constructor(private readonly db: Knex, private readonly read: (row: Record<string, unknown>) => Operation) {
    const mysql = isMysql(db) ? new MysqlHeadClaims(db, read) : null;
    this.batcher = mysql && new TurnBatcher(async (batch) => {
      const results = await mysql.claimMany(batch.map((p) => p.r));
      batch.forEach((p, i) => p.resolve(results[i]!));
    });
  }

  claimHead(r: ClaimRequest): Promise<ClaimResult> {
    const batcher = this.batcher;
    if (!batcher) return this.claimSqlite(r);
    return new Promise((resolve, reject) => batcher.add({ r, resolve, reject }));
  }

  private async claimSqlite(r: ClaimRequest): Promise<ClaimResult> {
    const unfinished = (q: Knex.QueryBuilder) => q.where({ service_id: r.serviceId }).whereIn('status', ['queued', 'running']);
    const backlog = unfinished(this.db(T)).count('*');
    const row = await unfinished(this.db(T)).orderBy('id').first('*', backlog.as('backlog'));
    if (!row) return { kind: 'idle' };
    const head = this.read(row);
    const n = Number(row.backlog);
    const waiting = notDue(head, new Date());
    if (waiting) return waiting;
    // One statement is atomic in SQLite, even between processes sharing the file.
    const now = Date.now();
    const changed = await this.db.raw(
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
    return Number((changed as { changes?: number }).changes ?? 0) === 1 ? claimed(head, r, new Date(now), { backlog: n }) : nodeBusy(head, n);
  }
}
