import { Agenda, type Job, type JobParameters } from 'agenda';
import type { Logger } from 'pino';
import type { SchedulerPort } from '../domain/schedule-service.js';
import { scheduleCron } from '../domain/schedules.js';
import type { Schedule } from '../domain/types.js';
import type { KnexBackend } from './knex-backend/index.js';
import { AgendaNextRuns } from './agenda-next-runs.js';
import { PreviousOccurrences } from './occurrences.js';
import type { RunResult } from './run-schedule.js';

export { previousOccurrence } from './occurrences.js';

export const SCHEDULE_JOB = 'snapshot-schedule';

/** The `.unique()` query that makes a schedule's job one row; its hash is the row's indexed unique_key. */
export const scheduleJobKey = (scheduleId: number) => ({ 'data.scheduleId': scheduleId });

export interface AgendaSchedulerOptions {
  /** Ours, not any AgendaBackend: next runs and removals go straight to its unique_key index. */
  backend: KnexBackend;
  logger: Logger;
  /** Runs one occurrence; `at` is the occurrence's own time, not the time the worker got to it. */
  run(scheduleId: number, at: Date): Promise<RunResult>;
  /** Records an occurrence that was not run because the panel was down past the grace window. */
  missed(scheduleId: number, at: Date): Promise<void>;
  /** How late an occurrence may still run (e.g. the panel restarted a few minutes after 03:00). */
  graceMs: number;
  processEveryMs: number;
  /** Schedule runs one worker process handles at once. */
  concurrency: number;
  /**
   * How long a claimed schedule job stays locked; a dead worker's jobs go to the others after this
   * long. Schedule jobs only: the reconcile pass can take longer and keeps Agenda's default.
   */
  lockLifetimeMs: number;
  workerName: string;
}

/**
 * Each enabled schedule is one Agenda job repeating on its cron expression in its own IANA timezone;
 * Agenda's job store is the panel's database. Implements the domain's SchedulerPort.
 */
export class AgendaScheduler implements SchedulerPort {
  readonly agenda: Agenda;
  private readonly occurrences = new PreviousOccurrences();
  /** Each claimed job's next run, computed once per pattern and span of runs (see AgendaNextRuns). */
  readonly nextRunCache = new AgendaNextRuns();

  constructor(private readonly o: AgendaSchedulerOptions) {
    this.agenda = new Agenda({
      backend: o.backend,
      name: o.workerName,
      processEvery: o.processEveryMs,
      defaultConcurrency: o.concurrency,
      maxConcurrency: o.concurrency * 2,
    });
    this.agenda.define(SCHEDULE_JOB, (job: Job<{ scheduleId: number; cron: string; timezone: string }>) => this.handle(job), {
      concurrency: o.concurrency, lockLifetime: o.lockLifetimeMs,
    });
    this.agenda.on('error', (err) => o.logger.error({ err }, 'snapshot scheduler: agenda error'));
  }

  async start(): Promise<void> {
    await this.agenda.start();
    this.nextRunCache.install(this.agenda);
  }

  /** Stops taking new runs and waits for the ones in progress. */
  async stop(): Promise<void> {
    await this.agenda.drain();
    await this.o.backend.idle();
  }

  async sync(schedule: Schedule): Promise<void> {
    await this.syncAll([schedule]);
  }

  /**
   * Makes the schedules' jobs match them, leaving alone the jobs already in step (same cron expression
   * and timezone). Saving recomputes the next run from now, so re-saving an unchanged job would move an
   * occurrence that is due but not yet run (a worker starting mid-rush, or a panel back up within the
   * grace window) to next week, where it is neither run nor recorded as missed.
   */
  async syncAll(schedules: Schedule[]): Promise<void> {
    const enabled = schedules.filter((s) => s.enabled);
    const jobs = enabled.length ? await this.o.backend.repository.findUnique(SCHEDULE_JOB, enabled.map((s) => scheduleJobKey(s.id))) : [];
    const existing = new Map(enabled.map((s, i) => [s.id, jobs[i] ?? null]));
    const changed: { job: JobParameters; unique: Record<string, unknown> }[] = [];
    // Schedules cluster on a few times (03:00 in a few zones): each cron and timezone's next run is
    // computed once. Agenda's computation (cron-parser over luxon) cost ~0.4 ms and ~5 kB of garbage
    // a job, most of a first start with ten thousand schedules.
    const nextRuns = new Map<string, Date>();
    for (const schedule of schedules) {
      if (!schedule.enabled) {
        await this.remove(schedule.id);
        continue;
      }
      const cron = scheduleCron(schedule);
      const current = existing.get(schedule.id);
      if (current && !current.disabled && current.nextRunAt && current.repeatInterval === cron && current.repeatTimezone === schedule.timezone) continue;
      // Agenda computes the next run (its cron, the timezone, skipImmediate); the rows are then
      // written together: one save per job made a first start with 10,000 schedules take a minute.
      const job = this.agenda.create(SCHEDULE_JOB, { scheduleId: schedule.id, cron, timezone: schedule.timezone });
      const key = `${cron}|${schedule.timezone}`;
      const known = nextRuns.get(key);
      // A remembered next run that has come meanwhile is computed again, as Agenda would now.
      if (known && known.getTime() > Date.now()) Object.assign(job.attrs, { repeatInterval: cron, repeatTimezone: schedule.timezone, nextRunAt: known });
      else {
        job.repeatEvery(cron, { timezone: schedule.timezone, skipImmediate: true });
        if (job.attrs.nextRunAt) nextRuns.set(key, job.attrs.nextRunAt);
      }
      changed.push({ job: job.toJson(true), unique: scheduleJobKey(schedule.id) });
    }
    await this.o.backend.repository.saveUniqueMany(changed, this.agenda.attrs.name || undefined);
  }

  /** Deletes the schedule's job by its unique key (Agenda's cancel by data would read every job). */
  async remove(scheduleId: number): Promise<void> {
    await this.o.backend.repository.removeUnique(SCHEDULE_JOB, scheduleJobKey(scheduleId));
  }

  /** Next runs of just these schedules, looked up by their jobs' unique keys (one indexed query). */
  async nextRuns(scheduleIds: number[]): Promise<Map<number, Date | null>> {
    const jobs = scheduleIds.length ? await this.o.backend.repository.findUnique(SCHEDULE_JOB, scheduleIds.map(scheduleJobKey)) : [];
    return new Map(scheduleIds.map((id, i) => {
      const job = jobs[i];
      return [id, job && !job.disabled && job.nextRunAt ? new Date(job.nextRunAt) : null];
    }));
  }

  private async handle(job: Job<{ scheduleId: number; cron: string; timezone: string }>): Promise<void> {
    const { scheduleId, cron, timezone } = job.attrs.data;
    const now = new Date();
    // The occurrence this run stands for; several missed ones collapse into this single run.
    const at = this.occurrences.of(cron, timezone, now);
    if (now.getTime() - at.getTime() > this.o.graceMs) {
      await this.o.missed(scheduleId, at);
      return;
    }
    // A schedule deleted while no scheduler ran leaves its job behind; clean it up on first sight.
    if ((await this.o.run(scheduleId, at)) === 'gone') await this.remove(scheduleId);
  }
}
