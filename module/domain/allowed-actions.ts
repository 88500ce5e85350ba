import { quotaView, type QuotaView } from './limits.js';
import { canTransition, occupiesStorage, type SnapshotStatus } from './status.js';
import type { Snapshot } from './types.js';

/** What may be done with one snapshot now; pages, the API and the domain's own checks all read this. */
export interface SnapshotActions {
  pin: boolean;
  edit: boolean;
  restore: boolean;
  delete: boolean;
  /** A failed snapshot occupies nothing and is removed at once rather than deleted on the hypervisor. */
  dismiss: boolean;
  /** "New server from this snapshot" (false with the reason in `cloneBlocked` when the service cannot offer it). */
  newServer: boolean;
}

/** What decides whether a service's snapshots can become new servers, apart from each snapshot's own status. */
export interface CloneOffer {
  /** The panel has an order flow for it (`orderServerFromSnapshot`). */
  offered: boolean;
  /** The service's plan allows it. */
  cloneAllowed: boolean;
  /** The hypervisor driver can clone this guest. */
  driverCanClone: boolean;
  /** The service is itself still being made from a snapshot. */
  clonePending: boolean;
}

/** Why a snapshot cannot become a new server now (an error code), or null when it can. */
export function cloneBlockedReason(offer: CloneOffer, s: Pick<Snapshot, 'status'>): string | null {
  if (!offer.offered) return 'clone_not_offered';
  if (!offer.cloneAllowed) return 'clone_not_in_plan';
  if (offer.clonePending) return 'clone_in_progress';
  if (!offer.driverCanClone) return 'clone_unsupported';
  return s.status === 'active' ? null : 'clone_needs_active';
}

/** Statuses in which a snapshot cannot be pinned or unpinned: on its way out, or never made. */
export const UNPINNABLE_STATUSES: readonly SnapshotStatus[] = ['deleting', 'failed'];

/**
 * The one rule of what a snapshot allows, by its status: pin unless it is going or never made;
 * rename unless it is going; delete where the status machine allows `deleting`; restore an active
 * one that the hypervisor can roll back to (`restoreBlocked`: the reason it cannot, see
 * restoreBlockedReason); dismiss a failed one; make a new server from an active one where the
 * service offers it (cloneBlockedReason), and never delete one a new server is being made from. `open`: false while the service is suspended or
 * terminated for this actor (authorize), which allows nothing.
 */
export function allowedActions(s: Pick<Snapshot, 'status'>, opts: {
  open: boolean; restoreBlocked?: string | null;
  /** A new server is being made from it: it stays until the copy is done. */
  cloning?: boolean;
  /** Whether the service can offer new servers (cloneBlockedReason); absent: not offered. */
  cloneOffer?: CloneOffer;
}): SnapshotActions {
  const { open } = opts;
  return {
    pin: open && !UNPINNABLE_STATUSES.includes(s.status),
    edit: open && s.status !== 'deleting',
    restore: open && s.status === 'active' && !opts.restoreBlocked,
    delete: open && canTransition(s.status, 'deleting') && !opts.cloning,
    dismiss: open && s.status === 'failed',
    newServer: open && !!opts.cloneOffer && cloneBlockedReason(opts.cloneOffer, s) === null,
  };
}

/** "Snapshots left" of a service: the snapshots taking storage count against the limit. */
export function quotaOf(limit: number, snapshots: ReadonlyArray<Pick<Snapshot, 'status'>>): QuotaView {
  return quotaView(limit, snapshots.filter((s) => occupiesStorage(s.status)).length);
}

/**
 * quotaOf from a service's snapshot counts by status, for pages that list more snapshots than they
 * read (the All snapshots page reads one page of rows but every service's counts).
 */
export function quotaOfCounts(limit: number, counts: ReadonlyMap<SnapshotStatus, number>): QuotaView {
  let used = 0;
  for (const [status, n] of counts) if (occupiesStorage(status)) used += n;
  return quotaView(limit, used);
}

/**
 * Whether a new snapshot may be asked for now: the service open to the actor (mayChange) and a slot
 * left. The create itself checks again under the service's lock; this is what a page offers.
 */
export function canCreate(quota: QuotaView, open: boolean): boolean {
  return open && quota.left > 0;
}
