import type { Knex } from 'knex';
import { DriverError, type DriverCapabilities } from '../drivers/contract.js';
import type { DomainDeps, ActionContext } from './deps.js';
import { createLocked, createSnapshot, prepareCreate, type CreateInput, type CreateOptions } from './create-snapshot.js';
import { allowedActions } from './allowed-actions.js';
import { CreateBatcher } from './create-batch.js';
import { ConflictError, IllegalTransitionError, NotFoundError, ValidationError } from './errors.js';
import { NAME_MAX, normalizeDescription, normalizeSnapshotName } from './names.js';
import { assertServiceOpen, lockOpenService } from './service-guard.js';
import { auditEvent, enqueueOperation, rotateOut, withRefusalAudit } from './snapshot-records.js';
import { occupiesStorage } from './status.js';
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

/**
 * Names the safety snapshot taken before restoring `restored` at `at`. Pages and the API pass one in
 * the requester's language and time zone (the name is stored, and that person reads it in the list).
 */
export type SafetyNamer = (restored: string, at: Date) => string;

export type { CreateInput, CreateOptions };

/** Customer- and admin-facing snapshot actions; each validates, enforces the rules, queues and audits. */
export class SnapshotService {
  private readonly batcher: CreateBatcher;

  constructor(private readonly deps: DomainDeps) {
    this.batcher = new CreateBatcher(deps);
  }

  /** A service's snapshot, or NotFound when it belongs to another service. */
  async get(service: PanelService, id: number): Promise<Snapshot> {
    const s = Number.isSafeInteger(id) ? await this.deps.repos.snapshots.get(id) : null;
    if (!s || s.serviceId !== service.id) throw new NotFoundError('snapshot');
    return s;
  }

  /**
   * See createSnapshot: quota under the service's lock, and a scheduled create's rotation to make
   * room; creates arriving together share a transaction (CreateBatcher).
   */
  create(service: PanelService, input: CreateInput, ctx: ActionContext, opts: CreateOptions = {}): Promise<Snapshot> {
    return createSnapshot(this.deps, service, input, ctx, opts, this.batcher);
  }

  /**
   * Retention: deletes the given snapshots of a schedule, skipping any that were pinned or changed
   * meanwhile (a pinned snapshot is never deleted automatically). Returns the ids now being deleted.
   */
  async rotate(service: PanelService, ids: number[], ctx: ActionContext): Promise<number[]> {
    const events = await this.deps.transaction(async (trx) => {
      await this.deps.repos.services.lock(trx, service.id);
      // One read of the service's snapshots, not one per id; rotateOut re-checks each in its UPDATE.
      const wanted = new Set(ids);
      const held = await this.deps.repos.clones.heldSnapshotIds(service.id, trx);
      const candidates = (await this.deps.repos.snapshots.listForService(service.id, trx))
        .filter((s) => wanted.has(s.id) && !s.pinned && s.status === 'active' && !held.has(s.id));
      const moved = candidates.length ? await rotateOut(this.deps, trx, service, candidates, ctx) : [];
      await this.deps.repos.audit.record(moved, trx);
      return moved;
    });
    if (events.length) this.deps.wake(service.id);
    return events.map((e) => e.snapshotId!);
  }

  /** Pins or unpins: a pinned snapshot is never deleted automatically. */
  setPinned(service: PanelService, id: number, pinned: boolean, ctx: ActionContext): Promise<Snapshot> {
    const action = pinned ? 'snapshot.pin' : 'snapshot.unpin';
    return this.refusalsAudited(ctx, service, action, id, () => this.underLock(service, id, ctx, async (trx, s) => {
      if (!allowedActions(s, { open: true }).pin || !(await this.deps.repos.snapshots.setPinned(s.id, pinned, trx))) throw new ConflictError('snapshot_not_pinnable', { status: s.status });
      await this.deps.repos.audit.record(auditEvent(ctx, service, action, 'ok', s), trx);
      return { ...s, pinned };
    }));
  }

  /**
   * Renames or re-describes our record; the hypervisor-side name never changes. A new description of
   * a settled snapshot is also sent to a hypervisor that keeps descriptions, so both show the same:
   * before the record is written, so no hypervisor call is made under the service's lock.
   */
  edit(service: PanelService, id: number, input: { name?: unknown; description?: unknown }, ctx: ActionContext): Promise<Snapshot> {
    return this.refusalsAudited(ctx, service, 'snapshot.edit', id, async () => {
      const name = normalizeSnapshotName(input.name);
      const description = normalizeDescription(input.description);
      const seen = await this.get(service, id);
      if (!allowedActions(seen, { open: true }).edit) throw new ConflictError('snapshot_not_editable', { status: seen.status });
      const hypervisor = description !== seen.description && seen.status === 'active' ? await this.pushDescription(service, seen, description) : undefined;
      return this.underLock(service, id, ctx, async (trx, s) => {
        if (!allowedActions(s, { open: true }).edit) throw new ConflictError('snapshot_not_editable', { status: s.status });
        // Gone meanwhile: its delete finished (operations end without the service's lock).
        if (!(await this.deps.repos.snapshots.update(s.id, { name, description }, trx))) throw new NotFoundError('snapshot');
        await this.deps.repos.audit.record(auditEvent(ctx, service, 'snapshot.edit', 'ok', s, {
          details: { from: s.name, to: name, ...(hypervisor ? { hypervisor } : {}) },
        }), trx);
        return { ...s, name, description };
      });
    });
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
    const deleted = await this.refusalsAudited(ctx, service, 'snapshot.delete', id, async () => {
      await this.get(service, id);
      if (!input.confirm) throw new ValidationError({ confirm: { code: 'confirm_required' } });
      return this.underLock(service, id, ctx, async (trx, s) => {
        // Read under the lock: a pin that committed just before counts.
        if (s.pinned && (input.typedName ?? '').normalize('NFC').trim() !== s.name) {
          throw new ValidationError({ typedName: { code: 'pinned_name_mismatch' } });
        }
        if (s.status === 'failed') {
          await this.deps.repos.snapshots.remove(s.id, trx);
          await this.deps.repos.audit.record(auditEvent(ctx, service, 'snapshot.dismiss', 'ok', s, { fromStatus: 'failed', toStatus: 'deleted' }), trx);
          return s;
        }
        if (!allowedActions(s, { open: true }).delete) throw new IllegalTransitionError(s.status, 'deleting');
        // A new server is being made from it: the copy must finish reading it first.
        if ((await this.deps.repos.clones.heldSnapshotIds(service.id, trx)).has(s.id)) throw new ConflictError('snapshot_cloning');
        if (!(await this.deps.repos.snapshots.transition(s.id, s.status, { status: 'deleting' }, trx))) throw new ConflictError('snapshot_changed');
        await this.enqueue(trx, service, s.id, 'delete', ctx);
        await this.deps.repos.audit.record(auditEvent(ctx, service, 'snapshot.delete', 'ok', s, { fromStatus: s.status, toStatus: 'deleting' }), trx);
        return { ...s, status: 'deleting' as const };
      });
    });
    if (deleted.status === 'deleting') this.deps.wake(service.id);
    return deleted;
  }

  /**
   * Restores the server to an active snapshot after the service's name is typed. Optionally queues a
   * safety snapshot of the current state first; operations run in order, so it is taken before.
   * Everything is decided and written in one transaction under the service's lock: at most one
   * restore waits or runs per service, and a refused restore leaves no safety snapshot behind.
   */
  async restore(service: PanelService, id: number, input: RestoreInput, ctx: ActionContext,
    namer: SafetyNamer = neutralSafetyName): Promise<{ snapshot: Snapshot; safety: Snapshot | null }> {
    const result = await this.refusalsAudited(ctx, service, 'snapshot.restore', id, async () => {
      const seen = await this.get(service, id);
      if (input.typedServiceName.normalize('NFC').trim() !== service.name) {
        // The expected name is the requester's own server's: saying it lets them correct a typo.
        throw new ValidationError({ typedServiceName: { code: 'service_name_mismatch', params: { expected: service.name } } });
      }
      if (seen.status !== 'active') throw new ConflictError('restore_needs_active', { status: seen.status });
      const caps = await this.deps.driver(service.target.driver).capabilities(service.target);
      const safetyInput = input.safetySnapshot
        ? await prepareCreate(this.deps, service, { name: safetySnapshotName(namer, seen.name, new Date()), includeMemory: false }) : null;
      await this.deps.repos.services.ensure(service.id, service.planId);
      return this.deps.transaction(async (trx) => {
        const lock = (await this.deps.repos.snapshots.lockForCreate(trx, service.id, !!safetyInput && !safetyInput.limits))!;
        assertServiceOpen(lock, ctx.actor);
        const s = await this.deps.repos.snapshots.get(id, trx);
        if (!s || s.serviceId !== service.id) throw new NotFoundError('snapshot');
        if (s.status !== 'active') throw new ConflictError('restore_needs_active', { status: s.status });
        const pending = await this.deps.repos.operations.pendingForService(service.id, trx);
        if (pending.some((op) => op.kind === 'restore')) throw new ConflictError('restore_in_progress');
        const unavailable = restoreBlockedReason(caps, s, caps.rollbackOnlyLatest ? await this.deps.repos.snapshots.listForService(service.id, trx) : []);
        if (unavailable) throw new ConflictError(unavailable);
        const safety = safetyInput ? await createLocked(this.deps, trx, service, safetyInput, lock, ctx, { origin: 'safety' }) : null;
        if (!(await this.deps.repos.snapshots.transition(s.id, 'active', { status: 'restoring', errorCode: null, errorMessage: null }, trx))) {
          throw new ConflictError('snapshot_changed');
        }
        await this.enqueue(trx, service, s.id, 'restore', ctx, { startAfter: input.startAfter ?? true });
        await this.deps.repos.audit.record([...(safety?.events ?? []), auditEvent(ctx, service, 'snapshot.restore', 'ok', s, {
          fromStatus: 'active', toStatus: 'restoring', details: { safetySnapshotId: safety?.snapshot.id ?? null },
        })], trx);
        return { snapshot: { ...s, status: 'restoring' as const }, safety: safety?.snapshot ?? null };
      });
    });
    this.deps.wake(service.id);
    return result;
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

  /**
   * Runs `fn` on the service's snapshot `id` as read under the service's row lock (and refused when
   * the service is closed to the actor): every customer action decides on what is there now.
   */
  private underLock<T>(service: PanelService, id: number, ctx: ActionContext, fn: (trx: Knex.Transaction, s: Snapshot) => Promise<T>): Promise<T> {
    return this.deps.transaction(async (trx) => {
      await lockOpenService(this.deps, trx, service, ctx);
      const s = Number.isSafeInteger(id) ? await this.deps.repos.snapshots.get(id, trx) : null;
      if (!s || s.serviceId !== service.id) throw new NotFoundError('snapshot');
      return fn(trx, s);
    });
  }

  /** Runs an action, auditing a refusal with its code before it reaches the caller. */
  private refusalsAudited<T>(ctx: ActionContext, service: PanelService, action: string, snapshotId: number, fn: () => Promise<T>): Promise<T> {
    return withRefusalAudit(this.deps, ctx, service, action, fn, snapshotId);
  }
}

/**
 * The restore rule over known capabilities: a hypervisor that rolls back only to the newest snapshot
 * (ZFS) cannot restore one that has newer snapshots after it. Pure, so a page checks every row with
 * one capabilities call.
 */
export function restoreBlockedReason(caps: DriverCapabilities, s: Snapshot, all: Snapshot[]): 'restore_only_latest' | null {
  if (!caps.rollbackOnlyLatest) return null;
  const newer = all.some((o) => o.id !== s.id && occupiesStorage(o.status) && (o.createdAt > s.createdAt || (o.createdAt.getTime() === s.createdAt.getTime() && o.id > s.id)));
  return newer ? 'restore_only_latest' : null;
}

/**
 * The safety snapshot's name from `namer`, within NAME_MAX: the restored snapshot's name is shortened
 * (with an ellipsis) rather than the time, which is what tells two safety snapshots apart.
 */
export function safetySnapshotName(namer: SafetyNamer, restored: string, at: Date): string {
  const chars = [...restored];
  for (let keep = chars.length; keep >= 0; keep--) {
    const name = namer(keep === chars.length ? restored : `${chars.slice(0, keep).join('').trimEnd()}…`, at);
    if ([...name].length <= NAME_MAX) return name;
  }
  return [...namer('…', at)].slice(0, NAME_MAX).join('');
}

/** Without a requester's language (a programmatic call): English, and the time in UTC, said so. */
export function neutralSafetyName(restored: string, at: Date): string {
  return `Before restoring ${restored}, ${at.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}
