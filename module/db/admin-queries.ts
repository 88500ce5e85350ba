import type { Knex } from 'knex';
import type { SnapshotStatus } from '../domain/status.js';
import type { AuditEvent, Operation, OperationKind, OperationStatus, Snapshot } from '../domain/types.js';
import { fromRow as auditFromRow } from './audit-repo.js';
import { fromRow as operationFromRow } from './operations-repo.js';
import { fromRow as snapshotFromRow } from './snapshots-repo.js';
import { toDateOrNull } from './values.js';

export interface Page {
  offset: number;
  limit: number;
}

export interface Paged<T> {
  rows: T[];
  total: number;
}

/** Problems an admin looks for; `stuck` means in progress and untouched for longer than `stuckBefore`. */
export type Problem = 'errors' | 'unmanaged' | 'stuck';

export interface SnapshotFilter {
  status?: SnapshotStatus;
  problem?: Problem;
  serviceId?: string;
  customerId?: string;
  stuckBefore: Date;
}

export interface OperationFilter {
  status?: OperationStatus;
  kind?: OperationKind;
  problem?: Exclude<Problem, 'unmanaged'>;
  serviceId?: string;
  customerId?: string;
  stuckBefore: Date;
}

export interface AuditFilter {
  serviceId?: string;
  actorId?: string;
  actorType?: string;
  /** Matches the action itself or any action under it ('admin' matches 'admin.adopt'). */
  action?: string;
  from?: Date;
  to?: Date;
}

export interface OperationStats {
  queued: number;
  running: number;
  failed: number;
  succeeded: number;
  oldestQueuedAt: Date | null;
}

/** Read-only queries of the admin browser and audit log: filters, a total and one page. */
export class AdminQueries {
  constructor(private readonly db: Knex) {}

  async snapshots(f: SnapshotFilter, page: Page): Promise<Paged<Snapshot>> {
    const q = this.db('snapshot_snapshots');
    if (f.status) q.where({ status: f.status });
    if (f.problem === 'errors') q.whereIn('status', ['error', 'failed']);
    if (f.problem === 'unmanaged') q.where({ status: 'unmanaged' });
    if (f.problem === 'stuck') q.whereIn('status', ['creating', 'restoring', 'deleting']).where('updated_at', '<', f.stuckBefore);
    this.byServiceOrCustomer(q, f);
    return this.paged(q, page, snapshotFromRow);
  }

  async operations(f: OperationFilter, page: Page): Promise<Paged<Operation>> {
    const q = this.db('snapshot_operations');
    if (f.status) q.where({ status: f.status });
    if (f.kind) q.where({ kind: f.kind });
    if (f.problem === 'errors') q.where({ status: 'failed' });
    if (f.problem === 'stuck') {
      q.where((w) => w.where((r) => r.where({ status: 'running' }).where('started_at', '<', f.stuckBefore))
        .orWhere((r) => r.where({ status: 'queued' }).where('run_after', '<', f.stuckBefore)));
    }
    this.byServiceOrCustomer(q, f);
    return this.paged(q, page, operationFromRow);
  }

  async audit(f: AuditFilter, page: Page): Promise<Paged<AuditEvent>> {
    const q = this.db('snapshot_audit_events');
    if (f.serviceId) q.where({ service_id: f.serviceId });
    if (f.actorId) q.where({ actor_id: f.actorId });
    if (f.actorType) q.where({ actor_type: f.actorType });
    if (f.action) q.where((w) => w.where({ action: f.action }).orWhereRaw("action LIKE ? ESCAPE '!'", [`${escapeLike(f.action!)}.%`]));
    if (f.from) q.where('occurred_at', '>=', f.from);
    if (f.to) q.where('occurred_at', '<', f.to);
    return this.paged(q, page, auditFromRow);
  }

  /** Counts of the operation queue for the scheduler health page. */
  async operationStats(): Promise<OperationStats> {
    const rows: { status: string; n: unknown }[] = await this.db('snapshot_operations').select('status').count({ n: '*' }).groupBy('status');
    const count = (s: string) => Number(rows.find((r) => r.status === s)?.n ?? 0);
    const oldest = await this.db('snapshot_operations').where({ status: 'queued' }).min({ at: 'run_after' }).first();
    return { queued: count('queued'), running: count('running'), failed: count('failed'), succeeded: count('succeeded'), oldestQueuedAt: toDateOrNull(oldest?.at) };
  }

  /** Names of these snapshots (for pages that list operations by snapshot id). */
  async snapshotNames(ids: number[]): Promise<Map<number, string>> {
    const unique = [...new Set(ids)];
    if (!unique.length) return new Map();
    const rows: { id: unknown; name: string }[] = await this.db('snapshot_snapshots').whereIn('id', unique).select('id', 'name');
    return new Map(rows.map((r) => [Number(r.id), r.name]));
  }

  private byServiceOrCustomer(q: Knex.QueryBuilder, f: { serviceId?: string; customerId?: string }): void {
    if (f.serviceId) q.where('service_id', f.serviceId);
    if (f.customerId) q.whereIn('service_id', this.db('snapshot_services').where({ owner_id: f.customerId }).select('service_id'));
  }

  private async paged<T>(q: Knex.QueryBuilder, page: Page, map: (r: Record<string, unknown>) => T): Promise<Paged<T>> {
    const counted = await q.clone().clearSelect().clearOrder().count({ n: '*' }).first();
    const rows = await q.clone().select('*').orderBy('id', 'desc').limit(page.limit).offset(page.offset);
    return { rows: rows.map(map), total: Number((counted as { n?: unknown } | undefined)?.n ?? 0) };
  }
}

/** '!' as LIKE's escape character: the one spelling SQLite and MySQL read the same way. */
function escapeLike(s: string): string {
  return s.replace(/[!%_]/g, (c) => `!${c}`);
}
