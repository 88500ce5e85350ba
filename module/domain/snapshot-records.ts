import type { Knex } from 'knex';
import type { NewAuditEvent } from '../db/audit-repo.js';
import type { NewOperation } from '../db/operations-repo.js';
import type { ActionContext, DomainDeps } from './deps.js';
import { ValidationError } from './errors.js';
import type { PanelService, Snapshot } from './types.js';

export type AuditExtra = { fromStatus?: string; toStatus?: string; code?: string; details?: Record<string, unknown> };
export type AuditResult = 'ok' | 'refused' | 'failed';

type SnapshotOperationKind = 'create' | 'delete' | 'restore';

/** An operation on `snapshotId` for the service's hypervisor, as `ctx`'s actor asks for it. */
export function newOperation(service: PanelService, snapshotId: number, kind: SnapshotOperationKind, ctx: ActionContext,
  payload: Record<string, unknown> = {}): NewOperation {
  return { serviceId: service.id, snapshotId, kind, target: service.target, payload, origin: ctx.actor.type, requestedBy: ctx.actor.id ?? null };
}

/** Queues an operation on `snapshotId` for the service's hypervisor, inside the caller's transaction. */
export function enqueueOperation(deps: DomainDeps, trx: Knex.Transaction, service: PanelService, snapshotId: number,
  kind: SnapshotOperationKind, ctx: ActionContext, payload: Record<string, unknown> = {}): Promise<number> {
  return deps.repos.operations.insert(newOperation(service, snapshotId, kind, ctx, payload), trx);
}

/** The audit event of a snapshot action by `ctx`'s actor. */
export function auditEvent(ctx: ActionContext, service: PanelService, action: string, result: AuditResult, s: Snapshot | null,
  extra: AuditExtra = {}): NewAuditEvent {
  return { actor: ctx.actor, ip: ctx.ip, serviceId: service.id, snapshotId: s?.id ?? null, snapshotName: s?.name ?? null, action, result, ...extra };
}

/**
 * Audits a refused action with its error's code; an error without one (a bug) is not the customer's
 * doing. Invalid input is recorded by its field's own code (`service_name_mismatch`), not by
 * `validation_failed`, whose message ("correct the highlighted fields") means nothing in a log; every
 * field's code is kept in the details.
 */
export async function recordRefusal(deps: DomainDeps, ctx: ActionContext, service: PanelService, action: string, err: unknown,
  snapshotId?: number | null, details?: Record<string, unknown>): Promise<void> {
  let code = (err as { code?: string }).code;
  if (!code || typeof code !== 'string') return;
  let extra = details ?? null;
  if (err instanceof ValidationError) {
    const fields = Object.fromEntries(Object.entries(err.fields).map(([field, f]) => [field, f.code]));
    code = Object.values(fields)[0] ?? code;
    extra = { ...extra, fields };
  }
  await deps.repos.audit.record({
    actor: ctx.actor, ip: ctx.ip, serviceId: service.id, snapshotId: snapshotId ?? null, action, result: 'refused', code, details: extra,
  }).catch(() => undefined);
}

/** Runs an action and audits its refusal (recordRefusal) before rethrowing: one path for every action. */
export async function withRefusalAudit<T>(deps: DomainDeps, ctx: ActionContext, service: PanelService, action: string, fn: () => Promise<T>,
  snapshotId?: number | null, details?: Record<string, unknown>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    await recordRefusal(deps, ctx, service, action, err, snapshotId, details);
    throw err;
  }
}

/**
 * Retention's move, inside the caller's transaction: each snapshot still active and unpinned goes to
 * `deleting` with its delete queued (one pinned or changed meanwhile is skipped). Returns the audit
 * events of those moved, for the caller to record with its own.
 */
export async function rotateOut(deps: DomainDeps, trx: Knex.Transaction, service: PanelService, snapshots: Snapshot[], ctx: ActionContext): Promise<NewAuditEvent[]> {
  const events: NewAuditEvent[] = [];
  for (const s of snapshots) {
    if (!(await deps.repos.snapshots.rotateOut(s.id, trx))) continue;
    await enqueueOperation(deps, trx, service, s.id, 'delete', ctx);
    events.push(auditEvent(ctx, service, 'snapshot.rotate', 'ok', s, { fromStatus: 'active', toStatus: 'deleting' }));
  }
  return events;
}
