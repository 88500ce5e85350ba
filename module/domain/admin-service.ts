import type { Knex } from 'knex';
import type { ActionContext, DomainDeps } from './deps.js';
import { ConflictError, NotFoundError, QuotaExceededError, UnavailableError } from './errors.js';
import { normalizeSnapshotName } from './names.js';
import { auditEvent, enqueueOperation, withRefusalAudit, type AuditExtra } from './snapshot-records.js';
import { canTransition, occupiesStorage } from './status.js';
import type { Operation, PanelService, Snapshot } from './types.js';

/** What an operation kind moves its snapshot to while it runs; restores are not retried (see retryOperation). */
const RETRY_STATUS = { create: 'creating', delete: 'deleting' } as const;

export interface AdoptInput {
  /** A display name for the adopted snapshot; empty keeps the current one. */
  name?: unknown;
  /** Adopt although the service is over its limit (the admin saw the warning). */
  allowOverLimit?: boolean;
}

/**
 * An admin's repairs of what reconcile and failed operations leave behind:
 * retry, adopt, delete unmanaged, force-remove a vanished record. Each checks the snapshot is still
 * in the state the admin saw, acts in one transaction, and is audited with the admin as actor.
 */
export class AdminSnapshotService {
  constructor(private readonly deps: DomainDeps) {}

  /** Whether `op` may be retried: see retryOperation. Pure apart from the reads, for the browser's buttons. */
  async retryBlocker(service: PanelService, op: Operation): Promise<string | null> {
    if (op.status !== 'failed' || op.serviceId !== service.id || op.snapshotId === null) return 'operation_not_retryable';
    // A failed clone is the panel's to order again: it left nothing behind and its reference is used.
    if (op.kind === 'restore' || op.kind === 'clone') return 'operation_not_retryable';
    if (service.status === 'terminated') return 'service_terminated';
    const s = await this.deps.repos.snapshots.get(op.snapshotId);
    if (!s || s.serviceId !== service.id) return 'operation_not_retryable';
    const latest = await this.deps.repos.operations.latestForSnapshot(s.id);
    if (latest?.id !== op.id || !canTransition(s.status, RETRY_STATUS[op.kind as keyof typeof RETRY_STATUS])) return 'operation_not_retryable';
    return null;
  }

  /**
   * Re-queues a failed create or delete as a new operation (the failed one stays in the history),
   * moving its snapshot back to creating/deleting. A create that left nothing behind takes a slot
   * again, so the quota is checked under the service lock as for any create. Restores are never
   * retried by an admin: rolling back later than the customer asked would discard what they wrote
   * since; the customer restores again if they still want to.
   */
  async retryOperation(service: PanelService, operationId: number, ctx: ActionContext): Promise<{ operationId: number }> {
    const op = await this.deps.repos.operations.get(operationId);
    if (!op || op.serviceId !== service.id) throw new NotFoundError('operation');
    return withRefusalAudit(this.deps, ctx, service, 'admin.retry', async () => {
      const blocker = await this.retryBlocker(service, op);
      if (blocker) throw new ConflictError(blocker);
      const kind = op.kind as keyof typeof RETRY_STATUS;
      await this.deps.repos.services.ensure(service.id, service.planId);
      const limits = await this.deps.limits.forService(service.id, service.planId);
      const { snapshot, newId } = await this.deps.transaction(async (trx) => {
        await this.deps.repos.services.lock(trx, service.id);
        const s = await this.deps.repos.snapshots.get(op.snapshotId!, trx);
        const latest = await this.deps.repos.operations.latestForSnapshot(op.snapshotId!, trx);
        if (!s || latest?.id !== op.id || !canTransition(s.status, RETRY_STATUS[kind])) throw new ConflictError('snapshot_changed');
        if (!occupiesStorage(s.status)) {
          const used = await this.deps.repos.snapshots.countOccupying(service.id, trx);
          if (used >= limits.maxSnapshots) throw new QuotaExceededError({ limit: limits.maxSnapshots, used, over: used - limits.maxSnapshots });
        }
        await this.deps.repos.snapshots.transition(s.id, s.status, { status: RETRY_STATUS[kind], errorCode: null, errorMessage: null }, trx);
        const id = await this.enqueue(trx, service, s.id, kind, ctx, { ...op.payload, retryOf: op.id });
        return { snapshot: s, newId: id };
      });
      await this.audit(ctx, service, 'admin.retry', 'ok', snapshot, {
        fromStatus: snapshot.status, toStatus: RETRY_STATUS[kind], details: { operationId: op.id, newOperationId: newId, kind },
      });
      this.deps.wake();
      return { operationId: newId };
    }, op.snapshotId, { operationId: op.id });
  }

  /** The quota picture for adopting: unmanaged snapshots already count, so adopting changes no number. */
  async adoptQuota(service: PanelService): Promise<{ limit: number; used: number; over: number }> {
    const limits = await this.deps.limits.forService(service.id, service.planId);
    const used = await this.deps.repos.snapshots.countOccupying(service.id);
    return { limit: limits.maxSnapshots, used, over: Math.max(0, used - limits.maxSnapshots) };
  }

  /**
   * Makes an unmanaged snapshot a managed one of the service: active, no schedule, so like a manual
   * snapshot it is never deleted automatically (origin stays 'adopted' to show where it came from).
   * It already occupies storage and counts against the limit, so adopting never changes "Snapshots
   * left"; if the service is over its limit anyway, the admin must confirm adopting it over the limit.
   */
  adopt(service: PanelService, snapshotId: number, input: AdoptInput, ctx: ActionContext): Promise<Snapshot> {
    return withRefusalAudit(this.deps, ctx, service, 'admin.adopt', async () => {
      const s = await this.snapshot(service, snapshotId);
      const name = typeof input.name === 'string' && input.name.trim() !== '' ? normalizeSnapshotName(input.name) : s.name;
      const quota = await this.adoptQuota(service);
      if (quota.over > 0 && !input.allowOverLimit) throw new QuotaExceededError(quota);
      if (!(await this.deps.repos.snapshots.transition(s.id, 'unmanaged', { status: 'active', name, errorCode: null, errorMessage: null, completedAt: new Date() }))) {
        throw new ConflictError('snapshot_changed');
      }
      await this.audit(ctx, service, 'admin.adopt', 'ok', { ...s, name }, {
        fromStatus: 'unmanaged', toStatus: 'active', details: { previousName: s.name, overLimit: quota.over > 0, ...quota },
      });
      return { ...s, name, status: 'active' as const };
    }, snapshotId);
  }

  /** Deletes an unmanaged snapshot from the hypervisor: "scheduled for removal" like any delete. */
  deleteUnmanaged(service: PanelService, snapshotId: number, ctx: ActionContext): Promise<void> {
    return withRefusalAudit(this.deps, ctx, service, 'admin.delete_unmanaged', async () => {
      const s = await this.snapshot(service, snapshotId);
      await this.deps.transaction(async (trx) => {
        if (!(await this.deps.repos.snapshots.transition(s.id, 'unmanaged', { status: 'deleting' }, trx))) throw new ConflictError('snapshot_changed');
        await this.enqueue(trx, service, s.id, 'delete', ctx);
      });
      await this.audit(ctx, service, 'admin.delete_unmanaged', 'ok', s, { fromStatus: 'unmanaged', toStatus: 'deleting' });
      this.deps.wake();
    }, snapshotId);
  }

  /**
   * Removes the record of a snapshot reconcile found gone from the hypervisor (error
   * 'snapshot_vanished'); nothing is sent to the hypervisor. Asks the hypervisor once more first, so a
   * snapshot that is back (a node was only briefly unreachable) is never orphaned.
   */
  forceRemove(service: PanelService, snapshotId: number, ctx: ActionContext): Promise<void> {
    return withRefusalAudit(this.deps, ctx, service, 'admin.force_remove', async () => {
      const s = await this.snapshot(service, snapshotId);
      if (s.status !== 'error' || s.errorCode !== 'snapshot_vanished') throw new ConflictError('snapshot_changed');
      if ((await this.deps.repos.operations.pendingForService(service.id)).some((op) => op.snapshotId === s.id)) throw new ConflictError('snapshot_changed');
      let listed;
      try {
        listed = await this.deps.driver(service.target.driver).list(service.target);
      } catch {
        throw new UnavailableError('driver_unreachable');
      }
      if (listed.some((x) => x.name === s.hvName)) throw new ConflictError('snapshot_still_on_hypervisor');
      await this.deps.repos.snapshots.remove(s.id);
      await this.audit(ctx, service, 'admin.force_remove', 'ok', s, { fromStatus: 'error', toStatus: 'deleted', code: 'snapshot_vanished', details: { hvName: s.hvName } });
    }, snapshotId);
  }

  private async snapshot(service: PanelService, id: number): Promise<Snapshot> {
    const s = await this.deps.repos.snapshots.get(id);
    if (!s || s.serviceId !== service.id) throw new NotFoundError('snapshot');
    return s;
  }

  private enqueue(trx: Knex.Transaction, service: PanelService, snapshotId: number, kind: 'create' | 'delete', ctx: ActionContext, payload: Record<string, unknown> = {}): Promise<number> {
    return enqueueOperation(this.deps, trx, service, snapshotId, kind, ctx, payload);
  }

  private async audit(ctx: ActionContext, service: PanelService, action: string, result: 'ok', s: Snapshot, extra: AuditExtra): Promise<void> {
    await this.deps.repos.audit.record(auditEvent(ctx, service, action, result, s, extra));
  }
}
