import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { scheduleCron } from '../../module/domain/schedules.js';
import type { Schedule } from '../../module/domain/types.js';
import { AgendaScheduler, SCHEDULE_JOB, scheduleJobKey } from '../../module/scheduler/agenda-scheduler.js';
import { KnexBackend } from '../../module/scheduler/knex-backend/index.js';
import { DATABASES } from '../helpers/databases.js';
import { useDatabase } from '../helpers/db-suite.js';

const N = 450;
const ZONES = ['UTC', 'Asia/Seoul', 'America/New_York'];

function schedule(id: number, over: Partial<Schedule> = {}): Schedule {
  const now = new Date();
  return {
    id, serviceId: `svc-${id}`, name: `s${id}`, enabled: true, disabledReason: null, days: [id % 7], hour: id % 24, minute: (id * 7) % 60,
    timezone: ZONES[id % ZONES.length]!, keep: 2, includeMemory: false, lastRunAt: null, lastResult: null, lastError: null, createdAt: now, updatedAt: now, ...over,
  };
}

describe.each(DATABASES)('start-up sync of many schedules ($kind)', (kind) => {
  const handle = useDatabase(kind);

  function scheduler() {
    const backend = new KnexBackend({ db: handle.db });
    const s = new AgendaScheduler({
      backend, logger: pino({ level: 'silent' }), graceMs: 60_000, processEveryMs: 60_000, concurrency: 1, lockLifetimeMs: 60_000, workerName: 'test',
      run: async () => 'started', missed: async () => undefined,
    });
    return { backend, s };
  }

  /** What Agenda's own save would have stored for `sc`: the next occurrence of its cron in its timezone. */
  function expectedNextRun(sc: Schedule): Date {
    const { s } = scheduler();
    const job = s.agenda.create(SCHEDULE_JOB, {});
    job.repeatEvery(scheduleCron(sc), { timezone: sc.timezone, skipImmediate: true });
    return job.attrs.nextRunAt!;
  }

  it('writes one job per schedule in a few statements, each as a save would, and leaves jobs in step untouched', async () => {
    const { backend, s } = scheduler();
    await backend.connect();
    const schedules = Array.from({ length: N }, (_, i) => schedule(i + 1));
    let statements = 0;
    const count = () => { statements += 1; };
    handle.db.on('query', count);
    await s.syncAll(schedules);
    handle.db.off('query', count);
    // One save per job was three statements each; the bulk path reads the keys and upserts 200 rows a statement.
    expect(statements).toBeLessThan(10);

    const jobs = await backend.repository.findUnique(SCHEDULE_JOB, schedules.map((x) => scheduleJobKey(x.id)));
    for (const [i, sc] of schedules.entries()) {
      const job = jobs[i]!;
      expect(job, `schedule ${sc.id}`).toBeTruthy();
      expect(job.data).toEqual({ scheduleId: sc.id, cron: scheduleCron(sc), timezone: sc.timezone });
      expect(job.repeatInterval).toBe(scheduleCron(sc));
      expect(job.repeatTimezone).toBe(sc.timezone);
      expect(job.nextRunAt!.getTime()).toBe(expectedNextRun(sc).getTime());
    }
    expect(Number((await handle.db('snapshot_jobs').count({ n: '*' }).first())!.n)).toBe(N);

    // A second start: a due occurrence of a job in step must not be pushed to next week, and a
    // changed schedule gets its new time on the same row (its id, lock and history kept).
    const due = new Date(Date.now() - 30_000);
    await handle.db('snapshot_jobs').where({ id: String(jobs[0]!._id) }).update({ next_run_at: due });
    const moved = { ...schedules[1]!, hour: (schedules[1]!.hour + 5) % 24 };
    await s.syncAll([schedules[0]!, moved, ...schedules.slice(2)]);
    const [first, second] = await backend.repository.findUnique(SCHEDULE_JOB, [scheduleJobKey(1), scheduleJobKey(2)]);
    expect(first!.nextRunAt!.getTime()).toBe(due.getTime());
    expect(String(second!._id)).toBe(String(jobs[1]!._id));
    expect(second!.repeatInterval).toBe(scheduleCron(moved));
    expect(second!.nextRunAt!.getTime()).toBe(expectedNextRun(moved).getTime());
    expect(Number((await handle.db('snapshot_jobs').count({ n: '*' }).first())!.n)).toBe(N);
  });

  it('schedules at the same time and zone share one computed next run, each equal to what Agenda computes', async () => {
    const { backend, s } = scheduler();
    await backend.connect();
    const same = Array.from({ length: 30 }, (_, i) => schedule(i + 1, { days: [2, 4], hour: 3, minute: 0, timezone: 'Asia/Seoul' }));
    await s.syncAll(same);
    const jobs = await backend.repository.findUnique(SCHEDULE_JOB, same.map((x) => scheduleJobKey(x.id)));
    const expected = expectedNextRun(same[0]!).getTime();
    expect(jobs.map((j) => j!.nextRunAt!.getTime())).toEqual(same.map(() => expected));
    expect(jobs.every((j) => j!.repeatInterval === scheduleCron(same[0]!) && j!.repeatTimezone === 'Asia/Seoul')).toBe(true);
  });

  it('a module start syncs every enabled schedule, past the sync\'s chunk of 1,000', async () => {
    const at = new Date();
    await handle.db.batchInsert('snapshot_schedules', Array.from({ length: 1_250 }, (_, i) => ({
      service_id: `svc-${i % 40}`, name: `s${i}`, enabled: i % 10 !== 3, days: String(i % 7), hour: i % 24, minute: i % 60, timezone: ZONES[i % 3],
      keep: 2, include_memory: false, created_at: at, updated_at: at,
    })), 250);
    const fx = await handle.module({ config: { scheduler: { processEveryMs: 60_000, reconcileEveryMs: 0 } } });
    await fx.mod.start();
    const enabled = (await handle.db('snapshot_schedules').where({ enabled: true }).pluck('id')).map(Number);
    expect(enabled.length).toBe(1_125);
    const backend = new KnexBackend({ db: handle.db });
    const jobs = await backend.repository.findUnique(SCHEDULE_JOB, enabled.map(scheduleJobKey));
    expect(jobs.filter((j) => j !== null)).toHaveLength(enabled.length);
    expect(Number((await handle.db('snapshot_jobs').where({ name: SCHEDULE_JOB }).count({ n: '*' }).first())!.n)).toBe(enabled.length);
  });
});
