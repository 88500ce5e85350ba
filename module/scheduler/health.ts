import type { JobsOverview } from 'agenda';
import type { Knex } from 'knex';
import { AdminQueries, type OperationStats, type RunCount, type RunOutcome } from '../db/admin-queries.js';
import { KnexJobRepository } from './knex-backend/index.js';

export interface NextRun {
  name: string;
  /** The schedule a weekly job runs, if it is one. */
  scheduleId: number | null;
  nextRunAt: Date | null;
  /** That schedule's name and service, if it still exists. */
  schedule: { name: string; serviceId: string } | null;
}

/**
 * Scheduled runs over one window: totals per outcome; per service, the runs that went wrong (and the
 * successes of the worst services); how late the newest runs started (ms; `sampled`: not all of them).
 */
export interface RunWindow {
  since: Date;
  totals: Record<RunOutcome, number>;
  counts: RunCount[];
  delays: number[];
  sampled: boolean;
}

export interface SchedulerHealth {
  /** Whether this process runs the scheduler; jobs and operations are read from the database either way. */
  runningHere: boolean;
  jobs: { queueSize: number; overview: JobsOverview[]; nextRuns: NextRun[] };
  operations: OperationStats;
  /** The last 24 hours and the last 7 days. */
  runs: { day: RunWindow; week: RunWindow };
}

/** What the admin health page reads; a port so a web-only process (scheduler off) still shows it. */
export interface SchedulerHealthPort {
  read(nextRuns?: number, now?: Date): Promise<SchedulerHealth>;
}

/**
 * Reads Agenda's job table through the knex JobRepository's read methods (no Agenda instance, no
 * worker) and the operations table. Nothing here writes.
 */
export function schedulerHealthReader(db: Knex, runningHere: () => boolean): SchedulerHealthPort {
  const jobs = new KnexJobRepository({ db });
  const queries = new AdminQueries(db);
  return {
    async read(nextRuns = 10, now = new Date()) {
      const day = new Date(now.getTime() - 86_400_000);
      const week = new Date(now.getTime() - 7 * 86_400_000);
      const window = async (since: Date): Promise<RunWindow> => {
        const [counts, delays] = await Promise.all([queries.scheduleRunCounts(since), queries.scheduleRunDelays(since)]);
        return { since, totals: counts.totals, counts: counts.problems, delays: delays.delays, sampled: delays.sampled };
      };
      const [queueSize, overview, upcoming, operations, dayRuns, weekRuns] = await Promise.all([
        jobs.getQueueSize(),
        jobs.jobsSummary(),
        jobs.soonestJobs(nextRuns),
        queries.operationStats(),
        window(day),
        window(week),
      ]);
      const scheduleIdOf = (data: unknown) => (typeof (data as { scheduleId?: unknown } | null)?.scheduleId === 'number' ? (data as { scheduleId: number }).scheduleId : null);
      const listed = upcoming.filter((j) => j.nextRunAt);
      const schedules = await queries.schedulesByIds(listed.map((j) => scheduleIdOf(j.data)).filter((id): id is number => id !== null));
      return {
        runningHere: runningHere(),
        jobs: {
          queueSize,
          overview,
          nextRuns: listed.map((j) => {
            const scheduleId = scheduleIdOf(j.data);
            return { name: j.name, scheduleId, nextRunAt: j.nextRunAt ? new Date(j.nextRunAt) : null, schedule: scheduleId === null ? null : schedules.get(scheduleId) ?? null };
          }),
        },
        operations,
        runs: { day: dayRuns, week: weekRuns },
      };
    },
  };
}
