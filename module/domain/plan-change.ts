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
  const out: ScheduleAdjustment[] = [];
  const enabledByAge = schedules.filter((s) => s.enabled).sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.id - b.id);
  const toDisable = new Map<number, ScheduleAdjustment['disabledReason']>();
  if (!limits.schedulesAllowed) {
    for (const s of enabledByAge) toDisable.set(s.id, 'plan_no_schedules');
  } else {
    for (const s of enabledByAge.slice(limits.maxSchedules)) toDisable.set(s.id, 'plan_schedule_limit');
  }
  for (const s of schedules) {
    const adj: ScheduleAdjustment = { id: s.id };
    if (s.keep > limits.maxKeep) adj.keep = Math.max(1, limits.maxKeep);
    if (s.includeMemory && !limits.memoryAllowed) adj.includeMemory = false;
    const reason = toDisable.get(s.id);
    if (reason) {
      adj.enabled = false;
      adj.disabledReason = reason;
    }
    if (Object.keys(adj).length > 1) out.push(adj);
  }
  return out;
}
