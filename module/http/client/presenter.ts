import type { TFunction } from 'i18next';
import type { PlanLimits } from '../../domain/limits.js';
import { quotaView, type QuotaView } from '../../domain/limits.js';
import { allowedActions, canCreate, cloneBlockedReason, quotaOf, type CloneOffer, type SnapshotActions } from '../../domain/allowed-actions.js';
import type { CloneReport } from '../../domain/clone/clone-report.js';
import type { PanelService, Snapshot } from '../../domain/types.js';
import type { Formatters } from '../common/formatters.js';
import { snapshotsPath } from '../common/paths.js';

export interface SnapshotRow {
  id: number;
  name: string;
  description: string | null;
  created: string;
  createdIso: string;
  size: string;
  memorySize: string;
  status: Snapshot['status'];
  statusLabel: string;
  queued: boolean;
  pinned: boolean;
  origin: string;
  error: string | null;
  can: SnapshotActions;
  restoreUnavailable: string | null;
  /** A new server is being made from it. */
  cloning: boolean;
}

/** This service as a new server made from a snapshot: how its disk is getting on. */
export interface CloneBanner {
  status: CloneReport['status'];
  tone: 'info' | 'warn' | 'error';
  text: string;
  error: string | null;
}

export interface SnapshotListModel {
  service: { id: string; name: string; status: PanelService['status'] };
  rows: SnapshotRow[];
  quota: QuotaView;
  /** A new snapshot may be asked for (the service open to the viewer and a slot left). */
  canCreate: boolean;
  limits: PlanLimits;
  memoryAvailable: boolean;
  memoryReason: string | null;
  storageNotice: boolean;
  simulated: boolean;
  readOnly: boolean;
  pendingCount: number;
  basePath: string;
  /**
   * "New server from this snapshot": shown (per row, `can.newServer`) when the panel offers it; when
   * the service cannot, why (one note the disabled buttons point to), else null.
   */
  newServer: { shown: boolean; blocked: string | null };
  clone: CloneBanner | null;
  /** The next older page and the way back to the newest, when there are such pages. */
  pager: { older: string | null; newest: string | null };
}

/** How a snapshot came to be, with the name of the schedule that made it (which may be gone since). */
export function originLabel(t: TFunction, s: Pick<Snapshot, 'origin' | 'scheduleId'>, scheduleNames: ReadonlyMap<number, string>): string {
  return s.origin === 'schedule'
    ? t('snapshots:origin.schedule', { name: scheduleNames.get(s.scheduleId ?? -1) ?? t('snapshots:origin.deleted_schedule') })
    : t(`snapshots:origin.${s.origin}`);
}

/** What every list of snapshots shows of one, formatted for its viewer. */
export type SnapshotCells = Pick<SnapshotRow, 'id' | 'name' | 'description' | 'created' | 'createdIso' | 'size' | 'status' | 'statusLabel' | 'pinned' | 'origin'>;

export function snapshotCells(t: TFunction, fmt: Formatters, s: Snapshot, scheduleNames: ReadonlyMap<number, string>): SnapshotCells {
  return {
    id: s.id, name: s.name, description: s.description, created: fmt.date(s.createdAt), createdIso: s.createdAt.toISOString(),
    size: fmt.bytes(s.diskBytes), status: s.status, statusLabel: t(`snapshots:status.${s.status}`), pinned: s.pinned,
    origin: originLabel(t, s, scheduleNames),
  };
}

/** Builds what the Snapshots page shows; views get this and nothing else. */
export function presentSnapshotList(input: {
  t: TFunction; fmt: Formatters; service: PanelService; snapshots: Snapshot[];
  /** Ids of the snapshots with a running and with a queued operation; the service's operations waiting or running. */
  running: ReadonlySet<number>; queued: ReadonlySet<number>; pendingCount: number;
  /** Names of the schedules that made snapshots, by id (absent: deleted). */
  scheduleNames: ReadonlyMap<number, string>;
  limits: PlanLimits; memoryCapable: boolean; simulated: boolean; restoreUnavailable: Map<number, string | null>; readOnly: boolean;
  /** Ids of the snapshots a new server is being made from. */
  cloning?: ReadonlySet<number>;
  cloneOffer?: CloneOffer;
  /** The clone that made (or makes) this service, if any. */
  cloneReport?: CloneReport | null;
  /** The service's snapshots taking storage, all of them (the list may be one page); the page's own when absent. */
  occupying?: number;
  pager?: SnapshotListModel['pager'];
}): SnapshotListModel {
  const { t, fmt, service } = input;
  const quota = input.occupying === undefined ? quotaOf(input.limits.maxSnapshots, input.snapshots) : quotaView(input.limits.maxSnapshots, input.occupying);
  const { running, queued: queuedIds } = input;
  const rows = input.snapshots.map((s): SnapshotRow => {
    const queued = queuedIds.has(s.id) && !running.has(s.id);
    const restoreUnavailable = input.restoreUnavailable.get(s.id) ?? null;
    return {
      ...snapshotCells(t, fmt, s, input.scheduleNames),
      memorySize: fmt.bytes(s.memoryBytes),
      queued,
      error: s.errorCode ? t(`errors:${s.errorCode}`, { defaultValue: t('errors:driver_rejected') }) : null,
      can: allowedActions(s, { open: !input.readOnly, restoreBlocked: restoreUnavailable, cloning: input.cloning?.has(s.id), cloneOffer: input.cloneOffer }),
      restoreUnavailable: restoreUnavailable ? t(`errors:${restoreUnavailable}`) : null,
      cloning: input.cloning?.has(s.id) ?? false,
    };
  });
  const memoryAvailable = input.limits.memoryAllowed && input.memoryCapable;
  return {
    service: { id: service.id, name: service.name, status: service.status },
    rows,
    quota,
    canCreate: canCreate(quota, !input.readOnly),
    limits: input.limits,
    memoryAvailable,
    memoryReason: memoryAvailable ? null : t(input.limits.memoryAllowed ? 'errors:memory_unsupported_by_hypervisor' : 'errors:memory_not_in_plan'),
    storageNotice: quota.used > 0,
    simulated: input.simulated,
    readOnly: input.readOnly,
    pendingCount: input.pendingCount,
    basePath: snapshotsPath(service.id),
    pager: input.pager ?? { older: null, newest: null },
    newServer: presentNewServer(t, input.cloneOffer),
    clone: input.cloneReport ? presentCloneBanner(t, input.cloneReport) : null,
  };
}

/** Whether the buttons show, and the service-wide reason they are disabled (a snapshot's own status is its row's). */
function presentNewServer(t: TFunction, offer: CloneOffer | undefined): SnapshotListModel['newServer'] {
  if (!offer?.offered) return { shown: false, blocked: null };
  const reason = cloneBlockedReason(offer, { status: 'active' });
  return { shown: true, blocked: reason ? t(`errors:${reason}`) : null };
}

/** The new server's own page says where its disk comes from and how far the copy is. */
export function presentCloneBanner(t: TFunction, r: CloneReport): CloneBanner {
  const tone = r.status === 'failed' ? 'error' : r.status === 'succeeded' ? 'info' : 'warn';
  return {
    status: r.status, tone, text: t(`snapshots:new_server.banner.${r.status}`, { name: r.snapshotName }),
    // Some hypervisor errors are worded for snapshots; a clone's own wording comes first where there is one.
    error: r.errorCode ? t(`errors:clone_error_${r.errorCode}`, { defaultValue: t(`errors:${r.errorCode}`, { defaultValue: t('errors:driver_rejected') }) }) : null,
  };
}
