import { Job, type Agenda, type JobParameters } from 'agenda';
import { MAX_SPAN_MS, SpanCache } from './occurrences.js';

type Compute = (this: Job) => Job;
interface Processor {
  findAndLockNextJob?: (...args: unknown[]) => Promise<Job | undefined>;
}

/** Agenda's own computation (Job.computeNextRunAt, private in its types): the reference every answer comes from. */
const agendaCompute = (Job.prototype as unknown as { computeNextRunAt: Compute }).computeNextRunAt;

/**
 * Agenda moves a repeating job's next run ahead at the start of every run (cron-parser over luxon,
 * ~0.1 ms and a few kB of garbage a run), although a rush runs thousands of jobs of a few patterns
 * (03:00 in a few timezones) whose next run is the same. This remembers Agenda's own answer per
 * pattern for the span of last-run times it holds for (see SpanCache: up to the next run, at most an
 * hour, no change of the zone's offset); a run outside it (the next week, a clock set back, a DST
 * night) asks Agenda again. Only plain cron jobs are answered here: a job with a start or end date,
 * skipped days, a repeatAt or a numeric or human interval goes to Agenda as before.
 */
export class AgendaNextRuns {
  private readonly cache = new SpanCache();
  /** Runs answered here (for tests: the hook is on Agenda's internals, which an upgrade may move). */
  hits = 0;

  /**
   * Hooks into `agenda`'s job processor (made by start(), so call after each start): the jobs it
   * claims compute their next run through this cache. Without that processor method, nothing changes.
   */
  install(agenda: Agenda): void {
    const processor = (agenda as unknown as { jobProcessor?: Processor }).jobProcessor;
    const find = processor?.findAndLockNextJob;
    if (!processor || typeof find !== 'function') return;
    const compute = this.computeFor();
    processor.findAndLockNextJob = async (...args: unknown[]) => {
      const job = await find.apply(processor, args);
      if (job) (job as unknown as { computeNextRunAt: Compute }).computeNextRunAt = compute;
      return job;
    };
  }

  private computeFor(): Compute {
    const answer = (job: Job) => this.answer(job);
    return function computeNextRunAt(this: Job) {
      return answer(this);
    };
  }

  /** Job.computeNextRunAt for `job`: from the cache when it holds, else Agenda's, remembered when it may be. */
  private answer(job: Job): Job {
    const a = job.attrs;
    if (!cacheable(a)) return agendaCompute.call(job);
    const key = `${a.repeatTimezone ?? ''} ${a.repeatInterval as string}`;
    const last = a.lastRunAt ? new Date(a.lastRunAt).getTime() : Date.now();
    const hit = this.cache.get(key, last);
    if (hit !== undefined) {
      this.hits++;
      a.nextRunAt = new Date(hit);
      return job;
    }
    agendaCompute.call(job);
    const next = a.nextRunAt ? new Date(a.nextRunAt).getTime() : null;
    if (next === null) return job;
    // Agenda's answer at the span's end must be the same: one that moves with the last run (a cron
    // string Agenda took for a human interval) is never remembered.
    const end = Math.min(next - 1, last + MAX_SPAN_MS);
    if (end >= last && this.nextAt(job, end) === next) this.cache.set(key, a.repeatTimezone, last, end, next);
    return job;
  }

  /** Agenda's next run for `job`'s pattern after a run at `lastRun`, computed on a copy. */
  private nextAt(job: Job, lastRun: number): number | null {
    const { name, repeatInterval, repeatTimezone } = job.attrs;
    const probe = new Job(job.agenda, { name, type: 'normal', repeatInterval, repeatTimezone, lastRunAt: new Date(lastRun) });
    agendaCompute.call(probe);
    return probe.attrs.nextRunAt ? new Date(probe.attrs.nextRunAt).getTime() : null;
  }
}

/** A cron expression with no date constraints: the only kind whose next run depends on nothing but pattern and last run. */
function cacheable(a: JobParameters): boolean {
  const interval = a.repeatInterval;
  return typeof interval === 'string' && interval.trim().split(/\s+/).length >= 5 && !/^\d+$/.test(interval.trim())
    && !a.repeatAt && !a.startDate && !a.endDate && !(a.skipDays && a.skipDays.length);
}
