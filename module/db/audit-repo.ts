import type { Knex } from 'knex';
import type { AuditActor, AuditEvent } from '../domain/types.js';
import { parseJson, toDate, toNumberOrNull } from './values.js';

const T = 'snapshot_audit_events';

export interface NewAuditEvent {
  actor: AuditActor;
  serviceId: string | null;
  snapshotId?: number | null;
  snapshotName?: string | null;
  action: string;
  result: AuditEvent['result'];
  fromStatus?: string | null;
  toStatus?: string | null;
  code?: string | null;
  details?: Record<string, unknown> | null;
  ip?: string | null;
}

/** Maps a stored row (also for the admin audit page's own query). */
export function fromRow(r: Record<string, unknown>): AuditEvent {
  return {
    id: Number(r.id),
    occurredAt: toDate(r.occurred_at),
    actorType: r.actor_type as AuditEvent['actorType'],
    actorId: (r.actor_id as string | null) ?? null,
    serviceId: (r.service_id as string | null) ?? null,
    snapshotId: toNumberOrNull(r.snapshot_id),
    snapshotName: (r.snapshot_name as string | null) ?? null,
    action: String(r.action),
    result: r.result as AuditEvent['result'],
    fromStatus: (r.from_status as string | null) ?? null,
    toStatus: (r.to_status as string | null) ?? null,
    code: (r.code as string | null) ?? null,
    details: parseJson<Record<string, unknown> | null>(r.details, null),
    ip: (r.ip as string | null) ?? null,
  };
}

/** The append-only audit log: every action with who, when, on what, and how it ended. */
export class AuditRepo {
  constructor(private readonly db: Knex) {}

  /** Appends one event, or several in one statement (a scheduled run's and its snapshot's). */
  async record(events: NewAuditEvent | NewAuditEvent[], db: Knex = this.db): Promise<void> {
    const list = Array.isArray(events) ? events : [events];
    if (!list.length) return;
    const at = new Date();
    await db(T).insert(list.map((e) => ({
      occurred_at: at,
      actor_type: e.actor.type,
      actor_id: e.actor.id ?? null,
      service_id: e.serviceId,
      snapshot_id: e.snapshotId ?? null,
      snapshot_name: e.snapshotName ?? null,
      action: e.action,
      result: e.result,
      from_status: e.fromStatus ?? null,
      to_status: e.toStatus ?? null,
      code: e.code ?? null,
      details: e.details ? JSON.stringify(e.details) : null,
      ip: e.ip ?? null,
    })));
  }

  async list(filter: { serviceId?: string; action?: string; limit?: number; beforeId?: number } = {}, db: Knex = this.db): Promise<AuditEvent[]> {
    const q = db(T).orderBy('id', 'desc').limit(Math.min(filter.limit ?? 100, 500));
    if (filter.serviceId) q.where({ service_id: filter.serviceId });
    if (filter.action) q.where({ action: filter.action });
    if (filter.beforeId) q.where('id', '<', filter.beforeId);
    return (await q).map(fromRow);
  }
}
