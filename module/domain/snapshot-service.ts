import type { Knex } from 'knex';
import type { NewAuditEvent } from '../db/audit-repo.js';
import type { DriverCapabilities } from '../drivers/contract.js';
import type { DomainDeps, ActionContext } from './deps.js';
import { ConflictError, NotFoundError, QuotaExceededError, ValidationError } from './errors.js';
import type { PlanLimits } from './limits.js';
import { decideScheduledRun } from './retention.js';
import { generateHypervisorName, normalizeDescription, normalizeSnapshotName } from './names.js';
import { assertTransition } from './status.js';
import type { PanelService, Snapshot, SnapshotOrigin } from './types.js';

export interface CreateInput {
  name?: unknown;
  description?: unknown;
  includeMemory?: boolean;
}

export interface CreateOptions {
  origin?: SnapshotOrigin;
  scheduleId?: number | null;
  /** The service's limits when the caller has just read them (a scheduled run), saving the lookup. */
  limits?: PlanLimits;
  /**
   * Writes that commit with the snapshot (a scheduled run's outcome on its schedule); returns audit
   * events to record with the create's own. One commit instead of several autocommitted writes.
   */
  alongside?(snapshot: Snapshot, trx: Knex.Transaction): Promise<NewAuditEvent[]>;
}

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

/** Customer- and admin-facing snapshot actions; each validates, enforces the rules, queues and audits. */
export class SnapshotService {
  constructor(private readonly deps: DomainDeps) {}

  /** A service's snapshot, or NotFound when it belongs to another service. */
  async get(service: PanelService, id: number): Promise<Snapshot> {
    const s = Number.isSafeInteger(id) ? await this.deps.repos.snapshots.get(id) : null;
    if (!s || s.serviceId !== service.id) throw new NotFoundError('snapshot');
    return s;
  }

  /**
   * Creates a snapshot: checks the name, memory rule and quota, then inserts the `creating` record and
   * its operation in one transaction under the service's row lock, so parallel requests never exceed
   * the limit. A scheduled create finding the limit reached makes room in that same transaction by
   * rotating its schedule's own oldest unpinned snapshots (SPEC §3); their deletes are queued ahead
   * of the create. When nothing can be rotated it is refused, deleting nothing.
   */
  async create(service: PanelService, input: CreateInput, ctx: ActionContext, opts: CreateOptions = {}): Promise<Snapshot> {
    const { repos } = this.deps;
    try {
      const name = normalizeSnapshotName(input.name);
      const description = normalizeDescription(input.description);
      const includeMemory = input.includeMemory === true;
      const limits = opts.limits ?? (await this.deps.limits.forService(service.id, service.planId));
      if (includeMemory) {
        const caps = await this.deps.driver(service.target.driver).capabilities(service.target);
        if (!limits.memoryAllowed || !caps.memory) {
          throw new ValidationError({ includeMemory: { code: limits.memoryAllowed ? 'memory_unsupported_by_hypervisor' : 'memory_not_in_plan' } });
        }
      }
      const rotateFor = opts.origin === 'schedule' && opts.scheduleId ? opts.scheduleId : null;
      const attempt = () => this.deps.transaction(async (trx) => {
        const state = await repos.snapshots.lockForCreate(trx, service.id);
        // No state row yet (first snapshot of the service): created outside, then the attempt repeats.
        if (!state) return null;
        let used = state.occupying;
        const rotated = used >= limits.maxSnapshots && rotateFor !== null ? await this.rotateToMakeRoom(trx, service, rotateFor, limits.maxSnapshots, ctx) : [];
        used -= rotated.length;
        if (used >= limits.maxSnapshots) {
          throw new QuotaExceededError({ limit: limits.maxSnapshots, used, over: used - limits.maxSnapshots });
        }
        const snapshot = await repos.snapshots.insert({
          serviceId: service.id, name, description, includeMemory, status: 'creating',
          hvName: generateHypervisorName(this.deps.namePrefix, new Date()),
          origin: opts.origin ?? 'manual', scheduleId: opts.scheduleId ?? null, createdBy: ctx.actor.id ?? null,
        }, trx);
        await this.enqueue(trx, service, snapshot.id, 'create', ctx);
        const also = opts.alongside ? await opts.alongside(snapshot, trx) : [];
        await repos.audit.record([
          ...rotated,
          this.event(ctx, service, 'snapshot.create', 'ok', snapshot, { toStatus: 'creating', details: { includeMemory, origin: snapshot.origin } }),
          ...also,
        ], trx);
        return { snapshot, unfinishedOperations: state.unfinishedOperations };
      });
      let created = await attempt();
      if (!created) {
        await repos.services.ensure(service.id, service.planId);
        created = (await attempt())!;
      }
      // Seen under the service's lock: an unfinished operation means the service's operations job
      // exists and claims again after it, so it finds these too. Otherwise it needs a job.
      if (!created.unfinishedOperations) this.deps.wake(service.id);
      return created.snapshot;
    } catch (err) {
      // A scheduled run records its own outcome (schedule.run with the code).
      if (opts.origin !== 'schedule') await this.refused(ctx, service, 'snapshot.create', err);
      throw err;
    }
  }

  /**
   * Under the create's lock: moves the schedule's oldest unpinned snapshots needed for one more slot
   * to `deleting` and queues their deletes; none when that would not make room. Returns their audit events.
   */
  private async rotateToMakeRoom(trx: Knex.Transaction, service: PanelService, scheduleId: number, limit: number, ctx: ActionContext): Promise<NewAuditEvent[]> {
    const all = await this.deps.repos.snapshots.listForService(service.id, trx);
    const decision = decideScheduledRun(scheduleId, limit, all);
    if (decision.action !== 'rotate') return [];
    const events: NewAuditEvent[] = [];
    for (const s of all.filter((x) => decision.deleteIds.includes(x.id))) {
      if (!(await this.deps.repos.snapshots.rotateOut(s.id, trx))) continue;
      await this.enqueue(trx, service, s.id, 'delete', ctx);
      events.push(this.event(ctx, service, 'snapshot.rotate', 'ok', s, { fromStatus: 'active', toStatus: 'deleting' }));
    }
    return events;
  }

  /**
   * Retention: deletes the given snapshots of a schedule, skipping any that were pinned or changed
   * meanwhile (a pinned snapshot is never deleted automatically). Returns the ids now being deleted.
   */
  async rotate(service: PanelService, ids: number[], ctx: ActionContext): Promise<number[]> {
    const rotated: number[] = [];
    for (const id of ids) {
      const s = await this.deps.repos.snapshots.get(id);
      if (!s || s.serviceId !== service.id || s.pinned || s.status !== 'active') continue;
      const moved = await this.deps.transaction(async (trx) => {
        if (!(await this.deps.repos.snapshots.rotateOut(s.id, trx))) return false;
        await this.enqueue(trx, service, s.id, 'delete', ctx);
        return true;
      });
      if (!moved) continue;
      rotated.push(s.id);
      await this.audit(ctx, service, 'snapshot.rotate', 'ok', s, { fromStatus: 'active', toStatus: 'deleting' });
    }
    if (rotated.length) this.deps.wake(service.id);
    return rotated;
  }

  /** Pins or unpins: a pinned snapshot is never deleted automatically. */
  async setPinned(service: PanelService, id: number, pinned: boolean, ctx: ActionContext): Promise<Snapshot> {
    const s = await this.get(service, id);
    if (s.status === 'deleting' || s.status === 'failed') throw new ConflictError('snapshot_not_pinnable', { status: s.status });
    await this.deps.repos.snapshots.update(s.id, { pinned });
    await this.audit(ctx, service, pinned ? 'snapshot.pin' : 'snapshot.unpin', 'ok', s);
    return { ...s, pinned };
  }

  /** Renames or re-describes our record only; the hypervisor-side name never changes. */
  async edit(service: PanelService, id: number, input: { name?: unknown; description?: unknown }, ctx: ActionContext): Promise<Snapshot> {
    const s = await this.get(service, id);
    const name = normalizeSnapshotName(input.name);
    const description = normalizeDescription(input.description);
    await this.deps.repos.snapshots.update(s.id, { name, description });
    await this.audit(ctx, service, 'snapshot.edit', 'ok', s, { details: { from: s.name, to: name } });
    return { ...s, name, description };
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

  private async enqueue(trx: Knex.Transaction, service: PanelService, snapshotId: number, kind: 'create' | 'delete' | 'restore', ctx: ActionContext, payload: Record<string, unknown> = {}): Promise<number> {
    return this.deps.repos.operations.insert({
      serviceId: service.id, snapshotId, kind, target: service.target, payload, origin: ctx.actor.type, requestedBy: ctx.actor.id ?? null,
    }, trx);
  }

  private async audit(ctx: ActionContext, service: PanelService, action: string, result: 'ok' | 'refused' | 'failed', s: Snapshot | null,
    extra: AuditExtra = {}): Promise<void> {
    await this.deps.repos.audit.record(this.event(ctx, service, action, result, s, extra));
  }

  private event(ctx: ActionContext, service: PanelService, action: string, result: 'ok' | 'refused' | 'failed', s: Snapshot | null,
    extra: AuditExtra = {}): NewAuditEvent {
    return { actor: ctx.actor, ip: ctx.ip, serviceId: service.id, snapshotId: s?.id ?? null, snapshotName: s?.name ?? null, action, result, ...extra };
  }

  private async refused(ctx: ActionContext, service: PanelService, action: string, err: unknown, snapshotId?: number): Promise<void> {
    const code = (err as { code?: string }).code;
    if (!code || typeof code !== 'string') return;
    await this.deps.repos.audit.record({ actor: ctx.actor, ip: ctx.ip, serviceId: service.id, snapshotId: snapshotId ?? null, action, result: 'refused', code })
      .catch(() => undefined);
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

type AuditExtra = { fromStatus?: string; toStatus?: string; code?: string; details?: Record<string, unknown> };

function safetyName(s: Snapshot): string {
  // Names are display names; the prefix keeps it recognisable and within 64 characters.
  return [...`⟲ ${s.name}`].slice(0, 64).join("");
}
