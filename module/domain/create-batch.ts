import type { Knex } from 'knex';
import { TurnBatcher } from './turn-batcher.js';
import { assertRoom, createdEvent, createPrepared, newCreateRecord, snapshotLimit, type CreateOptions, type PreparedCreate } from './create-snapshot.js';
import type { ActionContext, DomainDeps } from './deps.js';
import { assertServiceOpen } from './service-guard.js';
import { newOperation } from './snapshot-records.js';
import type { PanelService, Snapshot } from './types.js';

/** A prepared create that cannot rotate and writes nothing alongside: one createSnapshot may batch. */
export interface BatchedCreate {
  service: PanelService;
  prepared: PreparedCreate;
  ctx: ActionContext;
  opts: CreateOptions;
}

interface Pending extends BatchedCreate {
  resolve(snapshot: Snapshot): void;
  reject(err: unknown): void;
}

/** What a batch's transaction decided for each of its creates. */
interface Decided {
  created: Array<{ p: Pending; snapshot: Snapshot }>;
  refused: Array<{ p: Pending; err: unknown }>;
  /** Creates whose service has no state row yet (alone, they make it) or records another plan (alone, they read its limits). */
  alone: Pending[];
  /** Services to wake after the commit, and whether they had operations queued before (see createPrepared). */
  wake: Array<[serviceId: string, queuedBefore: boolean]>;
}

/**
 * Group commit for creates: those that arrive together (in one event-loop turn, or while a batch is
 * in the database) share one transaction. Their services are locked in key order with their counts
 * and snapshot limits (one statement); each create is then decided on its own under those locks as
 * createPrepared decides it (service open, quota), those of one service counted together, so a
 * batch never exceeds a limit; a refused create gets its own typed error and the others go on. The
 * records, their operations and their audit events are then inserted by one statement each. Any
 * database error rolls the batch back and each create goes alone (createPrepared), deciding afresh.
 */
export class CreateBatcher {
  private readonly queue: TurnBatcher<Pending>;

  constructor(private readonly deps: DomainDeps, maxBatch = 50) {
    this.queue = new TurnBatcher((batch) => this.run(batch), maxBatch);
  }

  /** The create's snapshot once its batch has committed, or its refusal. */
  create(c: BatchedCreate): Promise<Snapshot> {
    return new Promise((resolve, reject) => this.queue.add({ ...c, resolve, reject }));
  }

  private alone(p: Pending): Promise<void> {
    return createPrepared(this.deps, p.service, p.prepared, p.ctx, p.opts).then(p.resolve, p.reject);
  }

  private async run(batch: Pending[]): Promise<void> {
    if (batch.length === 1) return this.alone(batch[0]!);
    let decided: Decided;
    try {
      decided = await this.deps.transaction((trx) => this.decide(trx, batch));
    } catch {
      await Promise.all(batch.map((p) => this.alone(p)));
      return;
    }
    for (const [id, queuedBefore] of decided.wake) this.deps.wake(id, queuedBefore);
    for (const { p, snapshot } of decided.created) p.resolve(snapshot);
    for (const { p, err } of decided.refused) p.reject(err);
    await Promise.all(decided.alone.map((p) => this.alone(p)));
  }

  private async decide(trx: Knex.Transaction, batch: Pending[]): Promise<Decided> {
    const { repos } = this.deps;
    const locks = await repos.snapshots.lockManyForCreate(trx, batch.map((p) => p.service.id), batch.some((p) => !p.prepared.limits));
    const out: Decided = { created: [], refused: [], alone: [], wake: [] };
    const taken = new Map<string, number>();
    const accepted: Pending[] = [];
    for (const p of batch) {
      const lock = locks.get(p.service.id);
      const max = lock ? snapshotLimit(this.deps, p.service, p.prepared, lock) : null;
      if (!lock || max === null) {
        out.alone.push(p);
        continue;
      }
      try {
        assertServiceOpen(lock, p.ctx.actor);
        assertRoom(lock.occupying + (taken.get(p.service.id) ?? 0), max);
      } catch (err) {
        out.refused.push({ p, err });
        continue;
      }
      taken.set(p.service.id, (taken.get(p.service.id) ?? 0) + 1);
      accepted.push(p);
    }
    if (!accepted.length) return out;
    const now = new Date();
    const snapshots = await repos.snapshots.insertMany(accepted.map((p) => newCreateRecord(this.deps, p.service, p.prepared, p.ctx, p.opts, now)), trx);
    await repos.operations.insertMany(accepted.map((p, i) => newOperation(p.service, snapshots[i]!.id, 'create', p.ctx)), trx);
    await repos.audit.record(accepted.map((p, i) => createdEvent(p.ctx, p.service, snapshots[i]!)), trx);
    out.created = accepted.map((p, i) => ({ p, snapshot: snapshots[i]! }));
    out.wake = [...taken.keys()].map((id) => [id, locks.get(id)!.queuedOperations > 0]);
    return out;
  }
}
