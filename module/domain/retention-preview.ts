import { decideScheduledRun, snapshotsBeyondKeep, type RetentionSnapshot } from './retention.js';
import { occupiesStorage } from './status.js';

export interface PreviewSnapshot extends RetentionSnapshot {
  name: string;
}

/** A snapshot a previewed run would delete: one that exists now, or the one an earlier previewed run takes. */
export type PreviewRotated =
  | { kind: 'existing'; id: number; name: string; createdAt: Date }
  | { kind: 'planned'; run: number; at: Date };

export interface PreviewRun {
  at: Date;
  /** Skipped for "limit reached": nothing deleted, no snapshot taken. */
  skipped: boolean;
  rotates: PreviewRotated[];
}

export interface RetentionPreview {
  runs: PreviewRun[];
  keep: number;
  /** The schedule's own snapshots rotation may remove today (active, unpinned). */
  kept: number;
  /** Never deleted by any schedule: pinned ones, and unpinned ones no schedule owns (manual, safety, of a deleted schedule). */
  untouched: { pinned: number; manual: number };
}

export interface PreviewInput {
  /** null: a schedule not saved yet, which owns no snapshot. */
  scheduleId: number | null;
  keep: number;
  limit: number;
  snapshots: PreviewSnapshot[];
  nextRuns: Date[];
}

// Schedule ids are positive: a new schedule's stand-in can never own an existing snapshot.
const UNSAVED_SCHEDULE = -1;

/**
 * What the next runs of a schedule would do, given the snapshots as they are now: each run through
 * decideScheduledRun (make room or skip) and, when it takes its snapshot, snapshotsBeyondKeep — the
 * very rules the scheduled run applies, so the preview cannot drift from them. Each run is assumed
 * to succeed, and no other schedule or person to change anything meanwhile.
 */
export function previewRetention(input: PreviewInput): RetentionPreview {
  const id = input.scheduleId ?? UNSAVED_SCHEDULE;
  const existing = new Map(input.snapshots.map((s) => [s.id, s]));
  const planned = new Map<number, { run: number; at: Date }>();
  let held: RetentionSnapshot[] = [...input.snapshots];
  const describe = (sid: number): PreviewRotated => {
    const s = existing.get(sid);
    if (s) return { kind: 'existing', id: s.id, name: s.name, createdAt: s.createdAt };
    return { kind: 'planned', ...planned.get(sid)! };
  };
  const runs = input.nextRuns.map((at, run): PreviewRun => {
    const decision = decideScheduledRun(id, input.limit, held);
    if (decision.action === 'skip') return { at, skipped: true, rotates: [] };
    const made = decision.action === 'rotate' ? decision.deleteIds : [];
    // Negative ids: never one of a stored snapshot.
    const taken = -(run + 1);
    planned.set(taken, { run, at });
    held = [...held.filter((s) => !made.includes(s.id)), { id: taken, scheduleId: id, pinned: false, status: 'active', createdAt: at }];
    const beyond = snapshotsBeyondKeep(id, input.keep, held);
    held = held.filter((s) => !beyond.includes(s.id));
    return { at, skipped: false, rotates: [...made, ...beyond].map(describe) };
  });
  const stored = input.snapshots.filter((s) => occupiesStorage(s.status));
  return {
    runs,
    keep: input.keep,
    kept: input.snapshots.filter((s) => s.scheduleId === id && !s.pinned && s.status === 'active').length,
    untouched: {
      pinned: stored.filter((s) => s.pinned).length,
      manual: stored.filter((s) => !s.pinned && s.scheduleId === null).length,
    },
  };
}
