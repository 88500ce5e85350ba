import type { SnapshotStatus } from './status.js';
import { occupiesStorage } from './status.js';

export interface RetentionSnapshot {
  id: number;
  scheduleId: number | null;
  pinned: boolean;
  status: SnapshotStatus;
  createdAt: Date;
}

const byAge = (a: RetentionSnapshot, b: RetentionSnapshot) =>
  a.createdAt.getTime() - b.createdAt.getTime() || a.id - b.id;

/** The schedule's own snapshots that rotation may remove: active and unpinned, oldest first. */
function rotatable(scheduleId: number, snapshots: RetentionSnapshot[]): RetentionSnapshot[] {
  return snapshots
    .filter((s) => s.scheduleId === scheduleId && !s.pinned && s.status === 'active')
    .sort(byAge);
}

/**
 * After a scheduled snapshot succeeded: which snapshots to delete so that the schedule keeps at most
 * `keep` unpinned snapshots. Pinned snapshots stay outside rotation (they are never deleted
 * automatically) and manual snapshots are never touched.
 */
export function snapshotsBeyondKeep(scheduleId: number, keep: number, snapshots: RetentionSnapshot[]): number[] {
  const own = rotatable(scheduleId, snapshots);
  const excess = own.length - Math.max(1, keep);
  return excess > 0 ? own.slice(0, excess).map((s) => s.id) : [];
}

export type RunDecision =
  | { action: 'run' }
  | { action: 'rotate'; deleteIds: number[] }
  | { action: 'skip'; reason: 'limit_reached'; over: number };

/**
 * Before a scheduled run: room for one more snapshot under `limit`? If not, rotate the schedule's own
 * oldest unpinned snapshots when that makes room; otherwise skip the run, deleting nothing.
 */
export function decideScheduledRun(scheduleId: number, limit: number, snapshots: RetentionSnapshot[]): RunDecision {
  const used = snapshots.filter((s) => occupiesStorage(s.status)).length;
  const needed = used + 1 - limit;
  if (needed <= 0) return { action: 'run' };
  const candidates = rotatable(scheduleId, snapshots);
  if (candidates.length < needed) return { action: 'skip', reason: 'limit_reached', over: needed };
  return { action: 'rotate', deleteIds: candidates.slice(0, needed).map((s) => s.id) };
}
