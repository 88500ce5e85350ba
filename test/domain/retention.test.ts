import { describe, it, expect } from 'vitest';
import { snapshotsBeyondKeep, decideScheduledRun, type RetentionSnapshot } from '../../module/domain/retention.js';
import type { SnapshotStatus } from '../../module/domain/status.js';

const BASE = Date.UTC(2024, 0, 1);
const DAY = 24 * 60 * 60 * 1000;

/** A snapshot created `day` days after 2024-01-01; defaults: active, unpinned, manual. */
function snap(
  id: number,
  day: number,
  opts: { scheduleId?: number | null; pinned?: boolean; status?: SnapshotStatus } = {},
): RetentionSnapshot {
  return {
    id,
    scheduleId: opts.scheduleId ?? null,
    pinned: opts.pinned ?? false,
    status: opts.status ?? 'active',
    createdAt: new Date(BASE + day * DAY),
  };
}
const own = (id: number, day: number, opts: { pinned?: boolean; status?: SnapshotStatus } = {}) =>
  snap(id, day, { ...opts, scheduleId: 1 });
const other = (id: number, day: number, opts: { pinned?: boolean; status?: SnapshotStatus } = {}) =>
  snap(id, day, { ...opts, scheduleId: 2 });
const manual = (id: number, day: number, opts: { pinned?: boolean; status?: SnapshotStatus } = {}) =>
  snap(id, day, { ...opts, scheduleId: null });

const sorted = (ids: number[]) => [...ids].sort((a, b) => a - b);

describe('snapshotsBeyondKeep', () => {
  it('keep=2 with 4 unpinned active snapshots returns the 2 oldest, oldest first', () => {
    // Given out of order on purpose: ids do not follow age.
    const snapshots = [own(10, 3), own(11, 1), own(12, 4), own(13, 2)];
    expect(snapshotsBeyondKeep(1, 2, snapshots)).toEqual([11, 13]);
  });

  it('keeps exactly `keep` when there are fewer or equal snapshots', () => {
    expect(snapshotsBeyondKeep(1, 2, [own(1, 1), own(2, 2)])).toEqual([]);
    expect(snapshotsBeyondKeep(1, 5, [own(1, 1), own(2, 2)])).toEqual([]);
    expect(snapshotsBeyondKeep(1, 2, [])).toEqual([]);
  });

  it('keep=1 returns all but the newest', () => {
    const snapshots = [own(1, 1), own(2, 5), own(3, 3), own(4, 2)];
    expect(sorted(snapshotsBeyondKeep(1, 1, snapshots))).toEqual([1, 3, 4]);
    expect(snapshotsBeyondKeep(1, 1, snapshots)).not.toContain(2);
  });

  it('never returns pinned snapshots, and pinned ones do not count toward keep', () => {
    // 2 pinned (oldest) + 3 unpinned; keep=2 → only the oldest unpinned goes.
    const snapshots = [
      own(1, 1, { pinned: true }),
      own(2, 2, { pinned: true }),
      own(3, 3),
      own(4, 4),
      own(5, 5),
    ];
    expect(snapshotsBeyondKeep(1, 2, snapshots)).toEqual([3]);
  });

  it('returns nothing when all of the schedule\'s snapshots are pinned', () => {
    const snapshots = [own(1, 1, { pinned: true }), own(2, 2, { pinned: true }), own(3, 3, { pinned: true })];
    expect(snapshotsBeyondKeep(1, 1, snapshots)).toEqual([]);
  });

  it('never returns manual snapshots or other schedules\' snapshots, nor counts them', () => {
    const snapshots = [
      manual(1, 0),
      manual(2, 0.5),
      other(3, 0.1),
      other(4, 0.2),
      other(5, 0.3),
      own(6, 1),
      own(7, 2),
      own(8, 3),
    ];
    expect(snapshotsBeyondKeep(1, 2, snapshots)).toEqual([6]);
    // From schedule 2's point of view only its own three count.
    expect(snapshotsBeyondKeep(2, 1, snapshots)).toEqual([3, 4]);
  });

  it('breaks ties on createdAt by id (lower id is older)', () => {
    const snapshots = [own(30, 1), own(10, 1), own(20, 1), own(40, 2)];
    expect(snapshotsBeyondKeep(1, 2, snapshots)).toEqual([10, 20]);
    expect(snapshotsBeyondKeep(1, 1, snapshots)).toEqual([10, 20, 30]);
  });

  it.each<SnapshotStatus>(['creating', 'deleting', 'restoring', 'error', 'failed', 'unmanaged'])(
    'never returns (or counts) a %s snapshot',
    (status) => {
      const snapshots = [own(1, 1, { status }), own(2, 2, { status }), own(3, 3), own(4, 4)];
      expect(snapshotsBeyondKeep(1, 1, snapshots)).toEqual([3]);
    },
  );

  it('does not mutate its input order', () => {
    const snapshots = [own(3, 3), own(1, 1), own(2, 2)];
    const copy = snapshots.map((s) => s.id);
    snapshotsBeyondKeep(1, 1, snapshots);
    expect(snapshots.map((s) => s.id)).toEqual(copy);
  });
});

describe('decideScheduledRun', () => {
  it('runs when there is room left', () => {
    expect(decideScheduledRun(1, 5, [])).toEqual({ action: 'run' });
    expect(decideScheduledRun(1, 5, [own(1, 1), own(2, 2), manual(3, 3)])).toEqual({ action: 'run' });
    // Exactly one slot left.
    expect(decideScheduledRun(1, 3, [own(1, 1), manual(2, 2)])).toEqual({ action: 'run' });
  });

  it('at the limit with own unpinned active snapshots, rotates the single oldest own one', () => {
    const snapshots = [manual(1, 0), own(5, 4), own(3, 2), own(4, 3)];
    expect(decideScheduledRun(1, 4, snapshots)).toEqual({ action: 'rotate', deleteIds: [3] });
  });

  it('rotates the oldest own unpinned snapshot, skipping older pinned ones', () => {
    const snapshots = [own(1, 1, { pinned: true }), own(2, 2), own(3, 3)];
    expect(decideScheduledRun(1, 3, snapshots)).toEqual({ action: 'rotate', deleteIds: [2] });
  });

  it('at the limit where all own snapshots are pinned, skips with limit_reached', () => {
    const snapshots = [own(1, 1, { pinned: true }), own(2, 2, { pinned: true }), manual(3, 3)];
    expect(decideScheduledRun(1, 3, snapshots)).toEqual({ action: 'skip', reason: 'limit_reached', over: 1 });
  });

  it('skips (never rotates manual ones) when manual snapshots fill the quota', () => {
    const snapshots = [manual(1, 1), manual(2, 2), manual(3, 3)];
    expect(decideScheduledRun(1, 3, snapshots)).toEqual({ action: 'skip', reason: 'limit_reached', over: 1 });
  });

  it('never rotates another schedule\'s snapshots', () => {
    const snapshots = [other(1, 1), other(2, 2), manual(3, 3)];
    expect(decideScheduledRun(1, 3, snapshots)).toEqual({ action: 'skip', reason: 'limit_reached', over: 1 });
  });

  it('does not rotate own snapshots that are not active (creating, restoring, deleting, error)', () => {
    const snapshots = [
      own(1, 1, { status: 'creating' }),
      own(2, 2, { status: 'restoring' }),
      own(3, 3, { status: 'deleting' }),
      own(4, 4, { status: 'error' }),
    ];
    expect(decideScheduledRun(1, 4, snapshots)).toEqual({ action: 'skip', reason: 'limit_reached', over: 1 });
  });

  it('over the limit after a downgrade: rotates exactly the needed oldest own ones (used + 1 - limit)', () => {
    // limit 2, 4 occupying: 1 manual + 3 own unpinned → needed = 4 + 1 - 2 = 3.
    const snapshots = [manual(1, 0), own(12, 3), own(10, 1), own(11, 2)];
    expect(decideScheduledRun(1, 2, snapshots)).toEqual({ action: 'rotate', deleteIds: [10, 11, 12] });
  });

  it('over the limit rotates only as many as needed, oldest first', () => {
    // limit 3, 4 occupying own → needed 2, of 4 candidates.
    const snapshots = [own(4, 4), own(2, 2), own(1, 1), own(3, 3)];
    expect(decideScheduledRun(1, 3, snapshots)).toEqual({ action: 'rotate', deleteIds: [1, 2] });
  });

  it('over the limit without enough own unpinned snapshots, skips with over = needed and rotates nothing', () => {
    // limit 2, 5 occupying: 2 manual, 1 pinned own, 2 unpinned own → needed 4 > 2 candidates.
    const snapshots = [manual(1, 0), manual(2, 1), own(3, 2, { pinned: true }), own(4, 3), own(5, 4)];
    expect(decideScheduledRun(1, 2, snapshots)).toEqual({ action: 'skip', reason: 'limit_reached', over: 4 });
  });

  it('failed snapshots do not occupy quota', () => {
    const snapshots = [manual(1, 1, { status: 'failed' }), own(2, 2, { status: 'failed' }), own(3, 3)];
    expect(decideScheduledRun(1, 2, snapshots)).toEqual({ action: 'run' });
    // Without the failed ones treated as free, limit 2 would already need rotation.
    const allFailed = [manual(1, 1, { status: 'failed' }), manual(2, 2, { status: 'failed' }), manual(3, 3, { status: 'failed' })];
    expect(decideScheduledRun(1, 1, allFailed)).toEqual({ action: 'run' });
  });

  it.each<SnapshotStatus>(['creating', 'restoring', 'deleting', 'error', 'unmanaged'])(
    'a %s snapshot occupies quota',
    (status) => {
      const snapshots = [manual(1, 1, { status }), manual(2, 2)];
      expect(decideScheduledRun(1, 2, snapshots)).toEqual({ action: 'skip', reason: 'limit_reached', over: 1 });
    },
  );

  it('pinned snapshots occupy quota', () => {
    const snapshots = [own(1, 1, { pinned: true }), own(2, 2)];
    expect(decideScheduledRun(1, 2, snapshots)).toEqual({ action: 'rotate', deleteIds: [2] });
  });
});
