import { Agenda, Job, type JobParameters } from 'agenda';
import { describe, expect, it } from 'vitest';
import { AgendaNextRuns } from '../../module/scheduler/agenda-next-runs.js';
import { KnexBackend } from '../../module/scheduler/knex-backend/index.js';
import { DATABASES } from '../helpers/databases.js';
import { useDatabase } from '../helpers/db-suite.js';
import { waitFor } from '../helpers/wait-for.js';

type Attrs = Partial<JobParameters<void>> & { name: string; type: 'normal' };
type Computing = { computeNextRunAt(): Job };

/** A stand-in for Agenda whose processor hands out jobs of the given attributes, hooked like the real one. */
function hooked(cache: AgendaNextRuns) {
  const agenda = { jobProcessor: { findAndLockNextJob: async (attrs: Attrs) => new Job(agenda as unknown as Agenda, attrs) } };
  cache.install(agenda as unknown as Agenda);
  return async (attrs: Attrs) => {
    const job = (await agenda.jobProcessor.findAndLockNextJob(attrs))!;
    (job as unknown as Computing).computeNextRunAt();
    return job.attrs.nextRunAt ? new Date(job.attrs.nextRunAt).getTime() : null;
  };
}

/** Agenda's own answer. */
function reference(attrs: Attrs): number | null {
  const job = new Job({} as Agenda, attrs);
  (job as unknown as Computing).computeNextRunAt();
  return job.attrs.nextRunAt ? new Date(job.attrs.nextRunAt).getTime() : null;
}

describe('AgendaNextRuns (a repeating job\'s next run, remembered per pattern)', () => {
  it('answers as Agenda at every moment, through DST changes, a new week, a clock set back and an edited pattern', async () => {
    const cache = new AgendaNextRuns();
    const next = hooked(cache);
    const patterns: Array<[string, string]> = [['0 3 * * 0', 'Europe/Berlin'], ['30 2 * * *', 'Europe/Berlin'], ['15 1 * * 1,4', 'America/New_York'], ['0 3 * * 0', 'UTC']];
    const times: number[] = [];
    for (let t = Date.UTC(2026, 2, 1); t < Date.UTC(2026, 10, 10); t += 5 * 3600_000 + 13 * 60_000 + 999) times.push(t);
    for (const night of [Date.UTC(2026, 2, 8, 4), Date.UTC(2026, 2, 28, 22), Date.UTC(2026, 9, 24, 22), Date.UTC(2026, 10, 1, 4)]) {
      for (let t = night; t < night + 5 * 3600_000; t += 7 * 60_000 + 333) times.push(t);
    }
    times.push(Date.UTC(2026, 4, 1, 12), Date.UTC(2026, 2, 29, 1, 0, 0, 500));
    let asked = 0;
    for (const t of times) {
      // A rush: the same patterns again a moment later.
      for (const at of [t, t + 1500, t + 20 * 60_000]) {
        for (const [cron, tz] of patterns) {
          const attrs: Attrs = { name: 'x', type: 'normal', repeatInterval: cron, repeatTimezone: tz, lastRunAt: new Date(at) };
          expect(await next(attrs), `${cron} ${tz} after ${new Date(at).toISOString()}`).toBe(reference(attrs));
          asked++;
        }
      }
    }
    // Most answers came from the cache: the point of it.
    expect(cache.hits).toBeGreaterThan(asked / 2);
  });

  it('leaves jobs with date constraints, numeric and human intervals to Agenda', async () => {
    const cache = new AgendaNextRuns();
    const next = hooked(cache);
    const lastRunAt = new Date('2026-12-06T02:00:00Z');
    const cases: Attrs[] = [
      { name: 'x', type: 'normal', repeatInterval: '0 3 * * 0', repeatTimezone: 'UTC', lastRunAt, endDate: new Date('2026-12-10T00:00:00Z') },
      { name: 'x', type: 'normal', repeatInterval: '0 3 * * 0', repeatTimezone: 'UTC', lastRunAt, skipDays: [0] } as Attrs,
      { name: 'x', type: 'normal', repeatInterval: 5000, lastRunAt },
      { name: 'x', type: 'normal', repeatInterval: '5 minutes', lastRunAt },
    ];
    for (let round = 0; round < 3; round++) for (const c of cases) expect(await next(c)).toBe(reference(c));
    expect(cache.hits).toBe(0);
  });
});

describe.each(DATABASES)('AgendaNextRuns on a running Agenda ($kind)', (kind) => {
  const handle = useDatabase(kind);

  it('is hooked into the processor of a started Agenda: repeating jobs run through it get the next run Agenda would give', async () => {
    const backend = new KnexBackend({ db: handle.db });
    const agenda = new Agenda({ backend, processEvery: 50 });
    let ran = 0;
    agenda.define('weekly', async () => { ran++; });
    const cache = new AgendaNextRuns();
    await agenda.start();
    cache.install(agenda);
    try {
      for (let i = 0; i < 3; i++) {
        const job = agenda.create('weekly', { i });
        job.repeatEvery('0 3 * * 0', { timezone: 'Europe/Berlin' });
        job.schedule(new Date(Date.now() - 1000));
        await job.save();
      }
      await waitFor(async () => ran === 3 && (await handle.db('snapshot_jobs').whereNull('locked_at').count({ n: '*' }).first())!.n == 3, 10_000);
      expect(cache.hits).toBe(2);
      const rows = await handle.db('snapshot_jobs').select('next_run_at', 'last_run_at');
      for (const r of rows) {
        const expected = reference({ name: 'weekly', type: 'normal', repeatInterval: '0 3 * * 0', repeatTimezone: 'Europe/Berlin', lastRunAt: new Date(r.last_run_at) });
        expect(new Date(r.next_run_at).getTime()).toBe(expected);
      }
    } finally {
      await agenda.stop();
      await backend.idle();
    }
  });
});
