import { describe, expect, it } from 'vitest';
import { decideScheduledRun, snapshotsBeyondKeep } from '../../module/domain/retention.js';
import { previewRetention, type PreviewSnapshot } from '../../module/domain/retention-preview.js';
import type { SnapshotStatus } from '../../module/domain/status.js';

const BASE = Date.UTC(2026, 10, 1);
const DAY = 24 * 60 * 60 * 1000;

function snap(id: number, day: number, opts: { scheduleId?: number | null; pinned?: boolean; status?: SnapshotStatus } = {}): PreviewSnapshot {
  return {
    id, name: `s${id}`, scheduleId: opts.scheduleId === undefined ? 1 : opts.scheduleId, pinned: opts.pinned ?? false,
    status: opts.status ?? 'active', createdAt: new Date(BASE + day * DAY),
  };
}
const manual = (id: number, day: number, pinned = false) => snap(id, day, { scheduleId: null, pinned });
/** Weekly runs from day 30 on. */
const runs = (n: number) => Array.from({ length: n }, (_, i) => new Date(BASE + (30 + 7 * i) * DAY));
const ids = (r: ReturnType<typeof previewRetention>['runs'][number]) => r.rotates.map((x) => (x.kind === 'existing' ? x.id : `run ${x.run}`));

describe('previewRetention', () => {
  it('lists neither pinned nor manual snapshots, and counts them as never touched', () => {
    const snapshots = [manual(1, 0), manual(2, 1, true), snap(3, 2, { pinned: true }), snap(4, 3), snap(5, 4)];
    const p = previewRetention({ scheduleId: 1, keep: 1, limit: 10, snapshots, nextRuns: runs(3) });
    const listed = p.runs.flatMap(ids);
    for (const untouched of [1, 2, 3]) expect(listed).not.toContain(untouched);
    expect(ids(p.runs[0]!)).toEqual([4, 5]);
    expect(p.untouched).toEqual({ pinned: 2, manual: 1 });
    expect(p.runs[0]!.rotates[0]).toEqual({ kind: 'existing', id: 4, name: 's4', createdAt: snapshots[3]!.createdAt });
  });

  it('a run the limit blocks is skipped when nothing of the schedule can be rotated, and the next ones too', () => {
    const snapshots = [manual(1, 0), manual(2, 1), snap(3, 2, { pinned: true })];
    const p = previewRetention({ scheduleId: 1, keep: 3, limit: 3, snapshots, nextRuns: runs(3) });
    expect(p.runs.map((r) => r.skipped)).toEqual([true, true, true]);
    expect(p.runs.every((r) => r.rotates.length === 0)).toBe(true);
    expect(p.runs[0]!.at).toEqual(runs(1)[0]);
  });

  it('a new schedule owns nothing: at the limit with only manual snapshots, its first run would skip', () => {
    const p = previewRetention({ scheduleId: null, keep: 2, limit: 2, snapshots: [manual(1, 0), manual(2, 1)], nextRuns: runs(2) });
    expect(p.runs.map((r) => r.skipped)).toEqual([true, true]);
    expect(p.kept).toBe(0);
    // With room, its own snapshots start rotating once keep is reached.
    const roomy = previewRetention({ scheduleId: null, keep: 1, limit: 10, snapshots: [manual(1, 0)], nextRuns: runs(3) });
    expect(roomy.runs.map(ids)).toEqual([[], ['run 0'], ['run 1']]);
  });

  it('keep lowered shows the extra rotations at the next run; kept at keep it rotates one per run', () => {
    const snapshots = [snap(1, 0), snap(2, 7), snap(3, 14), snap(4, 21)];
    const same = previewRetention({ scheduleId: 1, keep: 4, limit: 10, snapshots, nextRuns: runs(2) });
    expect(same.runs.map(ids)).toEqual([[1], [2]]);
    expect(same.kept).toBe(4);
    const lowered = previewRetention({ scheduleId: 1, keep: 2, limit: 10, snapshots, nextRuns: runs(2) });
    expect(lowered.runs.map(ids)).toEqual([[1, 2, 3], [4]]);
  });

  it('at the limit, rotates to make room first, then retention after the run', () => {
    const snapshots = [manual(1, 0), snap(2, 1), snap(3, 2), snap(4, 3, { status: 'failed' })];
    const p = previewRetention({ scheduleId: 1, keep: 2, limit: 3, snapshots, nextRuns: runs(2) });
    expect(p.runs.map(ids)).toEqual([[2], [3]]);
    expect(p.runs.map((r) => r.skipped)).toEqual([false, false]);
  });

  it('agrees with decideScheduledRun and snapshotsBeyondKeep on the same input', () => {
    const cases: { keep: number; limit: number; snapshots: PreviewSnapshot[] }[] = [
      { keep: 2, limit: 10, snapshots: [snap(1, 0), snap(2, 1), snap(3, 2), manual(4, 3)] },
      { keep: 3, limit: 4, snapshots: [manual(1, 0), snap(2, 1), snap(3, 2), snap(4, 3, { scheduleId: 2 })] },
      { keep: 1, limit: 2, snapshots: [manual(1, 0, true), manual(2, 1)] },
      { keep: 5, limit: 3, snapshots: [snap(1, 0, { status: 'deleting' }), snap(2, 1), snap(3, 2, { pinned: true })] },
    ];
    for (const c of cases) {
      const [first] = previewRetention({ scheduleId: 1, ...c, nextRuns: runs(1) }).runs;
      const decision = decideScheduledRun(1, c.limit, c.snapshots);
      expect(first!.skipped, JSON.stringify(c)).toBe(decision.action === 'skip');
      if (decision.action === 'skip') continue;
      const made = decision.action === 'rotate' ? decision.deleteIds : [];
      const after = [...c.snapshots.filter((s) => !made.includes(s.id)), snap(-1, 30)];
      const expected = [...made, ...snapshotsBeyondKeep(1, c.keep, after).filter((id) => id !== -1)];
      expect(ids(first!), JSON.stringify(c)).toEqual(expected);
    }
  });

  it('without runs (a disabled schedule) nothing is rotated', () => {
    expect(previewRetention({ scheduleId: 1, keep: 1, limit: 1, snapshots: [snap(1, 0), snap(2, 1)], nextRuns: [] }).runs).toEqual([]);
  });
});
