import type { PlanLimits } from './limits.js';

export interface PlanChangeCheck {
  allowed: boolean;
  reason?: 'snapshots_exist';
  snapshotCount: number;
}

/** Storage expansion rule: a disk cannot grow while the service has any snapshot. */
export function checkDiskChange(currentDiskBytes: number, newDiskBytes: number | undefined, snapshotCount: number): PlanChangeCheck {
  const grows = newDiskBytes !== undefined && newDiskBytes > currentDiskBytes;
  if (grows && snapshotCount > 0) return { allowed: false, reason: 'snapshots_exist', snapshotCount };
  return { allowed: true, snapshotCount };
}

export interface ScheduleSettings {
  id: number;
  enabled: boolean;
  keep: number;
  includeMemory: boolean;
  createdAt: Date;
}

export interface ScheduleAdjustment {
  id: number;
  keep?: number;
  includeMemory?: false;
  enabled?: false;
  disabledReason?: 'plan_no_schedules' | 'plan_schedule_limit';
}

/**
 * Effects of new limits on a service's schedules: keep clamped to the new maximum, memory turned off
 * where no longer allowed, schedules disabled (never deleted) beyond what the plan allows. The oldest
 * schedules keep running when only some fit.
 */
export function adjustSchedulesToLimits(limits: PlanLimits, schedules: ScheduleSettings[]): ScheduleAdjustment[] {
  const enabledByAge = schedules.filter((s) => s.enabled).sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.id - b.id);
  // With schedules allowed, the newest beyond the count go off; without, clampSchedule turns all off.
  const overCount = new Set(limits.schedulesAllowed ? enabledByAge.slice(limits.maxSchedules).map((s) => s.id) : []);
  const out: ScheduleAdjustment[] = [];
  for (const s of schedules) {
    let adj = clampSchedule(limits, s);
    if (overCount.has(s.id)) adj = { ...adj, id: s.id, enabled: false, disabledReason: 'plan_schedule_limit' };
    if (adj) out.push(adj);
  }
  return out;
}

/**
 * What limits change in one schedule on its own, whatever the service's other schedules: keep
 * clamped, memory off, the schedule off when the plan has no schedules. Null when nothing changes.
 */
export function clampSchedule(limits: PlanLimits, s: ScheduleSettings): ScheduleAdjustment | null {
  const adj: ScheduleAdjustment = { id: s.id };
  if (s.keep > limits.maxKeep) adj.keep = Math.max(1, limits.maxKeep);
  if (s.includeMemory && !limits.memoryAllowed) adj.includeMemory = false;
  if (s.enabled && !limits.schedulesAllowed) {
    adj.enabled = false;
    adj.disabledReason = 'plan_no_schedules';
  }
  return Object.keys(adj).length > 1 ? adj : null;
}
