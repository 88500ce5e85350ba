import { describe, expect, it } from 'vitest';
import { LimitsRepo } from '../../module/db/limits-repo.js';
import type { ActionContext } from '../../module/index.js';
import { scheduledSnapshotName } from '../../module/scheduler/run-schedule.js';
import { DATABASES } from '../helpers/databases.js';
import { type ModuleFixture, useDatabase } from '../helpers/db-suite.js';
import { makeService } from '../helpers/module-fixture.js';
import { waitFor } from '../helpers/wait-for.js';

const CTX: ActionContext = { actor: { type: 'customer', id: 'alice' } };
const SERVICE = makeService();
const WEEKLY = { name: 'Nightly', days: [0, 3], hour: 3, minute: 0, timezone: 'Asia/Seoul', keep: 2 };

describe.each(DATABASES)('scheduled runs and retention ($kind)', (kind) => {
  const handle = useDatabase(kind);
  let fx: ModuleFixture;
  async function setup(limits = { maxSnapshots: 3, maxSchedules: 2, maxKeep: 5, memoryAllowed: true, schedulesAllowed: true, cloneAllowed: true }) {
    fx = await handle.module();
    await new LimitsRepo(handle.db).set(SERVICE.planId, limits);
    await fx.mod.start();
  }
  const rows = () => handle.db('snapshot_snapshots').orderBy('id');
  const settledAll = () => waitFor(async () => (await rows()).every((r) => r.status === 'active'), 5000, 'all active');
  async function manual(name: string, pinned = false) {
    const s = await fx.mod.snapshots.create(SERVICE, { name }, CTX);
    await settledAll();
    if (pinned) await fx.mod.snapshots.setPinned(SERVICE, s.id, true, CTX);
    return s;
  }
  async function run(scheduleId: number, at: Date) {
    const result = await fx.mod.runSchedule(scheduleId, at);
    await waitFor(async () => (await rows()).every((r) => r.status === 'active'), 5000, 'run settled');
    return result;
  }

  it('creates a scheduled snapshot named after the schedule and its local time, then records ok', async () => {
    await setup();
    const schedule = await fx.mod.schedules.create(SERVICE, WEEKLY, CTX);
    const at = new Date('2026-11-21T18:00:00Z'); // Sunday 03:00 in Seoul
    expect(await run(schedule.id, at)).toBe('started');
    const [snap] = await rows();
    expect(snap).toMatchObject({ origin: 'schedule', schedule_id: schedule.id, name: 'Nightly · 2026-11-22 03:00' });
    await waitFor(async () => (await fx.mod.schedules.get(SERVICE, schedule.id)).lastResult === 'ok', 3000, 'last result ok');
  });

  it('runs an occurrence once: a repeated run of it (its first worker died before Agenda knew) does nothing', async () => {
    await setup();
    const schedule = await fx.mod.schedules.create(SERVICE, WEEKLY, CTX);
    const at = new Date('2026-11-21T18:00:00Z');
    expect(await run(schedule.id, at)).toBe('started');
    expect(await run(schedule.id, at)).toBe('already_run');
    expect(await rows()).toHaveLength(1);
    expect(await handle.db('snapshot_audit_events').where({ action: 'schedule.run' })).toHaveLength(1);
  });

  it('keeps only `keep` unpinned snapshots of the schedule; pinned and manual ones stay', async () => {
    await setup({ maxSnapshots: 10, maxSchedules: 2, maxKeep: 5, memoryAllowed: true, schedulesAllowed: true, cloneAllowed: true });
    const mine = await manual('manual one');
    const schedule = await fx.mod.schedules.create(SERVICE, { ...WEEKLY, keep: 2 }, CTX);
    const day = 24 * 3600_000;
    const start = Date.parse('2026-11-01T18:00:00Z');
    await run(schedule.id, new Date(start));
    const first = (await rows()).find((r) => r.origin === 'schedule')!;
    await fx.mod.snapshots.setPinned(SERVICE, Number(first.id), true, CTX);
    for (let i = 1; i <= 4; i++) {
      await run(schedule.id, new Date(start + i * day));
      await waitFor(async () => (await rows()).filter((r) => r.origin === 'schedule' && !r.pinned).length <= 2, 5000, 'rotated');
    }
    const left = await rows();
    const scheduled = left.filter((r) => r.origin === 'schedule');
    expect(left.some((r) => Number(r.id) === mine.id)).toBe(true);
    expect(scheduled.some((r) => Number(r.id) === Number(first.id))).toBe(true); // pinned survives
    const unpinned = scheduled.filter((r) => !r.pinned).map((r) => r.name);
    expect(unpinned).toEqual(['Nightly · 2026-11-05 03:00', 'Nightly · 2026-11-06 03:00']);
  });

  it('at the limit, rotates the schedule\'s own oldest unpinned snapshot to make room', async () => {
    await setup({ maxSnapshots: 3, maxSchedules: 1, maxKeep: 3, memoryAllowed: true, schedulesAllowed: true, cloneAllowed: true });
    const schedule = await fx.mod.schedules.create(SERVICE, { ...WEEKLY, keep: 3 }, CTX);
    await manual('manual');
    await run(schedule.id, new Date('2026-11-01T18:00:00Z'));
    await run(schedule.id, new Date('2026-11-02T18:00:00Z'));
    expect(await run(schedule.id, new Date('2026-11-03T18:00:00Z'))).toBe('started');
    const names = (await rows()).map((r) => r.name);
    expect(names).toEqual(['manual', 'Nightly · 2026-11-03 03:00', 'Nightly · 2026-11-04 03:00']);
  });

  it('skips with "limit reached" when only pinned and manual snapshots fill the quota, deleting nothing', async () => {
    await setup({ maxSnapshots: 2, maxSchedules: 1, maxKeep: 3, memoryAllowed: true, schedulesAllowed: true, cloneAllowed: true });
    const schedule = await fx.mod.schedules.create(SERVICE, WEEKLY, CTX);
    await run(schedule.id, new Date('2026-11-01T18:00:00Z'));
    const own = (await rows())[0]!;
    await fx.mod.snapshots.setPinned(SERVICE, Number(own.id), true, CTX);
    await manual('manual');
    const before = (await rows()).map((r) => r.id);
    expect(await fx.mod.runSchedule(schedule.id, new Date('2026-11-02T18:00:00Z'))).toBe('limit_reached');
    expect((await rows()).map((r) => r.id)).toEqual(before);
    expect(await fx.mod.schedules.get(SERVICE, schedule.id)).toMatchObject({ lastResult: 'limit_reached' });
    expect(fx.notifications.map((n) => n.type)).toContain('schedule_skipped');
  });

  it('pauses while the service is suspended and does nothing when disabled', async () => {
    await setup();
    const schedule = await fx.mod.schedules.create(SERVICE, WEEKLY, CTX);
    await fx.mod.hooks.serviceSuspended(SERVICE.id);
    expect(await fx.mod.runSchedule(schedule.id)).toBe('paused');
    await fx.mod.hooks.serviceUnsuspended(SERVICE.id);
    await fx.mod.schedules.setEnabled(SERVICE, schedule.id, false, CTX);
    expect(await fx.mod.runSchedule(schedule.id)).toBe('disabled');
    expect(await rows()).toHaveLength(0);
  });

  it('applies limits an admin lowered since the schedule was saved: keep clamped at the next run, and retention keeps that many', async () => {
    await setup({ maxSnapshots: 10, maxSchedules: 2, maxKeep: 5, memoryAllowed: true, schedulesAllowed: true, cloneAllowed: true });
    const schedule = await fx.mod.schedules.create(SERVICE, { ...WEEKLY, keep: 4, includeMemory: true }, CTX);
    const day = 24 * 3600_000;
    const start = Date.parse('2026-11-01T18:00:00Z');
    for (let i = 0; i < 3; i++) await run(schedule.id, new Date(start + i * day));
    await new LimitsRepo(handle.db).set(SERVICE.planId, { maxSnapshots: 10, maxSchedules: 2, maxKeep: 2, memoryAllowed: false, schedulesAllowed: true, cloneAllowed: true });
    expect(await run(schedule.id, new Date(start + 3 * day))).toBe('started');
    expect(await fx.mod.schedules.get(SERVICE, schedule.id)).toMatchObject({ keep: 2, includeMemory: false, enabled: true });
    await waitFor(async () => ((await rows()).filter((r) => r.origin === 'schedule').length === 2 ? true : undefined), 5000, 'rotated to the new keep');
    const newest = (await rows()).filter((r) => r.origin === 'schedule');
    expect(newest.map((r) => r.name)).toEqual(['Nightly · 2026-11-04 03:00', 'Nightly · 2026-11-05 03:00']);
    // Taken with memory while the plan allowed it; without, once it no longer does.
    expect(newest.map((r) => Boolean(r.include_memory))).toEqual([true, false]);
  });

  it('turns a schedule off at its next run when the plan no longer has schedules, and drops its job', async () => {
    await setup();
    const schedule = await fx.mod.schedules.create(SERVICE, WEEKLY, CTX);
    expect((await fx.mod.schedules.list(SERVICE))[0]!.nextRun).not.toBeNull();
    await new LimitsRepo(handle.db).set(SERVICE.planId, { maxSnapshots: 3, maxSchedules: 2, maxKeep: 5, memoryAllowed: true, schedulesAllowed: false, cloneAllowed: true });
    expect(await run(schedule.id, new Date('2026-11-21T18:00:00Z'))).toBe('disabled');
    expect(await rows()).toEqual([]);
    const [listed] = await fx.mod.schedules.list(SERVICE);
    expect(listed!.schedule).toMatchObject({ enabled: false, disabledReason: 'plan_no_schedules', lastResult: 'disabled' });
    expect(listed!.nextRun).toBeNull();
  });

  it('validates schedules against the plan: count, keep, days, time and timezone', async () => {
    await setup({ maxSnapshots: 3, maxSchedules: 1, maxKeep: 3, memoryAllowed: false, schedulesAllowed: true, cloneAllowed: true });
    const err = await fx.mod.schedules.create(SERVICE, { name: '', days: [], hour: 24, minute: -1, timezone: 'Mars/Base', keep: 9, includeMemory: true }, CTX).catch((e) => e);
    expect(Object.fromEntries(Object.entries(err.fields).map(([k, v]) => [k, (v as { code: string }).code]))).toEqual({
      name: 'name_required', days: 'schedule_days_required', hour: 'schedule_hour_invalid', minute: 'schedule_minute_invalid',
      timezone: 'schedule_timezone_invalid', keep: 'schedule_keep_over_plan', includeMemory: 'memory_not_in_plan',
    });
    await fx.mod.schedules.create(SERVICE, WEEKLY, CTX);
    expect((await fx.mod.schedules.create(SERVICE, WEEKLY, CTX).catch((e) => e)).code).toBe('schedule_limit_reached');
    await new LimitsRepo(handle.db).set(SERVICE.planId, { maxSnapshots: 3, maxSchedules: 1, maxKeep: 3, memoryAllowed: false, schedulesAllowed: false, cloneAllowed: true });
    await handle.db('snapshot_schedules').delete();
    expect((await fx.mod.schedules.create(SERVICE, WEEKLY, CTX).catch((e) => e)).code).toBe('schedules_not_in_plan');
  });
});

describe('scheduledSnapshotName', () => {
  it('uses the schedule\'s timezone and keeps within 64 characters', () => {
    const s = { name: 'x'.repeat(70), timezone: 'America/New_York' } as Parameters<typeof scheduledSnapshotName>[0];
    const name = scheduledSnapshotName(s, new Date('2026-07-01T12:30:00Z'));
    expect([...name]).toHaveLength(64);
    expect(name.endsWith('2026-07-01 08:30')).toBe(true);
  });

  it('shares formatters between runs per timezone, never one zone\'s for another', () => {
    const formats = new Map<string, Intl.DateTimeFormat>();
    const at = new Date('2026-07-01T12:30:00Z');
    const zone = (timezone: string) => ({ name: 'Nightly', timezone }) as Parameters<typeof scheduledSnapshotName>[0];
    expect(scheduledSnapshotName(zone('Asia/Seoul'), at, formats)).toBe('Nightly · 2026-07-01 21:30');
    expect(scheduledSnapshotName(zone('America/New_York'), at, formats)).toBe('Nightly · 2026-07-01 08:30');
    expect(scheduledSnapshotName(zone('Asia/Seoul'), at, formats)).toBe('Nightly · 2026-07-01 21:30');
    expect([...formats.keys()]).toEqual(['Asia/Seoul', 'America/New_York']);
  });
});
