import { Agenda } from 'agenda';
import { describe, expect, it } from 'vitest';
import { LimitsRepo } from '../../module/db/limits-repo.js';
import type { ActionContext } from '../../module/index.js';
import { scheduleCron } from '../../module/domain/schedules.js';
import { previousOccurrence, SCHEDULE_JOB } from '../../module/scheduler/agenda-scheduler.js';
import { DATABASES } from '../helpers/databases.js';
import { type ModuleFixture, useDatabase } from '../helpers/db-suite.js';
import { makeService } from '../helpers/module-fixture.js';
import { waitFor } from '../helpers/wait-for.js';

const CTX: ActionContext = { actor: { type: 'customer', id: 'alice' } };
const SERVICE = makeService();

/** Weekday, hour and minute of `d` as a wall clock in `timeZone` shows them. */
function wallClock(d: Date, timeZone: string) {
  const p = Object.fromEntries(new Intl.DateTimeFormat('en-US', { timeZone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
    .formatToParts(d).map((x) => [x.type, x.value]));
  return { day: ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'].indexOf(p.weekday!), hour: Number(p.hour), minute: Number(p.minute) };
}

describe.each(DATABASES)('weekly schedules on Agenda ($kind)', (kind) => {
  const handle = useDatabase(kind);
  let fx: ModuleFixture;
  async function setup() {
    fx = await handle.module({ config: { scheduler: { processEveryMs: 100, graceMs: 15 * 60_000 } } });
    await new LimitsRepo(handle.db).set(SERVICE.planId, { maxSnapshots: 5, maxSchedules: 3, maxKeep: 5, memoryAllowed: true, schedulesAllowed: true, cloneAllowed: true });
    await fx.mod.start();
  }
  const jobs = () => handle.db('snapshot_jobs').where({ name: SCHEDULE_JOB });
  const nextRun = async (id: number) => (await fx.mod.schedules.list(SERVICE)).find((x) => x.schedule.id === id)?.nextRun ?? null;

  it('keeps one job per enabled schedule, at its next weekday/time in its own timezone', async () => {
    await setup();
    const s = await fx.mod.schedules.create(SERVICE, { name: 'Weekly', days: [2, 5], hour: 3, minute: 15, timezone: 'Asia/Seoul', keep: 2 }, CTX);
    expect(await jobs()).toHaveLength(1);
    const next = (await nextRun(s.id))!;
    expect(next.getTime()).toBeGreaterThan(Date.now());
    expect(next.getTime() - Date.now()).toBeLessThanOrEqual(7 * 24 * 3600_000);
    const clock = wallClock(next, 'Asia/Seoul');
    expect([2, 5]).toContain(clock.day);
    expect([clock.hour, clock.minute]).toEqual([3, 15]);

    await fx.mod.schedules.update(SERVICE, s.id, { name: 'Weekly', days: [0], hour: 23, minute: 45, timezone: 'America/New_York', keep: 2 }, CTX);
    expect(await jobs()).toHaveLength(1);
    expect(wallClock((await nextRun(s.id))!, 'America/New_York')).toEqual({ day: 0, hour: 23, minute: 45 });

    await fx.mod.schedules.setEnabled(SERVICE, s.id, false, CTX);
    expect(await jobs()).toHaveLength(0);
    expect(await nextRun(s.id)).toBeNull();
    await fx.mod.schedules.setEnabled(SERVICE, s.id, true, CTX);
    expect(await jobs()).toHaveLength(1);
    await fx.mod.schedules.remove(SERVICE, s.id, CTX);
    expect(await jobs()).toHaveLength(0);
  });

  it('a due occurrence runs through Agenda and creates the scheduled snapshot', async () => {
    await setup();
    const now = new Date();
    const clock = wallClock(now, 'UTC');
    const s = await fx.mod.schedules.create(SERVICE, { name: 'Now', days: [clock.day], hour: clock.hour, minute: clock.minute, timezone: 'UTC', keep: 2 }, CTX);
    // The occurrence of this very minute is due: let the job fire now.
    await jobs().update({ next_run_at: new Date(Date.now() - 1000) });
    await waitFor(async () => (await handle.db('snapshot_snapshots').where({ schedule_id: s.id })).length === 1, 10_000, 'scheduled snapshot');
    await waitFor(async () => (await fx.mod.schedules.get(SERVICE, s.id)).lastResult === 'ok', 10_000, 'ok');
    // It repeats: the job is still there, next week.
    const next = (await nextRun(s.id))!;
    expect(next.getTime()).toBeGreaterThan(Date.now() + 6 * 24 * 3600_000);
  });

  it('a due occurrence not yet run when the panel restarts still runs (start re-syncs without moving it)', async () => {
    await setup();
    const clock = wallClock(new Date(), 'UTC');
    const s = await fx.mod.schedules.create(SERVICE, { name: 'Now', days: [clock.day], hour: clock.hour, minute: clock.minute, timezone: 'UTC', keep: 2 }, CTX);
    await fx.mod.stop();
    // Due while no scheduler ran; the next start re-syncs every schedule's job first.
    await jobs().update({ next_run_at: new Date(Date.now() - 1000) });
    const revision = (await jobs().first()).revision;
    await fx.mod.start();
    await waitFor(async () => (await handle.db('snapshot_snapshots').where({ schedule_id: s.id })).length === 1, 10_000, 'scheduled snapshot after restart');
    // Left as it was by the re-sync (its definition was current), then run.
    expect((await jobs().first()).revision).toBe(revision);
  });

  it('an occurrence missed beyond the grace window is recorded as missed, not run late', async () => {
    await setup();
    const threeDaysAgo = new Date(Date.now() - 3 * 24 * 3600_000);
    const clock = wallClock(threeDaysAgo, 'UTC');
    const s = await fx.mod.schedules.create(SERVICE, { name: 'Old', days: [clock.day], hour: clock.hour, minute: clock.minute, timezone: 'UTC', keep: 2 }, CTX);
    await jobs().update({ next_run_at: threeDaysAgo });
    await waitFor(async () => (await fx.mod.schedules.get(SERVICE, s.id)).lastResult === 'missed', 10_000, 'missed');
    expect(await handle.db('snapshot_snapshots')).toHaveLength(0);
    // Listed rather than counted, so a failure shows what ran.
    const runs = await handle.db('snapshot_audit_events').where({ action: 'schedule.run' }).select('result', 'code', 'details', 'occurred_at');
    expect(runs.map((r) => [r.result, r.code])).toEqual([['refused', 'missed']]);
  });

  it('schedules saved while no scheduler ran get their jobs at start', async () => {
    fx = await handle.module({ config: { scheduler: { processEveryMs: 100 } } });
    const s = await fx.mod.schedules.create(SERVICE, { name: 'Early', days: [1], hour: 4, minute: 0, timezone: 'UTC', keep: 2 }, CTX);
    expect(await jobs()).toHaveLength(0);
    await fx.mod.start();
    expect(await jobs()).toHaveLength(1);
    expect(wallClock((await nextRun(s.id))!, 'UTC')).toEqual({ day: 1, hour: 4, minute: 0 });
  });
});

describe('daylight saving time, as Agenda computes the next run', () => {
  const agenda = new Agenda({ backend: { name: 'none', repository: {} as never, connect: async () => undefined, disconnect: async () => undefined } });
  function runsAfter(cron: string, tz: string, from: string, n: number): string[] {
    const job = agenda.create(SCHEDULE_JOB, {});
    job.repeatEvery(cron, { timezone: tz });
    const out: string[] = [];
    let last = new Date(from);
    for (let i = 0; i < n; i++) {
      job.attrs.lastRunAt = last;
      // The same computation Agenda runs after each run (private in its typings).
      (job as unknown as { computeNextRunAt(): void }).computeNextRunAt();
      last = job.attrs.nextRunAt!;
      out.push(last.toISOString());
    }
    return out;
  }

  it('a time inside the spring-forward gap runs once that day, right after the gap', () => {
    // New York, 2026-03-08: 02:00 EST jumps to 03:00 EDT; 02:30 does not exist that day.
    const runs = runsAfter(scheduleCron({ days: [0, 1, 2, 3, 4, 5, 6], hour: 2, minute: 30 }), 'America/New_York', '2026-03-07T12:00:00Z', 3);
    expect(runs).toEqual(['2026-03-08T07:30:00.000Z', '2026-03-09T06:30:00.000Z', '2026-03-10T06:30:00.000Z']);
    expect(wallClock(new Date(runs[0]!), 'America/New_York')).toMatchObject({ hour: 3, minute: 30 });
  });

  it('a time inside the fall-back overlap runs once, at its first occurrence', () => {
    // New York, 2026-11-01: 01:30 happens twice (EDT, then EST).
    const runs = runsAfter(scheduleCron({ days: [0], hour: 1, minute: 30 }), 'America/New_York', '2026-10-31T12:00:00Z', 2);
    expect(runs).toEqual(['2026-11-01T05:30:00.000Z', '2026-11-08T06:30:00.000Z']);
  });

  it('the occurrence a late run stands for is the latest one at or before now', () => {
    const cron = scheduleCron({ days: [0], hour: 3, minute: 0 });
    expect(previousOccurrence(cron, 'Asia/Seoul', new Date('2026-11-22T05:40:00Z')).toISOString()).toBe('2026-11-21T18:00:00.000Z');
    expect(previousOccurrence(cron, 'Asia/Seoul', new Date('2026-11-21T18:00:00Z')).toISOString()).toBe('2026-11-21T18:00:00.000Z');
  });
});
