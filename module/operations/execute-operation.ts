import { setTimeout as sleep } from 'node:timers/promises';
import { DriverError, type SnapshotDriver, type TaskState } from '../drivers/contract.js';
import type { DomainDeps } from '../domain/deps.js';
import type { OperationsRepo } from '../db/operations-repo.js';
import type { AuditActor, Operation, Snapshot } from '../domain/types.js';
import { notifyIfLimitReached } from '../notifications/limit-reached.js';
import { cloneAlreadyDone, cloneSettled, cloneStarted, startClone } from './execute-clone.js';
import { writeSuccess, type OutcomeWriter } from './outcome-batcher.js';
import { LeaseLost } from './lease-lost.js';

export interface ExecuteOptions {
  /** How often a running hypervisor task is polled. */
  taskPollMs: number;
  /** A task still running after this long is given up as timed out. */
  operationTimeoutMs: number;
  leaseMs: number;
  maxAttempts: number;
  backoffMs: number;
  /** A clone copies whole disks: its own, longer limit (default: operationTimeoutMs). */
  cloneTimeoutMs?: number;
}

export interface ExecuteContext {
  /** The claim token (the lease holder). */
  token: string;
  /** Aborted when the module stops: the operation goes back to the queue and is resumed later. */
  signal: AbortSignal;
  /** The operation's snapshot record as its claim read it (null: none); absent: read it here. */
  snapshot?: Snapshot | null;
}

/** An attempt's context: the lease's signal, and where its success outcome is written. */
interface AttemptContext extends ExecuteContext {
  outcomes: OutcomeWriter;
}

/** `lost`: the lease ran out and another worker may run the operation now; this one wrote nothing more. */
export type ExecuteOutcome = 'succeeded' | 'failed' | 'requeued' | 'released' | 'lost';


/**
 * The claim's lease, renewed every third of it by a timer of its own rather than between two polls of
 * the task: a slow driver call or database round trip must not make a live worker lose its lease, or
 * another worker would run the same operation. Renewal refused (taken over), or not confirmed within
 * the lease (the process was paused, or the database was out of reach for that long, so it may have
 * been taken over), the lease is lost: `signal` aborts the attempt.
 */
class Lease {
  private readonly lostCtl = new AbortController();
  readonly signal: AbortSignal;
  private renewedAt: number;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(private readonly ops: OperationsRepo, private readonly op: Operation, private readonly token: string,
    private readonly leaseMs: number, outer: AbortSignal) {
    this.signal = AbortSignal.any([outer, this.lostCtl.signal]);
    this.renewedAt = op.lockedUntil ? op.lockedUntil.getTime() - leaseMs : Date.now();
    this.beat();
  }

  get lost(): boolean {
    return this.lostCtl.signal.aborted;
  }

  /** Renews now; false once the lease is lost. Called before anything the hypervisor would do twice. */
  async renew(): Promise<boolean> {
    const sentAt = Date.now();
    if (!this.stopped && !this.lost && sentAt - this.renewedAt < this.leaseMs) {
      try {
        if (await this.ops.extendLease(this.op.id, this.token, this.leaseMs)) this.renewedAt = Math.max(this.renewedAt, sentAt);
        else this.lostCtl.abort();
      } catch {
        // The database is out of reach: the lease stands until it runs out; the next beat tries again.
      }
    }
    if (Date.now() - this.renewedAt >= this.leaseMs) this.lostCtl.abort();
    return !this.lost;
  }

  /**
   * Claimed (or renewed) under a third of a lease ago: nobody can have taken it over yet, since a
   * lease is taken over only once expired, and the heartbeat has not missed a beat.
   */
  fresh(): boolean {
    return !this.lost && Date.now() - this.renewedAt < this.leaseMs / 3;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private beat(): void {
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.renew().then((held) => { if (held && !this.stopped) this.beat(); });
    }, this.leaseMs / 3);
  }
}

/**
 * Carries one claimed operation through the hypervisor: start (or resume) the driver task, poll it,
 * then apply the outcome to the snapshot, audit it and notify. Safe to run again after a crash: a
 * stored task reference is polled, not restarted, and a create/delete that already happened is
 * recognised from the hypervisor's list. `outcomes` writes a success (default: a transaction of its
 * own; the workers share an OutcomeBatcher).
 */
export async function executeOperation(deps: DomainDeps, claimed: Operation, ctx: ExecuteContext, opts: ExecuteOptions,
  outcomes: OutcomeWriter = { write: (o) => writeSuccess(deps, o) }): Promise<ExecuteOutcome> {
  const lease = new Lease(deps.repos.operations, claimed, ctx.token, opts.leaseMs, ctx.signal);
  try {
    return await attempt(deps, claimed, { token: ctx.token, signal: lease.signal, snapshot: ctx.snapshot, outcomes }, lease, opts);
  } catch (err) {
    if (err instanceof LeaseLost || lease.lost) return 'lost';
    throw err;
  } finally {
    lease.stop();
  }
}

async function attempt(deps: DomainDeps, claimed: Operation, ctx: AttemptContext, lease: Lease, opts: ExecuteOptions): Promise<ExecuteOutcome> {
  let op = claimed;
  const { repos } = deps;
  const snapshot = op.snapshotId === null ? null : ctx.snapshot !== undefined ? ctx.snapshot : await repos.snapshots.get(op.snapshotId);
  if (!snapshot && op.kind === 'clone') {
    const gone = { code: 'clone_source_gone', detail: 'the snapshot record was removed' };
    if (!(await cloneSettled(deps, null, op, null, (trx) => repos.operations.finish(op.id, ctx.token, 'failed', { code: gone.code, message: gone.detail }, trx), gone))) throw new LeaseLost();
    return 'failed';
  }
  if (!snapshot) {
    const ok = op.kind === 'delete';
    if (!(await repos.operations.finish(op.id, ctx.token, ok ? 'succeeded' : 'failed', ok ? null : { code: 'snapshot_gone', message: 'record removed' }))) throw new LeaseLost();
    return ok ? 'succeeded' : 'failed';
  }
  let driver: SnapshotDriver;
  try {
    driver = deps.driver(op.target.driver);
  } catch {
    return fail(deps, op, ctx.token, snapshot, new DriverError('unreachable', `no driver named '${op.target.driver}'`));
  }
  if (op.kind === 'clone') await cloneStarted(deps, op);
  try {
    let task = op.driverTask;
    let first: TaskState | undefined;
    if (!task) {
      // An admin's retry (payload.retryOf) follows an attempt that may have happened after all.
      const done = (op.attempts > 1 || op.payload.retryOf !== undefined) && (await alreadyDone(driver, op, snapshot));
      if (done) return succeed(deps, driver, op, ctx, snapshot);
      // The last moment to find out the operation went to another worker before the hypervisor acts twice.
      // A first attempt claimed a moment ago is still ours (a later one may follow a reconcile's
      // verdict on a stuck operation, which only a round trip would show).
      if (!(op.attempts === 1 && lease.fresh()) && !(await lease.renew())) throw new LeaseLost();
      task = await start(driver, op, snapshot);
      // Stored only while there is something to resume: a task already over when first asked needs
      // no reference (after a crash here, alreadyDone recognises what happened).
      first = await driver.taskStatus(op.target, task);
      if (first.state === 'running') {
        if (!(await repos.operations.setDriverTask(op.id, ctx.token, task))) throw new LeaseLost();
      } else op = { ...op, driverTask: task }; // recorded with the outcome instead
    }
    const state = await poll(driver, op, task, ctx, opts, first);
    if (state === 'released') {
      if (lease.lost) throw new LeaseLost();
      await repos.operations.requeue(op.id, ctx.token, new Date());
      return 'released';
    }
    if (state.state === 'failed') throw state.error;
    return succeed(deps, driver, op, ctx, snapshot);
  } catch (err) {
    if (err instanceof LeaseLost || lease.lost) throw err;
    if (ctx.signal.aborted) {
      await repos.operations.requeue(op.id, ctx.token, new Date());
      return 'released';
    }
    const error = err instanceof DriverError ? err : new DriverError('rejected', err instanceof Error ? err.message : String(err));
    // Deleting something already gone is what was asked for. Only the snapshot being gone counts: a
    // guest that is gone or elsewhere (guest_missing) leaves the snapshot where it was, for an admin.
    if (op.kind === 'delete' && error.code === 'not_found') return succeed(deps, driver, op, ctx, snapshot);
    if (error.transient && op.attempts < opts.maxAttempts) {
      const delay = opts.backoffMs * 2 ** (op.attempts - 1);
      await repos.operations.requeue(op.id, ctx.token, new Date(Date.now() + delay), { code: `driver_${error.code}`, message: error.detail }, true);
      return 'requeued';
    }
    return fail(deps, op, ctx.token, snapshot, error);
  }
}

function start(driver: SnapshotDriver, op: Operation, s: Snapshot): Promise<string> {
  switch (op.kind) {
    case 'create': return driver.create(op.target, { name: s.hvName, description: s.description, includeMemory: s.includeMemory });
    case 'delete': return driver.delete(op.target, s.hvName);
    case 'restore': return driver.restore(op.target, s.hvName, { startAfter: op.payload.startAfter !== false });
    case 'clone': return startClone(driver, op, s);
  }
}

/** After a crash between starting a task and storing its reference: did the change already happen? */
async function alreadyDone(driver: SnapshotDriver, op: Operation, s: Snapshot): Promise<boolean> {
  if (op.kind === 'restore') return false;
  if (op.kind === 'clone') return cloneAlreadyDone(driver, op);
  const found = (await driver.list(op.target)).find((x) => x.name === s.hvName);
  // An unfinished snapshot (a create still running or dead half way, a delete that failed) is neither
  // made nor gone: the create is not done, and the delete still has work left.
  return op.kind === 'create' ? found !== undefined && !found.incomplete : found === undefined;
}

/** Polls the task until it ends; `first` is a status just read, saving the first call. */
async function poll(driver: SnapshotDriver, op: Operation, task: string, ctx: ExecuteContext, opts: ExecuteOptions,
  first?: TaskState): Promise<TaskState | 'released'> {
  const startedAt = Date.now();
  let known = first;
  for (;;) {
    const state = known ?? await driver.taskStatus(op.target, task);
    known = undefined;
    if (state.state !== 'running') return state;
    const limit = op.kind === 'clone' ? opts.cloneTimeoutMs ?? opts.operationTimeoutMs : opts.operationTimeoutMs;
    if (Date.now() - startedAt > limit) {
      return { state: 'failed', error: new DriverError('timeout', `task ${task} still running after ${limit} ms`) };
    }
    try {
      await sleep(opts.taskPollMs, undefined, { signal: ctx.signal });
    } catch {
      return 'released';
    }
  }
}

/**
 * The snapshot's new state, the operation's end and its audit event commit together (with those of
 * other operations ending at the same moment, see OutcomeBatcher), so nobody ever sees a snapshot
 * already Current while its operation still runs (or the reverse); notifications and retention follow.
 */
async function succeed(deps: DomainDeps, driver: SnapshotDriver, op: Operation, ctx: AttemptContext, s: Snapshot): Promise<ExecuteOutcome> {
  const { repos } = deps;
  const { token } = ctx;
  if (op.kind === 'clone') {
    if (!(await cloneSettled(deps, driver, op, s, (trx) => repos.operations.finish(op.id, token, 'succeeded', null, trx, op.driverTask), null))) throw new LeaseLost();
    return 'succeeded';
  }
  const info = op.kind === 'create' ? (await driver.list(op.target).catch(() => [])).find((x) => x.name === s.hvName) : undefined;
  const sizes = info ? { diskBytes: info.diskBytes ?? null, memoryBytes: info.memoryBytes ?? null } : undefined;
  // Refused once the lease went to another worker: nothing of this outcome is written, theirs stands.
  if (!(await ctx.outcomes.write({ op, token, snapshot: s, sizes }))) throw new LeaseLost();
  const type = op.kind === 'create' ? 'snapshot_created' : op.kind === 'restore' ? 'snapshot_restored' : 'snapshot_deleted';
  const cause = { type: op.origin, id: op.requestedBy } as AuditActor;
  await deps.notifier.notify({ type, serviceId: s.serviceId, params: { name: s.name }, cause });
  if (op.kind === 'create') await notifyIfLimitReached(deps, s, cause).catch(() => undefined); // mail only; never fails the operation
  if (op.kind === 'create') await settled(deps, { ...s, status: 'active' }, true, null);
  return 'succeeded';
}

async function fail(deps: DomainDeps, op: Operation, token: string, s: Snapshot, error: DriverError): Promise<ExecuteOutcome> {
  const { repos } = deps;
  const code = `driver_${error.code}`;
  if (op.kind === 'clone') {
    // The snapshot a clone read is as it was: only the clone failed.
    if (!(await cloneSettled(deps, driverOrNull(deps, op), op, s, (trx) => repos.operations.finish(op.id, token, 'failed', { code, message: error.detail }, trx, op.driverTask), error))) throw new LeaseLost();
    return 'failed';
  }
  // A create that fails cleanly occupies nothing; one that timed out may have left something behind.
  // A refused restore leaves the snapshot usable, unless the hypervisor says it never was complete.
  const to = op.kind === 'create' ? (error.code === 'timeout' ? 'error' : 'failed')
    : op.kind === 'restore' ? (error.code === 'timeout' || error.code === 'snapshot_incomplete' ? 'error' : 'active')
      : 'error';
  await deps.transaction(async (trx) => {
    await repos.snapshots.transition(s.id, s.status, { status: to, errorCode: code, errorMessage: error.detail.slice(0, 1000) }, trx);
    if (!(await repos.operations.finish(op.id, token, 'failed', { code, message: error.detail }, trx, op.driverTask))) throw new LeaseLost();
    await repos.audit.record({
      actor: { type: op.origin, id: op.requestedBy } as AuditActor, serviceId: s.serviceId, snapshotId: s.id, snapshotName: s.name,
      action: `operation.${op.kind}`, result: 'failed', fromStatus: s.status, toStatus: to, code, details: { operationId: op.id, detail: error.detail },
    }, trx);
  });
  const type = op.kind === 'create' ? 'snapshot_failed' : op.kind === 'restore' ? 'restore_failed' : 'delete_failed';
  await deps.notifier.notify({ type, serviceId: s.serviceId, params: { name: s.name, code }, cause: { type: op.origin, id: op.requestedBy } as AuditActor });
  if (op.kind === 'create') await settled(deps, { ...s, status: to }, false, code);
  return 'failed';
}

/** Lets the scheduler react to a finished create; its failure must not undo the operation's outcome. */
async function settled(deps: DomainDeps, s: Snapshot, ok: boolean, code: string | null): Promise<void> {
  try {
    await deps.onCreateSettled?.(s, ok, code);
  } catch {
    // Retention runs again after the schedule's next snapshot; nothing is lost by skipping it once.
  }
}

/** The operation's driver, or null when no driver has its name (a failed clone then cleans up nothing). */
function driverOrNull(deps: DomainDeps, op: Operation): SnapshotDriver | null {
  try {
    return deps.driver(op.target.driver);
  } catch {
    return null;
  }
}
