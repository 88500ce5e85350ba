import { describe, it, expect } from 'vitest';
import {
  SNAPSHOT_STATUSES,
  OCCUPYING_STATUSES,
  canTransition,
  assertTransition,
  transitionsFrom,
  occupiesStorage,
  type SnapshotStatus,
  type TransitionTarget,
} from '../../module/domain/status.js';
import { IllegalTransitionError, ConflictError, SnapshotError } from '../../module/domain/errors.js';

/**
 * Expected legal moves, written out independently from the source:
 * every pair not listed here must be illegal.
 */
const EXPECTED_LEGAL: Record<SnapshotStatus, readonly TransitionTarget[]> = {
  creating: ['active', 'failed', 'error'],
  active: ['restoring', 'deleting', 'error'],
  restoring: ['active', 'error'],
  deleting: ['deleted', 'error', 'active'],
  failed: ['deleted', 'creating'],
  error: ['active', 'deleting', 'deleted', 'creating'],
  unmanaged: ['active', 'deleting', 'deleted'],
};

const ALL_STATUSES: SnapshotStatus[] = [
  'creating', 'active', 'failed', 'restoring', 'deleting', 'error', 'unmanaged',
];
const ALL_TARGETS: TransitionTarget[] = [...ALL_STATUSES, 'deleted'];

const pairs = ALL_STATUSES.flatMap((from) =>
  ALL_TARGETS.map((to) => ({ from, to, legal: EXPECTED_LEGAL[from].includes(to) })),
);
const legalPairs = pairs.filter((p) => p.legal);
const illegalPairs = pairs.filter((p) => !p.legal);

describe('SNAPSHOT_STATUSES', () => {
  it('lists exactly the seven stored statuses (deleted is not stored)', () => {
    expect([...SNAPSHOT_STATUSES].sort()).toEqual([...ALL_STATUSES].sort());
    expect(SNAPSHOT_STATUSES).not.toContain('deleted');
  });
});

describe('canTransition', () => {
  it('covers every from × to pair (7 × 8 = 56), 20 of them legal', () => {
    expect(pairs).toHaveLength(56);
    expect(legalPairs).toHaveLength(20);
  });

  it.each(pairs)('$from → $to is legal: $legal', ({ from, to, legal }) => {
    expect(canTransition(from, to)).toBe(legal);
  });

  it('never allows a status to move to itself', () => {
    for (const s of ALL_STATUSES) expect(canTransition(s, s)).toBe(false);
  });

  it('only deleting, failed, error and unmanaged may reach deleted', () => {
    const canDelete = ALL_STATUSES.filter((s) => canTransition(s, 'deleted')).sort();
    expect(canDelete).toEqual(['deleting', 'error', 'failed', 'unmanaged']);
  });

  it('restore starts only from active', () => {
    const canRestore = ALL_STATUSES.filter((s) => canTransition(s, 'restoring'));
    expect(canRestore).toEqual(['active']);
  });
});

describe('transitionsFrom', () => {
  it.each(ALL_STATUSES)('lists exactly the legal targets from %s', (from) => {
    expect([...transitionsFrom(from)].sort()).toEqual([...EXPECTED_LEGAL[from]].sort());
  });
});

describe('assertTransition', () => {
  it.each(legalPairs)('does not throw for legal $from → $to', ({ from, to }) => {
    expect(() => assertTransition(from, to)).not.toThrow();
  });

  it.each(illegalPairs)('throws IllegalTransitionError for illegal $from → $to', ({ from, to }) => {
    let caught: unknown;
    try {
      assertTransition(from, to);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(IllegalTransitionError);
    const err = caught as IllegalTransitionError;
    expect(err.code).toBe('illegal_transition');
    expect(err.status).toBe(409);
    expect(err.params).toEqual({ from, to });
    expect(err.i18nKey).toBe('errors:illegal_transition');
  });

  it('throws an error that is also a ConflictError and SnapshotError', () => {
    expect(() => assertTransition('failed', 'active')).toThrow(ConflictError);
    expect(() => assertTransition('failed', 'active')).toThrow(SnapshotError);
  });
});

describe('occupiesStorage', () => {
  it.each(ALL_STATUSES)('%s occupies storage unless it is failed', (status) => {
    expect(occupiesStorage(status)).toBe(status !== 'failed');
  });

  it('OCCUPYING_STATUSES is every status except failed', () => {
    expect([...OCCUPYING_STATUSES].sort()).toEqual(ALL_STATUSES.filter((s) => s !== 'failed').sort());
  });
});
