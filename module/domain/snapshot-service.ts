import type { Knex } from 'knex';
import { DriverError, type DriverCapabilities } from '../drivers/contract.js';
import type { DomainDeps, ActionContext } from './deps.js';
import { createSnapshot, type CreateInput, type CreateOptions } from './create-snapshot.js';
import { ConflictError, NotFoundError, ValidationError } from './errors.js';
import { normalizeDescription, normalizeSnapshotName } from './names.js';
import { auditEvent, enqueueOperation, recordRefusal, rotateOut, type AuditExtra, type AuditResult } from './snapshot-records.js';
import { assertTransition } from './status.js';
import type { PanelService, Snapshot } from './types.js';

export interface DeleteInput {
  /** Every delete must be confirmed. */
  confirm: boolean;
  /** For a pinned snapshot, its name typed again. */
  typedName?: string;
}

export interface RestoreInput {
  /** The service's name typed to confirm. */
  typedServiceName: string;
  /** Take a snapshot of the current state first (needs a free slot). */
  safetySnapshot?: boolean;
  startAfter?: boolean;
}

export type { CreateInput, CreateOptions };

/** Customer- and admin-facing snapshot actions; each validates, enforces the rules, queues and audits. */
export class SnapshotService {
  constructor(private readonly deps: DomainDeps) {}

  /** A service's snapshot, or NotFound when it belongs to another service. */
  async get(service: PanelService, id: number): Promise<Snapshot> {
    const s = Number.isSafeInteger(id) ? await this.deps.repos.snapshots.get(id) : null;
    if (!s || s.serviceId !== service.id) throw new NotFoundError('snapshot');
    return s;
  }

  /** See createSnapshot: quota under the service's lock, and a scheduled create's rotation to make room. */
  create(service: PanelService, input: CreateInput, ctx: ActionContext, opts: CreateOptions = {}): Promise<Snapshot> {
    return createSnapshot(this.deps, service, input, ctx, opts);
  }

  /**
   * Retention: deletes the given snapshots of a schedule, skipping any that were pinned or changed
   * meanwhile (a pinned snapshot is never deleted automatically). Returns the ids now being deleted.
   */
  async rotate(service: PanelService, ids: number[], ctx: ActionContext): Promise<number[]> {
    const candidates: Snapshot[] = [];
    for (const id of ids) {
      const s = await this.deps.repos.snapshots.get(id);
      if (s && s.serviceId === service.id && !s.pinned && s.status === 'active') candidates.push(s);
    }
    if (!candidates.length) return [];
    const events = await this.deps.transaction(async (trx) => {
      const moved = await rotateOut(this.deps, trx, service, candidates, ctx);
      await this.deps.repos.audit.record(moved, trx);
      return moved;
    });
    if (events.length) this.deps.wake(service.id);
    return events.map((e) => e.snapshotId!);
  }

  /** Pins or unpins: a pinned snapshot is never deleted automatically. */
  async setPinned(service: PanelService, id: number, pinned: boolean, ctx: ActionContext): Promise<Snapshot> {
    const s = await this.get(service, id);
    if (s.status === 'deleting' || s.status === 'failed') throw new ConflictError('snapshot_not_pinnable', { status: s.status });
    await this.deps.repos.snapshots.update(s.id, { pinned });
    await this.audit(ctx, service, pinned ? 'snapshot.pin' : 'snapshot.unpin', 'ok', s);
    return { ...s, pinned };
  }

  /**
   * Renames or re-describes our record; the hypervisor-side name never changes. A new description of
   * a settled snapshot is also sent to a hypervisor that keeps descriptions, so both show the same.
   */
  async edit(service: PanelService, id: number, input: { name?: unknown; description?: unknown }, ctx: ActionContext): Promise<Snapshot> {
    const s = await this.get(service, id);
    const name = normalizeSnapshotName(input.name);
    const description = normalizeDescription(input.description);
    await this.deps.repos.snapshots.update(s.id, { name, description });
    const hypervisor = description !== s.description && s.status === 'active' ? await this.pushDescription(service, s, description) : undefined;
    await this.audit(ctx, service, 'snapshot.edit', 'ok', s, { details: { from: s.name, to: name, ...(hypervisor ? { hypervisor } : {}) } });
    return { ...s, name, description };
  }

  /** Best effort: the record is what the panel shows, so a busy or unreachable hypervisor fails nothing. */
  private async pushDescription(service: PanelService, s: Snapshot, description: string | null): Promise<string | undefined> {
    try {
      const driver = this.deps.driver(service.target.driver);
      if (!driver.updateDescription) return undefined;
      await driver.updateDescription(service.target, s.hvName, description);
      return 'updated';
    } catch (err) {
      return err instanceof DriverError ? `driver_${err.code}` : 'failed';
    }
  }

  /**
   * Deletes after confirmation (pinned: the name typed again). A failed snapshot occupies nothing on
   * the hypervisor, so it is dismissed at once; others are "scheduled for removal" (deleting).
   */
  async delete(service: PanelService, id: number, input: DeleteInput, ctx: ActionContext): Promise<Snapshot> {
    try {
      const s = await this.get(service, id);
      if (!input.confirm) throw new ValidationError({ confirm: { code: 'confirm_required' } });
      if (s.pinned && (input.typedName ?? '').normalize('NFC').trim() !== s.name) {
        throw new ValidationError({ typedName: { code: 'pinned_name_mismatch' } });
      }
      if (s.status === 'failed') {
        await this.deps.repos.snapshots.remove(s.id);
        await this.audit(ctx, service, 'snapshot.dismiss', 'ok', s, { fromStatus: 'failed', toStatus: 'deleted' });
        return s;
      }
      assertTransition(s.status, 'deleting');
      await this.deps.transaction(async (trx) => {
        if (!(await this.deps.repos.snapshots.transition(s.id, s.status, { status: 'deleting' }, trx))) {
          throw new ConflictError('snapshot_changed');
        }
        await this.enqueue(trx, service, s.id, 'delete', ctx);
      });
      await this.audit(ctx, service, 'snapshot.delete', 'ok', s, { fromStatus: s.status, toStatus: 'deleting' });
      this.deps.wake(service.id);
      return { ...s, status: 'deleting' };
    } catch (err) {
      await this.refused(ctx, service, 'snapshot.delete', err, id);
      throw err;
    }
  }

  /**
   * Restores the server to an active snapshot after the service's name is typed. Optionally queues a
   * safety snapshot of the current state first; operations run in order, so it is taken before.
   */
  async restore(service: PanelService, id: number, input: RestoreInput, ctx: ActionContext): Promise<{ snapshot: Snapshot; safety: Snapshot | null }> {
    try {
      const s = await this.get(service, id);
      if (input.typedServiceName.normalize('NFC').trim() !== service.name) {
        throw new ValidationError({ typedServiceName: { code: 'service_name_mismatch' } });
      }
      if (s.status !== 'active') throw new ConflictError('restore_needs_active', { status: s.status });
      const pending = await this.deps.repos.operations.pendingForService(service.id);
      if (pending.some((op) => op.kind === 'restore')) throw new ConflictError('restore_in_progress');
      const unavailable = await this.restoreUnavailableReason(service, s);
      if (unavailable) throw new ConflictError(unavailable);
      let safety: Snapshot | null = null;
      if (input.safetySnapshot) {
        safety = await this.create(service, { name: safetyName(s), includeMemory: false }, ctx, { origin: 'safety' });
      }
      await this.deps.transaction(async (trx) => {
        if (!(await this.deps.repos.snapshots.transition(s.id, 'active', { status: 'restoring', errorCode: null, errorMessage: null }, trx))) {
          throw new ConflictError('snapshot_changed');
        }
        await this.enqueue(trx, service, s.id, 'restore', ctx, { startAfter: input.startAfter ?? true });
      });
      await this.audit(ctx, service, 'snapshot.restore', 'ok', s, { fromStatus: 'active', toStatus: 'restoring', details: { safetySnapshotId: safety?.id ?? null } });
      this.deps.wake(service.id);
      return { snapshot: { ...s, status: 'restoring' }, safety };
    } catch (err) {
      await this.refused(ctx, service, 'snapshot.restore', err, id);
      throw err;
    }
  }

  /**
   * Why this snapshot cannot be restored by the hypervisor, or null. Drivers that roll back only to the
   * newest snapshot (ZFS) make older ones unavailable, and the page says why.
   */
  async restoreUnavailableReason(service: PanelService, s: Snapshot): Promise<string | null> {
    const caps = await this.deps.driver(service.target.driver).capabilities(service.target);
    return caps.rollbackOnlyLatest ? restoreBlockedReason(caps, s, await this.deps.repos.snapshots.listForService(service.id)) : null;
  }

  private enqueue(trx: Knex.Transaction, service: PanelService, snapshotId: number, kind: 'create' | 'delete' | 'restore', ctx: ActionContext, payload: Record<string, unknown> = {}): Promise<number> {
    return enqueueOperation(this.deps, trx, service, snapshotId, kind, ctx, payload);
  }

  private async audit(ctx: ActionContext, service: PanelService, action: string, result: AuditResult, s: Snapshot | null, extra: AuditExtra = {}): Promise<void> {
    await this.deps.repos.audit.record(auditEvent(ctx, service, action, result, s, extra));
  }

  private refused(ctx: ActionContext, service: PanelService, action: string, err: unknown, snapshotId?: number): Promise<void> {
    return recordRefusal(this.deps, ctx, service, action, err, snapshotId);
  }
}

/**
 * The restore rule over known capabilities: a hypervisor that rolls back only to the newest snapshot
 * (ZFS) cannot restore one that has newer snapshots after it. Pure, so a page checks every row with
 * one capabilities call.
 */
export function restoreBlockedReason(caps: DriverCapabilities, s: Snapshot, all: Snapshot[]): 'restore_only_latest' | null {
  if (!caps.rollbackOnlyLatest) return null;
  const newer = all.some((o) => o.id !== s.id && o.status !== 'failed' && (o.createdAt > s.createdAt || (o.createdAt.getTime() === s.createdAt.getTime() && o.id > s.id)));
  return newer ? 'restore_only_latest' : null;
}

function safetyName(s: Snapshot): string {
  // Names are display names; the prefix keeps it recognisable and within 64 characters.
  return [...`⟲ ${s.name}`].slice(0, 64).join("");
}
