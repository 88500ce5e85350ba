import { describe, it, expect } from 'vitest';
import {
  checkDiskChange,
  adjustSchedulesToLimits,
  type ScheduleSettings,
  type ScheduleAdjustment,
} from '../../module/domain/plan-change.js';
import type { PlanLimits } from '../../module/domain/limits.js';

const GiB = 1024 ** 3;

describe('checkDiskChange', () => {
  it('refuses growth while snapshots exist, with reason and count', () => {
    expect(checkDiskChange(20 * GiB, 40 * GiB, 3)).toEqual({ allowed: false, reason: 'snapshots_exist', snapshotCount: 3 });
    // Growth by a single byte is still growth.
    expect(checkDiskChange(20 * GiB, 20 * GiB + 1, 1)).toEqual({ allowed: false, reason: 'snapshots_exist', snapshotCount: 1 });
  });

  it('allows growth without snapshots', () => {
    const r = checkDiskChange(20 * GiB, 40 * GiB, 0);
    expect(r).toEqual({ allowed: true, snapshotCount: 0 });
    expect(r.reason).toBeUndefined();
  });

  it('allows the same size or a shrink with snapshots', () => {
    expect(checkDiskChange(20 * GiB, 20 * GiB, 5)).toEqual({ allowed: true, snapshotCount: 5 });
    expect(checkDiskChange(40 * GiB, 20 * GiB, 5)).toEqual({ allowed: true, snapshotCount: 5 });
  });

  it('allows a plan change that does not set a disk size', () => {
    expect(checkDiskChange(20 * GiB, undefined, 5)).toEqual({ allowed: true, snapshotCount: 5 });
  });
});

const limits = (over: Partial<PlanLimits> = {}): PlanLimits => ({
  maxSnapshots: 10,
  maxSchedules: 5,
  maxKeep: 7,
  cloneAllowed: true,
  memoryAllowed: true,
  schedulesAllowed: true,
  ...over,
});

const BASE = Date.UTC(2024, 0, 1);
function schedule(id: number, day: number, over: Partial<ScheduleSettings> = {}): ScheduleSettings {
  return { id, enabled: true, keep: 3, includeMemory: false, createdAt: new Date(BASE + day * 86_400_000), ...over };
}

const ALLOWED_KEYS = ['id', 'keep', 'includeMemory', 'enabled', 'disabledReason'];
function expectOnlyAllowedKeys(out: ScheduleAdjustment[]): void {
  for (const adj of out) {
    for (const key of Object.keys(adj)) expect(ALLOWED_KEYS).toContain(key);
    // Disabling is the strongest thing it can do: never enabled:true, never a deletion flag.
    if ('enabled' in adj) expect(adj.enabled).toBe(false);
  }
}
const byId = (out: ScheduleAdjustment[]) => new Map(out.map((a) => [a.id, a]));

describe('adjustSchedulesToLimits', () => {
  it('returns nothing when every schedule already fits', () => {
    const schedules = [schedule(1, 1, { keep: 7, includeMemory: true }), schedule(2, 2), schedule(3, 3, { enabled: false })];
    expect(adjustSchedulesToLimits(limits(), schedules)).toEqual([]);
  });

  it('clamps keep to the new maxKeep and leaves schedules at or below it alone', () => {
    const schedules = [schedule(1, 1, { keep: 10 }), schedule(2, 2, { keep: 4 }), schedule(3, 3, { keep: 5 })];
    const out = adjustSchedulesToLimits(limits({ maxKeep: 4 }), schedules);
    expect(out).toEqual([{ id: 1, keep: 4 }, { id: 3, keep: 4 }]);
    expectOnlyAllowedKeys(out);
  });

  it('clamps keep on disabled schedules too', () => {
    const out = adjustSchedulesToLimits(limits({ maxKeep: 2 }), [schedule(1, 1, { keep: 5, enabled: false })]);
    expect(out).toEqual([{ id: 1, keep: 2 }]);
  });

  it('turns memory off when the plan no longer allows it', () => {
    const schedules = [schedule(1, 1, { includeMemory: true }), schedule(2, 2, { includeMemory: false })];
    const out = adjustSchedulesToLimits(limits({ memoryAllowed: false }), schedules);
    expect(out).toEqual([{ id: 1, includeMemory: false }]);
    expectOnlyAllowedKeys(out);
  });

  it('leaves memory untouched when the plan allows it', () => {
    const schedules = [schedule(1, 1, { includeMemory: true })];
    expect(adjustSchedulesToLimits(limits({ memoryAllowed: true }), schedules)).toEqual([]);
  });

  it('schedulesAllowed=false disables every enabled schedule with plan_no_schedules', () => {
    const schedules = [schedule(1, 1), schedule(2, 2), schedule(3, 3, { enabled: false }), schedule(4, 4)];
    const out = adjustSchedulesToLimits(limits({ schedulesAllowed: false, cloneAllowed: true }), schedules);
    expect(out).toEqual([
      { id: 1, enabled: false, disabledReason: 'plan_no_schedules' },
      { id: 2, enabled: false, disabledReason: 'plan_no_schedules' },
      { id: 4, enabled: false, disabledReason: 'plan_no_schedules' },
    ]);
    expectOnlyAllowedKeys(out);
  });

  it('maxSchedules=1 with 3 enabled disables the 2 newest with plan_schedule_limit, keeps the oldest', () => {
    // Listed out of age order on purpose; ids do not follow age.
    const schedules = [schedule(7, 5), schedule(8, 1), schedule(9, 3)];
    const out = adjustSchedulesToLimits(limits({ maxSchedules: 1 }), schedules);
    const m = byId(out);
    expect(m.has(8)).toBe(false);
    expect(m.get(7)).toEqual({ id: 7, enabled: false, disabledReason: 'plan_schedule_limit' });
    expect(m.get(9)).toEqual({ id: 9, enabled: false, disabledReason: 'plan_schedule_limit' });
    expect(out).toHaveLength(2);
    expectOnlyAllowedKeys(out);
  });

  it('breaks createdAt ties by id when choosing which schedules keep running', () => {
    const schedules = [schedule(3, 1), schedule(1, 1), schedule(2, 1)];
    const out = adjustSchedulesToLimits(limits({ maxSchedules: 1 }), schedules);
    expect(out.map((a) => a.id).sort()).toEqual([2, 3]);
  });

  it('does not count already-disabled schedules toward maxSchedules', () => {
    // Oldest two are disabled; the two enabled ones fit maxSchedules=2.
    const schedules = [
      schedule(1, 1, { enabled: false }),
      schedule(2, 2, { enabled: false }),
      schedule(3, 3),
      schedule(4, 4),
    ];
    expect(adjustSchedulesToLimits(limits({ maxSchedules: 2 }), schedules)).toEqual([]);
    // With maxSchedules=1 only the newest enabled one is disabled; disabled ones are not reported.
    expect(adjustSchedulesToLimits(limits({ maxSchedules: 1 }), schedules)).toEqual([
      { id: 4, enabled: false, disabledReason: 'plan_schedule_limit' },
    ]);
  });

  it('maxSchedules=0 disables every enabled schedule', () => {
    const out = adjustSchedulesToLimits(limits({ maxSchedules: 0 }), [schedule(1, 1), schedule(2, 2)]);
    expect(out).toEqual([
      { id: 1, enabled: false, disabledReason: 'plan_schedule_limit' },
      { id: 2, enabled: false, disabledReason: 'plan_schedule_limit' },
    ]);
  });

  it('combines several changes on one schedule in a single adjustment', () => {
    const schedules = [schedule(1, 1), schedule(2, 2, { keep: 9, includeMemory: true })];
    const out = adjustSchedulesToLimits(limits({ maxSchedules: 1, maxKeep: 3, memoryAllowed: false }), schedules);
    expect(out).toEqual([
      { id: 2, keep: 3, includeMemory: false, enabled: false, disabledReason: 'plan_schedule_limit' },
    ]);
    expectOnlyAllowedKeys(out);
  });

  it('never returns anything but adjustments of the given schedules (nothing is deleted)', () => {
    const schedules = [
      schedule(1, 1, { keep: 30, includeMemory: true }),
      schedule(2, 2, { keep: 30, includeMemory: true }),
      schedule(3, 3, { keep: 30, includeMemory: true, enabled: false }),
    ];
    const out = adjustSchedulesToLimits(
      limits({ schedulesAllowed: false, maxSchedules: 0, maxKeep: 1, memoryAllowed: false }),
      schedules,
    );
    expect(out).toHaveLength(3);
    expect(out.map((a) => a.id)).toEqual([1, 2, 3]);
    expectOnlyAllowedKeys(out);
    for (const adj of out) {
      expect(adj).not.toHaveProperty('delete');
      expect(adj).not.toHaveProperty('deleted');
      expect(adj.keep).toBe(1);
      expect(adj.includeMemory).toBe(false);
    }
    // The already-disabled schedule only gets its settings clamped.
    expect(byId(out).get(3)).toEqual({ id: 3, keep: 1, includeMemory: false });
  });

  it('does not mutate the input schedules', () => {
    const schedules = [schedule(1, 1, { keep: 9, includeMemory: true }), schedule(2, 2)];
    const snapshot = JSON.stringify(schedules);
    adjustSchedulesToLimits(limits({ maxSchedules: 1, maxKeep: 2, memoryAllowed: false }), schedules);
    expect(JSON.stringify(schedules)).toBe(snapshot);
  });
});
