import type { Knex } from 'knex';
import type { NewAuditEvent } from '../db/audit-repo.js';
import type { CreateLock, NewSnapshot } from '../db/snapshots-repo.js';
import type { CreateBatcher } from './create-batch.js';
import type { ActionContext, DomainDeps } from './deps.js';
import { QuotaExceededError, ValidationError } from './errors.js';
import type { PlanLimits } from './limits.js';
import { generateHypervisorName, normalizeDescription, normalizeSnapshotName } from './names.js';
import { decideScheduledRun } from './retention.js';
import { assertServiceOpen } from './service-guard.js';
import { auditEvent, enqueueOperation, rotateOut, withRefusalAudit } from './snapshot-records.js';
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

/** A create's input, checked and resolved before its transaction (see prepareCreate). */
export interface PreparedCreate {
  name: string;
  description: string | null;
  includeMemory: boolean;
  /** The limits when known before the transaction (given, or read for the memory rule); else read with the service's lock. */
  limits: PlanLimits | null;
}

/** Checks a create's name, description and memory rule, reading the limits first only when the memory rule needs them. */
export async function prepareCreate(deps: DomainDeps, service: PanelService, input: CreateInput, opts: CreateOptions = {}): Promise<PreparedCreate> {
  const name = normalizeSnapshotName(input.name);
  const description = normalizeDescription(input.description);
  const includeMemory = input.includeMemory === true;
  // Otherwise the snapshot limit is read by the locking statement itself: one round trip fewer.
  const limits = opts.limits ?? (includeMemory ? await deps.limits.forService(service.id, service.planId) : null);
  if (includeMemory) {
    const caps = await deps.driver(service.target.driver).capabilities(service.target);
    if (!limits!.memoryAllowed || !caps.memory) {
      throw new ValidationError({ includeMemory: { code: limits!.memoryAllowed ? 'memory_unsupported_by_hypervisor' : 'memory_not_in_plan' } });
    }
  }
  return { name, description, includeMemory, limits };
}

/**
 * Creates a snapshot: checks the name, memory rule and quota, then inserts the `creating` record and
 * its operation in one transaction under the service's row lock, so parallel requests never exceed
 * the limit. A scheduled create finding the limit reached makes room in that same transaction by
 * rotating its schedule's own oldest unpinned snapshots; their deletes are queued ahead of the
 * create. When nothing can be rotated it is refused, deleting nothing. With `batcher`, a create that
 * cannot rotate and writes nothing alongside shares its transaction with the creates arriving with it
 * (CreateBatcher), deciding the same.
 */
export async function createSnapshot(deps: DomainDeps, service: PanelService, input: CreateInput, ctx: ActionContext, opts: CreateOptions = {},
  batcher?: CreateBatcher): Promise<Snapshot> {
  const create = async (): Promise<Snapshot> => {
    const prepared = await prepareCreate(deps, service, input, opts);
    if (batcher && !opts.alongside && opts.origin !== 'schedule') return batcher.create({ service, prepared, ctx, opts });
    return createPrepared(deps, service, prepared, ctx, opts);
  };
  // A scheduled run records its own outcome (schedule.run with the code).
  return opts.origin === 'schedule' ? create() : withRefusalAudit(deps, ctx, service, 'snapshot.create', create);
}

/** A prepared create in a transaction of its own (createSnapshot without the batcher). */
export async function createPrepared(deps: DomainDeps, service: PanelService, prepared: PreparedCreate, ctx: ActionContext,
  opts: CreateOptions = {}): Promise<Snapshot> {
  const { repos } = deps;
  const attempt = () => deps.transaction(async (trx) => {
    const lock = await repos.snapshots.lockForCreate(trx, service.id, !prepared.limits);
    // No state row yet (first snapshot of the service): created outside, then the attempt repeats.
    if (!lock) return null;
    assertServiceOpen(lock, ctx.actor);
    const { snapshot, events } = await createLocked(deps, trx, service, prepared, lock, ctx, opts);
    await repos.audit.record(events, trx);
    return { snapshot, queuedOperations: lock.queuedOperations };
  });
  let created = await attempt();
  if (!created) {
    await repos.services.ensure(service.id, service.planId);
    created = (await attempt())!;
  }
  // An operation seen queued under the service's lock has a job that must claim it, which needs
  // this lock (SQLite: the write lock) and so happens after this commit; after it that job claims
  // these too. A running one gives no such promise: its job may go idle before this commits.
  deps.wake(service.id, created.queuedOperations > 0);
  return created.snapshot;
}

/**
 * The snapshot limit a create is held to: the limits it was prepared with, else those read with its
 * lock; null when those are of another plan than the panel's (then they are read: see createLocked).
 */
export function snapshotLimit(deps: DomainDeps, service: PanelService, p: PreparedCreate, lock: CreateLock): number | null {
  return p.limits?.maxSnapshots ?? deps.limits.maxSnapshots(lock.limitRows!, service.planId);
}

/** Refuses a create when `used` snapshots already fill the limit `max`. */
export function assertRoom(used: number, max: number): void {
  if (used >= max) throw new QuotaExceededError({ limit: max, used, over: used - max });
}

/** The record a create inserts. */
export function newCreateRecord(deps: DomainDeps, service: PanelService, p: PreparedCreate, ctx: ActionContext, opts: CreateOptions, now: Date): NewSnapshot {
  return {
    serviceId: service.id, name: p.name, description: p.description, includeMemory: p.includeMemory, status: 'creating',
    hvName: generateHypervisorName(deps.namePrefix, now),
    origin: opts.origin ?? 'manual', scheduleId: opts.scheduleId ?? null, createdBy: ctx.actor.id ?? null,
  };
}

/** The audit event of a created snapshot. */
export function createdEvent(ctx: ActionContext, service: PanelService, snapshot: Snapshot): NewAuditEvent {
  return auditEvent(ctx, service, 'snapshot.create', 'ok', snapshot, { toStatus: 'creating', details: { includeMemory: snapshot.includeMemory, origin: snapshot.origin } });
}

/**
 * The create itself, inside a transaction already holding the service's row lock (`lock`, read by
 * lockForCreate): quota, a scheduled create's rotation, the record and its queued operation.
 * Returns the snapshot and the audit events to record with the caller's own; a restore's safety
 * snapshot is made this way, in the restore's transaction, so a refused restore leaves none.
 */
export async function createLocked(deps: DomainDeps, trx: Knex.Transaction, service: PanelService, p: PreparedCreate, lock: CreateLock,
  ctx: ActionContext, opts: CreateOptions = {}): Promise<{ snapshot: Snapshot; events: NewAuditEvent[] }> {
  const { repos } = deps;
  const max = snapshotLimit(deps, service, p, lock) ?? (await deps.limits.forService(service.id, service.planId, trx)).maxSnapshots;
  const rotateFor = opts.origin === 'schedule' && opts.scheduleId ? opts.scheduleId : null;
  let used = lock.occupying;
  const rotated = used >= max && rotateFor !== null ? await rotateToMakeRoom(deps, trx, service, rotateFor, max, ctx) : [];
  used -= rotated.length;
  assertRoom(used, max);
  const snapshot = await repos.snapshots.insert(newCreateRecord(deps, service, p, ctx, opts, new Date()), trx);
  await enqueueOperation(deps, trx, service, snapshot.id, 'create', ctx);
  const also = opts.alongside ? await opts.alongside(snapshot, trx) : [];
  return { snapshot, events: [...rotated, createdEvent(ctx, service, snapshot), ...also] };
}

/**
 * Under the create's lock: moves the schedule's oldest unpinned snapshots needed for one more slot
 * to `deleting` and queues their deletes; none when that would not make room. Returns their audit events.
 */
async function rotateToMakeRoom(deps: DomainDeps, trx: Knex.Transaction, service: PanelService, scheduleId: number, limit: number, ctx: ActionContext): Promise<NewAuditEvent[]> {
  // A snapshot a new server is being made from is kept like a pinned one until the copy is done.
  const held = await deps.repos.clones.heldSnapshotIds(service.id, trx);
  const all = (await deps.repos.snapshots.listForService(service.id, trx)).map((s) => (held.has(s.id) ? { ...s, pinned: true } : s));
  const decision = decideScheduledRun(scheduleId, limit, all);
  if (decision.action !== 'rotate') return [];
  return rotateOut(deps, trx, service, decision.deleteIds.map((id) => all.find((x) => x.id === id)!), ctx);
}
