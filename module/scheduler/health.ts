import type { JobsOverview } from 'agenda';
import type { Knex } from 'knex';
import { AdminQueries, type OperationStats } from '../db/admin-queries.js';
import { KnexJobRepository } from './knex-backend/index.js';

export interface NextRun {
  name: string;
  /** The schedule a weekly job runs, if it is one. */
  scheduleId: number | null;
  nextRunAt: Date | null;
}

export interface SchedulerHealth {
  /** Whether this process runs the scheduler; jobs and operations are read from the database either way. */
  runningHere: boolean;
  jobs: { queueSize: number; overview: JobsOverview[]; nextRuns: NextRun[] };
  operations: OperationStats;
}

/** What the admin health page reads; a port so a web-only process (scheduler off) still shows it. */
export interface SchedulerHealthPort {
  read(nextRuns?: number): Promise<SchedulerHealth>;
}

/**
 * Reads Agenda's job table through the knex JobRepository's read methods (no Agenda instance, no
 * worker) and the operations table. Nothing here writes.
 */
export function schedulerHealthReader(db: Knex, runningHere: () => boolean): SchedulerHealthPort {
  const jobs = new KnexJobRepository({ db });
  const queries = new AdminQueries(db);
  return {
    async read(nextRuns = 10) {
      const [queueSize, overview, upcoming, operations] = await Promise.all([
        jobs.getQueueSize(),
        jobs.getJobsOverview(),
        jobs.queryJobs({ includeDisabled: false, sort: { nextRunAt: 'asc' }, limit: nextRuns }),
        queries.operationStats(),
      ]);
      return {
        runningHere: runningHere(),
        jobs: {
          queueSize,
          overview,
          nextRuns: upcoming.jobs.filter((j) => j.nextRunAt).map((j) => ({
            name: j.name,
            scheduleId: typeof (j.data as { scheduleId?: unknown } | null)?.scheduleId === 'number' ? (j.data as { scheduleId: number }).scheduleId : null,
            nextRunAt: j.nextRunAt ? new Date(j.nextRunAt) : null,
          })),
        },
        operations,
      };
    },
  };
}
