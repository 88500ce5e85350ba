import type { Agenda } from 'agenda';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import type { SnapshotModuleConfig } from '../config/options.js';
import type { WebhookEventsRepo } from '../db/webhook-events-repo.js';
import type { ActionContext, DomainDeps } from '../domain/deps.js';
import type { SchedulerPort } from '../domain/schedule-service.js';
import { AgendaOperationRunner } from '../operations/agenda-runner.js';
import { executeOperation } from '../operations/execute-operation.js';
import { OutcomeBatcher } from '../operations/outcome-batcher.js';
import { AgendaScheduler } from '../scheduler/agenda-scheduler.js';
import { KnexBackend } from '../scheduler/knex-backend/index.js';
import { defineLimitsApplyJob } from '../scheduler/limits-apply-job.js';
import type { ReconcileSummary } from '../scheduler/reconcile.js';
import { ScheduleRunBatcher } from '../scheduler/run-batch.js';
import { recordMissed, type ScheduleRunDeps } from '../scheduler/run-schedule.js';

const RECONCILE_JOB = 'snapshot-reconcile';

/** Schedules the start-up sync reads and writes per step. */
const SYNC_CHUNK = 1_000;

export interface WorkersInput {
  db: Knex;
  logger: Logger;
  config: SnapshotModuleConfig;
  webhookEvents: WebhookEventsRepo;
}

/** What the workers run: the domain's operations, schedule runs, reconcile and limit edits. */
export interface WorkersWork {
  deps: DomainDeps;
  scheduleRuns: ScheduleRunDeps;
  reconcile(): Promise<ReconcileSummary[]>;
  applyLimitsNow(serviceIds: string[], ctx: ActionContext): Promise<void>;
}

/**
 * The module's background work, on two Agenda instances over the module's own job table
 * (`snapshot_jobs`, through the knex backend):
 *
 * - **Operations** (`AgendaOperationRunner`, in every started process): one job per service with
 *   queued work (`snapshot-operations`), the orphan sweep that also prunes old webhook deliveries and handovers
 *   (`snapshot-operations-sweep`), and an admin's large limit edits (`snapshot-limits-apply`).
 *   Short leases kept alive by a heartbeat, a fast poll and a local wake: a customer waits on these.
 * - **Schedules** (`AgendaScheduler`): one job per enabled schedule (its cron in the schedule's own
 *   timezone) and the periodic reconcile (`snapshot-reconcile`). Its jobs run only where
 *   `scheduler.enabled`, with long locks and a grace window for missed runs; every process still uses
 *   it to write schedule changes to the job store and read next executions.
 *
 * Two instances because the two kinds want opposite settings (lock lifetime, concurrency, polling)
 * and different processes: a web-only panel process runs operations but no schedule jobs.
 */
export class ModuleWorkers {
  private runner: AgendaOperationRunner | null = null;
  private schedules: AgendaScheduler | null = null;

  /**
   * Built before the domain (which wakes the workers and syncs schedules through them) and started
   * with what the domain makes them run; until then wake and scheduler do nothing.
   */
  constructor(private readonly o: WorkersInput) {}

  /** Tells the operation runner there is work (nothing before start: the sweep finds it then). */
  wake(serviceId?: string, queuedBefore?: boolean): void {
    this.runner?.wake(serviceId, queuedBefore);
  }

  /** The job scheduler, once started (schedule changes made before it are synced at start). */
  scheduler(): SchedulerPort | null {
    return this.schedules;
  }

  /** The operations' Agenda, once started (for durable background jobs such as limits-apply). */
  agenda(): Agenda | null {
    return this.runner?.agenda ?? null;
  }

  /** Starts both (each once); queued and interrupted operations resume. */
  async start(work: WorkersWork): Promise<void> {
    const { db, logger, config } = this.o;
    const { deps, scheduleRuns } = work;
    const workerName = `snapshots-${hostname()}-${process.pid}-${randomUUID().slice(0, 6)}`;
    if (!this.runner) {
      // Agenda's write at a run's start waits to be replaced by its end write (see DeferredStarts),
      // for a small part of the lease so that a heartbeat it holds back is never late.
      const backend = new KnexBackend({ db, deferRunStartMs: Math.min(1000, config.operations.leaseMs / 10) });
      await backend.connect(); // Agenda's constructor would swallow this error; surface it here.
      // Operations ending together write their outcomes in one transaction (see OutcomeBatcher).
      const outcomes = new OutcomeBatcher(deps, { logger });
      const runner = new AgendaOperationRunner({
        backend, operations: deps.repos.operations, logger, workerName, ...config.operations,
        housekeeping: async () => {
          await this.o.webhookEvents.prune(new Date(Date.now() - config.webhookEventRetentionMs));
          await deps.repos.clones.pruneHandovers(new Date());
        },
        execute: (op, execCtx) => executeOperation(deps, op, execCtx, config.operations, outcomes),
      });
      defineLimitsApplyJob(runner.agenda, work.applyLimitsNow);
      await runner.start();
      this.runner = runner;
    }
    if (!this.schedules) {
      // Runs falling due together share their statements (see ScheduleRunBatcher).
      const runs = new ScheduleRunBatcher(scheduleRuns);
      const schedules = new AgendaScheduler({
        backend: new KnexBackend({ db, deferRunStartMs: Math.min(1000, config.scheduler.lockLifetimeMs / 10) }), logger, ...config.scheduler, workerName,
        run: (id, at) => runs.run(id, at),
        missed: (id, at) => recordMissed(scheduleRuns, id, at),
      });
      if (config.scheduler.enabled) {
        // Jobs follow the schedules table: repairs anything saved while no scheduler ran. A chunk at a
        // time, so ten thousand schedules and their jobs are never all in memory at once.
        for (let after = 0; ;) {
          const chunk = await deps.repos.schedules.listEnabledAfter(after, SYNC_CHUNK);
          if (!chunk.length) break;
          await schedules.syncAll(chunk);
          after = chunk.at(-1)!.id;
        }
        if (config.scheduler.reconcileEveryMs > 0) {
          schedules.agenda.define(RECONCILE_JOB, async () => { await work.reconcile(); });
          // A single job shared by every worker: each pass runs once, wherever.
          await schedules.agenda.every(config.scheduler.reconcileEveryMs, RECONCILE_JOB);
        }
        await schedules.start();
      }
      this.schedules = schedules;
    }
  }

  /** Schedule runs in progress finish; running operations go back to the queue or, with `drain`, are waited for. */
  async stop(options: { drain?: boolean } = {}): Promise<void> {
    const schedules = this.schedules;
    this.schedules = null;
    await schedules?.stop();
    await this.runner?.stop(options);
    this.runner = null;
  }
}
