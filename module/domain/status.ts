import { IllegalTransitionError } from './errors.js';

export const SNAPSHOT_STATUSES = [
  'creating', 'active', 'failed', 'restoring', 'deleting', 'error', 'unmanaged',
] as const;
export type SnapshotStatus = (typeof SNAPSHOT_STATUSES)[number];
/** `deleted` is not stored: reaching it removes the row (the audit log keeps the history). */
export type TransitionTarget = SnapshotStatus | 'deleted';

/** Statuses whose snapshot takes storage on the hypervisor and so counts against the limit. */
export const OCCUPYING_STATUSES: readonly SnapshotStatus[] = [
  'creating', 'active', 'restoring', 'deleting', 'error', 'unmanaged',
];

const TRANSITIONS: Record<SnapshotStatus, readonly TransitionTarget[]> = {
  // error: the hypervisor left a half-made snapshot behind.
  creating: ['active', 'failed', 'error'],
  active: ['restoring', 'deleting', 'error'],
  // A failed rollback leaves the snapshot itself intact, so it goes back to active.
  restoring: ['active', 'error'],
  // active: a delete the hypervisor refused for good leaves the snapshot usable.
  deleting: ['deleted', 'error', 'active'],
  // creating: an admin retries the failed create (module/domain/admin-service.ts).
  failed: ['deleted', 'creating'],
  // An admin can retry (back to active once verified, or the create again) or delete.
  error: ['active', 'deleting', 'deleted', 'creating'],
  // Adopt or delete (reconcile, admin).
  unmanaged: ['active', 'deleting', 'deleted'],
};

/** Whether `from → to` is a legal move of the snapshot status machine. */
export function canTransition(from: SnapshotStatus, to: TransitionTarget): boolean {
  return TRANSITIONS[from].includes(to);
}

/** Throws IllegalTransitionError unless `from → to` is legal. */
export function assertTransition(from: SnapshotStatus, to: TransitionTarget): void {
  if (!canTransition(from, to)) throw new IllegalTransitionError(from, to);
}

/** Legal targets from a status (used by tests and the admin UI). */
export function transitionsFrom(from: SnapshotStatus): readonly TransitionTarget[] {
  return TRANSITIONS[from];
}

export function occupiesStorage(status: SnapshotStatus): boolean {
  return OCCUPYING_STATUSES.includes(status);
}
