import type { Logger } from 'pino';
import type { NewAuditEvent } from '../db/audit-repo.js';
import type { DomainDeps } from '../domain/deps.js';
import type { AuditActor, Operation, Snapshot } from '../domain/types.js';
import { distinctByKeys, TurnBatcher } from '../domain/turn-batcher.js';
import { LeaseLost } from './lease-lost.js';

/** A create, restore or delete that ended well on the hypervisor: what its outcome writes. */
export interface SuccessOutcome {
  op: Operation;
  /** The claim token: the outcome is written only while it still holds the operation. */
  token: string;
  /** The snapshot as the operation read it. */
  snapshot: Snapshot;
  /** A create's sizes as the hypervisor lists the new snapshot (null: not listed). */
  sizes?: { diskBytes: number | null; memoryBytes: number | null };
}

/** Writes success outcomes; resolves false when the lease was lost (nothing of that outcome written). */
export interface OutcomeWriter {
  write(outcome: SuccessOutcome): Promise<boolean>;
}

type Deps = Pick<DomainDeps, 'repos' | 'transaction'>;

/** Rolls a batch back: one of its members is not as it expected; each then goes alone. */
class NotAsExpected extends Error {}

/** What a scheduled snapshot's outcome records on its schedule (retention then reads it, see applyRetention). */
const SCHEDULE_OK = { lastResult: 'ok', lastError: null } as const;

/** The schedule a create's outcome records as ok: that of a scheduled snapshot. */
function scheduleOf({ op, snapshot: s }: SuccessOutcome): number | null {
  return op.kind === 'create' && s.origin === 'schedule' ? s.scheduleId : null;
}

function successEvent({ op, snapshot: s }: SuccessOutcome): NewAuditEvent {
  return {
    actor: { type: op.origin, id: op.requestedBy } as AuditActor, serviceId: s.serviceId, snapshotId: s.id, snapshotName: s.name,
    action: `operation.${op.kind}`, result: 'ok', fromStatus: s.status, toStatus: op.kind === 'delete' ? 'deleted' : 'active',
    details: { operationId: op.id, attempts: op.attempts },
  };
}

/**
 * One outcome in a transaction of its own: a scheduled snapshot's schedule marked ok, the snapshot's
 * transition (if it is still in the state the operation moves it from), the operation finished (only
 * while `token` holds it: otherwise the whole outcome rolls back, and false), its audit event. The
 * schedule comes first, as in a batch: a scheduled run's transaction locks the schedule before it
 * inserts its snapshot, so an outcome holding snapshot rows must not wait for a schedule.
 */
export async function writeSuccess(deps: Deps, o: SuccessOutcome): Promise<boolean> {
  const { snapshots, operations, audit, schedules } = deps.repos;
  const { op, snapshot: s } = o;
  const scheduleId = scheduleOf(o);
  try {
    await deps.transaction(async (trx) => {
      if (scheduleId !== null) await schedules.update(scheduleId, SCHEDULE_OK, trx);
      if (op.kind === 'create') {
        await snapshots.transition(s.id, 'creating', {
          status: 'active', completedAt: new Date(), diskBytes: o.sizes?.diskBytes ?? null, memoryBytes: o.sizes?.memoryBytes ?? null,
        }, trx);
      } else if (op.kind === 'restore') {
        await snapshots.transition(s.id, 'restoring', { status: 'active' }, trx);
      } else {
        await snapshots.remove(s.id, trx);
      }
      if (!(await operations.finish(op.id, o.token, 'succeeded', null, trx, op.driverTask))) throw new LeaseLost();
      await audit.record(successEvent(o), trx);
    });
    return true;
  } catch (err) {
    if (err instanceof LeaseLost) return false;
    throw err;
  }
}

/**
 * writeSuccess for several outcomes in one transaction: the schedules marked ok in one statement (in
 * key order), the snapshots' transitions one statement per kind, the operations finished in one (each
 * by its own holder), every audit event in one insert. Any count off what the members expect (a lease
 * lost, a snapshot moved or gone meanwhile) throws NotAsExpected and the whole batch rolls back.
 */
async function writeBatch(deps: Deps, list: SuccessOutcome[]): Promise<void> {
  const { snapshots, operations, audit, schedules } = deps.repos;
  const of = (kind: Operation['kind']) => list.filter((o) => o.op.kind === kind);
  const [creates, restores, deletes] = [of('create'), of('restore'), of('delete')];
  const scheduleIds = [...new Set(list.map(scheduleOf).filter((id) => id !== null))].sort((a, b) => a - b);
  await deps.transaction(async (trx) => {
    // A schedule gone meanwhile is no member's concern: retention finds it gone too.
    if (scheduleIds.length) await schedules.updateMany(scheduleIds, SCHEDULE_OK, trx);
    let moved = 0;
    if (creates.length) moved += await snapshots.activateMany('creating', creates.map((o) => ({ id: o.snapshot.id, ...o.sizes })), trx);
    if (restores.length) moved += await snapshots.activateMany('restoring', restores.map((o) => ({ id: o.snapshot.id })), trx);
    if (deletes.length) moved += await snapshots.removeMany(deletes.map((o) => o.snapshot.id), trx);
    if (moved !== list.length) throw new NotAsExpected();
    const finished = await operations.succeedMany(list.map((o) => ({ id: o.op.id, holder: o.token, driverTask: o.op.driverTask })), trx);
    if (finished !== list.length) throw new NotAsExpected();
    await audit.record(list.map(successEvent), trx);
  });
}

interface Pending {
  outcome: SuccessOutcome;
  resolve(written: boolean): void;
  reject(err: unknown): void;
}


/**
 * Success outcomes of operations that end together share one transaction (see writeBatch): while one
 * batch is in the database, the outcomes that arrive wait and form the next. Each member's rules are
 * writeSuccess's; a batch that is not as its members expect, or fails, is rolled back and each member
 * goes through writeSuccess alone, which decides it afresh. An outcome alone takes writeSuccess directly.
 */
export class OutcomeBatcher implements OutcomeWriter {
  // Outcomes of the same event-loop turn join the first batch. Waiting a few milliseconds longer
  // gathered no more in the benchmark (operations end spread out by their claims) and delays each.
  private readonly queue: TurnBatcher<Pending>;

  /**
   * `maxBatch`: outcomes written together at most; `logger`: told when a batch fails in the database
   * (each member is then written alone, so nothing is lost, but a batch failing often is worth seeing).
   */
  constructor(private readonly deps: Deps, private readonly o: { maxBatch?: number; logger?: Pick<Logger, 'warn'> } = {}) {
    this.queue = new TurnBatcher((batch) => this.runBatch(batch), o.maxBatch ?? 50);
  }

  write(outcome: SuccessOutcome): Promise<boolean> {
    return new Promise((resolve, reject) => this.queue.add({ outcome, resolve, reject }));
  }

  private async runBatch(batch: Pending[]): Promise<void> {
    // One operation or one snapshot twice in a batch (a claim taken over within this process): the
    // second goes alone, so every count the batch checks is one row per member.
    const { first: together, again: alone } = distinctByKeys(batch, (p) => [`op${p.outcome.op.id}`, `sn${p.outcome.snapshot.id}`]);
    if (together.length > 1) {
      try {
        await writeBatch(this.deps, together.map((p) => p.outcome));
        for (const p of together) p.resolve(true);
      } catch (err) {
        // A member not as expected (its lease lost, its snapshot moved) is the usual reason, and no news.
        if (!(err instanceof NotAsExpected)) this.o.logger?.warn({ err, outcomes: together.length }, 'snapshot module: an outcome batch failed; writing each outcome alone');
        alone.unshift(...together);
      }
    } else alone.unshift(...together);
    await Promise.all(alone.map((p) => writeSuccess(this.deps, p.outcome).then(p.resolve, p.reject)));
  }
}
