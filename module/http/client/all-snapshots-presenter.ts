import type { TFunction } from 'i18next';
import type { AllSnapshotsPage, ServiceSummary } from '../../domain/all-snapshots.js';
import type { Formatters } from '../common/formatters.js';
import { allSnapshotsPath, snapshotsPath } from '../common/paths.js';
import { snapshotCells, type SnapshotCells } from './presenter.js';

export interface ServiceCell {
  id: string;
  name: string;
  href: string;
  /** "Snapshots left: N of M", or null while closed to changes (then `state` says why). */
  quota: string | null;
  over: string | null;
  state: string | null;
  snapshotCount: number;
}


export interface AllSnapshotsModel {
  /** This page's rows under their service. */
  groups: { service: ServiceCell; rows: SnapshotCells[] }[];
  /** Services without snapshots, shown once, on the last page. */
  withoutSnapshots: ServiceCell[];
  serviceCount: number;
  pager: { page: number; pages: number; total: number; prev: string | null; next: string | null };
}

function serviceCell(t: TFunction, s: ServiceSummary): ServiceCell {
  const { service, quota } = s;
  return {
    id: service.id, name: service.name, href: snapshotsPath(service.id), snapshotCount: s.snapshotCount,
    // As on the service's own page: free slots of a closed service would promise creates that cannot happen.
    quota: s.open ? t('snapshots:quota', { left: quota.left, limit: quota.limit }) : null,
    over: s.open && quota.over > 0 ? t('snapshots:all.over_limit', { count: quota.over }) : null,
    state: service.status === 'active' ? null : t(`snapshots:all.service_state.${service.status}`),
  };
}

/** Builds what the All snapshots page shows; the view gets this and nothing else. */
export function presentAllSnapshots(t: TFunction, fmt: Formatters, page: AllSnapshotsPage): AllSnapshotsModel {
  const cells = new Map(page.services.map((s) => [s.service.id, serviceCell(t, s)]));
  const groups: AllSnapshotsModel['groups'] = [];
  for (const s of page.snapshots) {
    const cell = cells.get(s.serviceId);
    if (!cell) continue;
    if (groups.at(-1)?.service.id !== s.serviceId) groups.push({ service: cell, rows: [] });
    groups.at(-1)!.rows.push(snapshotCells(t, fmt, s, page.scheduleNames));
  }
  const last = page.page >= page.pages;
  const href = (n: number) => (n === 1 ? allSnapshotsPath() : `${allSnapshotsPath()}?page=${n}`);
  return {
    groups,
    withoutSnapshots: last ? [...cells.values()].filter((c) => c.snapshotCount === 0) : [],
    serviceCount: page.services.length,
    pager: {
      page: page.page, pages: page.pages, total: page.total,
      prev: page.page > 1 ? href(Math.min(page.page - 1, page.pages)) : null,
      next: page.page < page.pages ? href(page.page + 1) : null,
    },
  };
}
