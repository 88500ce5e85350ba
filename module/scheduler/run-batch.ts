import type { Knex } from 'knex';
import { TurnBatcher } from '../domain/turn-batcher.js';
import { clampSchedule } from '../domain/plan-change.js';
import type { PlanLimits } from '../domain/limits.js';
import { generateHypervisorName, normalizeSnapshotName } from '../domain/names.js';
import { createdEvent } from '../domain/create-snapshot.js';
import { newOperation } from '../domain/snapshot-records.js';
import type { PanelService, Schedule } from '../domain/types.js';
import type { NewSnapshot } from '../db/snapshots-repo.js';
import { runSchedule, scheduledSnapshotName, scheduleContext, scheduleRunEvent, type RunResult, type ScheduleRunDeps } from './run-schedule.js';

interface Pending {
  scheduleId: number;
  at: Date;
  resolve(result: RunResult): void;
  reject(err: unknown): void;
}

/** A run that takes the common path: enabled, service open with room, nothing to clamp or rotate. */
interface Plain {
  p: Pending;
  schedule: Schedule;
  service: PanelService;
  limits: PlanLimits;
  /** The snapshot's name, as createSnapshot would store it. */
  name: string;
}

/** What a batch's transaction did: the runs it created, those left to go alone, the services to wake. */
interface Created {
  created: Plain[];
  deferred: Pending[];
  wake: Array<[serviceId: string, queuedBefore: boolean]>;
}

/** Rolls a batch back: one of its occurrences was recorded meanwhile; each run then goes alone. */
class RecordedMeanwhile extends Error {}

/**
 * Scheduled runs that fall due together (the Sunday rush) share their statements: while one batch is
 * in the database, the runs that arrive wait and form the next. A batch reads its schedules with their
 * services and limits in one statement and creates the snapshots of its common runs in one
 * transaction: the services locked (in key order) with their counts, the snapshots, their operations,
 * the schedules' outcomes and every audit event each in one statement. That is runSchedule's work for
 * each run, with its locks and its all-or-nothing commit; any run off the common path (disabled,
 * paused, gone, at its limit, limits lowered, memory) and every run of a batch that fails goes
 * through runSchedule alone, which decides it afresh. A run alone takes runSchedule's path directly.
 */
export class ScheduleRunBatcher {
  private readonly batcher: TurnBatcher<Pending>;

  constructor(private readonly r: ScheduleRunDeps, maxBatch = 50) {
    // Runs Agenda starts in the same turn (a queue it just filled) join the first batch.
    this.batcher = new TurnBatcher((batch) => this.runBatch(batch), maxBatch);
  }

  run(scheduleId: number, at: Date): Promise<RunResult> {
    return new Promise((resolve, reject) => this.batcher.add({ scheduleId, at, resolve, reject }));
  }

  private alone(p: Pending): Promise<void> {
    return runSchedule(this.r, p.scheduleId, p.at).then(p.resolve, p.reject);
  }

  private async runBatch(batch: Pending[]): Promise<void> {
    const at = batch[0]!.at;
    // One run, or runs of different occurrence times (recorded by one conditional UPDATE each): alone.
    if (batch.length === 1 || batch.some((p) => p.at.getTime() !== at.getTime())) {
      await Promise.all(batch.map((p) => this.alone(p)));
      return;
    }
    let created: Plain[] = [];
    const others: Pending[] = [];
    try {
      const read = await this.r.deps.repos.schedules.getManyWithService(batch.map((p) => p.scheduleId));
      const plain: Plain[] = [];
      for (const p of batch) {
        const found = read.get(p.scheduleId);
        const s = found?.schedule;
        const loaded = s && s.enabled && !s.includeMemory && !(s.lastRunAt && s.lastRunAt.getTime() >= at.getTime())
          ? await this.r.serviceFromRecorded(s.serviceId, found.recorded) : null;
        const name = s && loaded ? nameOf(s, at, this.r) : null;
        if (s && loaded && name && loaded.service.status === 'active' && !clampSchedule(loaded.limits, s)) plain.push({ p, schedule: s, name, ...loaded });
        else others.push(p);
      }
      // Services met for the first time get their state row first (createSnapshot does the same alone).
      const unseen = new Map(plain.filter((x) => !read.get(x.p.scheduleId)!.recorded.state).map((x) => [x.service.id, x.service.planId]));
      await this.r.deps.repos.services.ensureMany([...unseen].map(([serviceId, planId]) => ({ serviceId, planId })));
      if (plain.length > 1) {
        const done = await this.r.deps.transaction((trx) => this.create(trx, plain, at));
        created = done.created;
        others.push(...done.deferred);
        for (const [id, queuedBefore] of done.wake) this.r.deps.wake(id, queuedBefore);
      } else others.push(...plain.map((x) => x.p));
    } catch {
      // Each run decides afresh on its own (a run already recorded finds it so).
      created = [];
      others.splice(0, others.length, ...batch);
    }
    for (const x of created) x.p.resolve('started');
    await Promise.all(others.map((p) => this.alone(p)));
  }

  /**
   * The common runs' creates in `trx`. Runs whose service has no state row yet, is closed or has no
   * room left are deferred (runSchedule rotates or refuses them alone).
   */
  private async create(trx: Knex.Transaction, plain: Plain[], at: Date): Promise<Created> {
    const { repos } = this.r.deps;
    const serviceIds = [...new Set(plain.map((x) => x.service.id))].sort();
    const locks = await repos.snapshots.lockManyForCreate(trx, serviceIds);
    const taken = new Map<string, number>();
    const out: Created = { created: [], deferred: [], wake: [] };
    for (const x of plain) {
      const lock = locks.get(x.service.id);
      const used = (lock?.occupying ?? 0) + (taken.get(x.service.id) ?? 0);
      if (!lock || lock.clonePending || lock.suspended || lock.terminated || used >= x.limits.maxSnapshots) {
        out.deferred.push(x.p);
        continue;
      }
      taken.set(x.service.id, (taken.get(x.service.id) ?? 0) + 1);
      out.created.push(x);
    }
    const { created } = out;
    if (!created.length) return out;
    const patch = { lastRunAt: at, lastResult: 'started', lastError: null };
    // Two runs of one occurrence (one outliving its lock): the whole batch rolls back, and each run
    // alone finds whether its occurrence was recorded.
    if ((await repos.schedules.recordRuns(created.map((x) => x.schedule.id), patch, trx)) !== created.length) throw new RecordedMeanwhile();
    const now = new Date();
    const snapshots = await repos.snapshots.insertMany(created.map((x): NewSnapshot => ({
      serviceId: x.service.id, name: x.name, description: null, includeMemory: false, status: 'creating',
      hvName: generateHypervisorName(this.r.deps.namePrefix, now), origin: 'schedule', scheduleId: x.schedule.id, createdBy: String(x.schedule.id),
    })), trx);
    await repos.operations.insertMany(created.map((x, i) => newOperation(x.service, snapshots[i]!.id, 'create', scheduleContext(x.schedule))), trx);
    await repos.audit.record(created.flatMap((x, i) => [
      createdEvent(scheduleContext(x.schedule), x.service, snapshots[i]!), scheduleRunEvent(x.schedule, at, 'started', null),
    ]), trx);
    // As createSnapshot: a service with operations queued before has a job that claims these too.
    out.wake = serviceIds.filter((id) => taken.has(id)).map((id) => [id, locks.get(id)!.queuedOperations > 0]);
    return out;
  }
}

/** The snapshot's name as a create would store it; null when it would refuse it (the run goes alone). */
function nameOf(schedule: Schedule, at: Date, r: ScheduleRunDeps): string | null {
  try {
    return normalizeSnapshotName(scheduledSnapshotName(schedule, at, r.nameFormats));
  } catch {
    return null;
  }
}
