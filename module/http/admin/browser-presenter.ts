import type { TFunction } from 'i18next';
import { SNAPSHOT_STATUSES } from '../../domain/status.js';
import type { Operation, Snapshot } from '../../domain/types.js';
import type { Formatters } from '../common/formatters.js';
import { snapshotsPath } from '../common/paths.js';
import { ADMIN_BASE } from './admin-kit.js';
import { servicePath } from './service-routes.js';

export const OPERATION_STATUSES = ['queued', 'running', 'succeeded', 'failed'] as const;
export const OPERATION_KINDS = ['create', 'delete', 'restore', 'clone'] as const;

/** An error code as text: ours are translated; anything else reads as a refusal by the hypervisor. */
const errorText = (t: TFunction, code: string | null) => (code ? t(`errors:${code}`, { defaultValue: t('errors:driver_rejected') }) : '');

const options = (t: TFunction, values: readonly string[], prefix: string, selected: string | undefined) => [
  { value: '', label: t('admin:browser.any'), selected: !selected },
  ...values.map((v) => ({ value: v, label: t(`${prefix}${v}`), selected: v === selected })),
];

export const itemPath = (id: number, action: string) => `${ADMIN_BASE}/items/${id}/${action}`;

/** The snapshot browser's filter form and rows, with the actions each row offers. */
export function presentSnapshotBrowser(t: TFunction, fmt: Formatters, input: {
  rows: Snapshot[]; filter: { status?: string; problem?: string; serviceId?: string; customerId?: string }; names?: Map<string, string>;
}) {
  return {
    filters: {
      status: options(t, SNAPSHOT_STATUSES, 'snapshots:status.', input.filter.status),
      problem: options(t, ['errors', 'unmanaged', 'stuck'], 'admin:browser.problem.', input.filter.problem),
      serviceId: input.filter.serviceId ?? '', customerId: input.filter.customerId ?? '',
    },
    rows: input.rows.map((s) => ({
      id: s.id, serviceId: s.serviceId, serviceName: input.names?.get(s.serviceId) ?? null, serviceHref: servicePath(s.serviceId), clientHref: snapshotsPath(s.serviceId),
      name: s.name, hvName: s.hvName, status: s.status, statusLabel: t(`snapshots:status.${s.status}`),
      error: errorText(t, s.errorCode), errorDetail: s.errorMessage ?? '',
      origin: s.origin === 'schedule' ? t('admin:browser.origin_schedule') : t(`snapshots:origin.${s.origin}`),
      pinned: s.pinned, created: fmt.date(s.createdAt), updated: fmt.date(s.updatedAt),
      actions: [
        ...(s.status === 'unmanaged' ? [{ href: itemPath(s.id, 'adopt'), label: t('admin:actions.adopt_label', { name: s.name }), text: t('admin:actions.adopt') },
          { href: itemPath(s.id, 'delete'), label: t('admin:actions.delete_label', { name: s.name }), text: t('admin:actions.delete') }] : []),
        ...(s.status === 'error' && s.errorCode === 'snapshot_vanished'
          ? [{ href: itemPath(s.id, 'remove'), label: t('admin:actions.remove_label', { name: s.name }), text: t('admin:actions.remove') }] : []),
      ],
    })),
  };
}

/** The operations browser: filters and rows; a failed create or delete offers Retry. */
export function presentOperationBrowser(t: TFunction, fmt: Formatters, input: {
  rows: Operation[]; filter: { status?: string; kind?: string; problem?: string; serviceId?: string; customerId?: string };
  /** Service names by id, and snapshot names by id; a missing one shows the id. */
  names?: Map<string, string>; snapshots?: Map<number, string>;
}) {
  return {
    filters: {
      status: options(t, OPERATION_STATUSES, 'snapshots:operation_status.', input.filter.status),
      kind: options(t, OPERATION_KINDS, 'snapshots:operation.', input.filter.kind),
      problem: options(t, ['errors', 'stuck'], 'admin:browser.problem.', input.filter.problem),
      serviceId: input.filter.serviceId ?? '', customerId: input.filter.customerId ?? '',
    },
    rows: input.rows.map((o) => ({
      id: o.id, serviceId: o.serviceId, serviceName: input.names?.get(o.serviceId) ?? null, serviceHref: servicePath(o.serviceId), snapshotId: o.snapshotId,
      snapshotName: o.snapshotId === null ? null : input.snapshots?.get(o.snapshotId) ?? null,
      kind: t(`snapshots:operation.${o.kind}`), status: o.status, statusLabel: t(`snapshots:operation_status.${o.status}`),
      attempts: o.attempts, error: errorText(t, o.errorCode), errorDetail: o.errorMessage ?? '',
      by: o.requestedBy ? `${t(`admin:actor_type.${o.origin}`)} (${o.requestedBy})` : t(`admin:actor_type.${o.origin}`),
      created: fmt.date(o.createdAt), started: fmt.date(o.startedAt), finished: fmt.date(o.finishedAt),
      createdIso: o.createdAt.toISOString(), finishedIso: o.finishedAt?.toISOString() ?? '',
      retry: o.status === 'failed' && o.kind !== 'restore' && o.snapshotId !== null
        ? { action: `${ADMIN_BASE}/operations/${o.id}/retry`, label: t('admin:actions.retry_label', { id: o.id }) } : null,
    })),
  };
}

/** The confirmation page of an action on one snapshot. */
export function presentItemAction(t: TFunction, fmt: Formatters, s: Snapshot, action: 'adopt' | 'delete' | 'remove', extra: {
  quota?: { limit: number; used: number; over: number }; form?: Record<string, unknown>;
}) {
  return {
    action, post: itemPath(s.id, action),
    heading: t(`admin:actions.${action}_title`, { name: s.name }),
    intro: t(`admin:actions.${action}_intro`),
    snapshot: {
      id: s.id, name: s.name, hvName: s.hvName, serviceId: s.serviceId, serviceHref: servicePath(s.serviceId),
      statusLabel: t(`snapshots:status.${s.status}`), status: s.status, error: errorText(t, s.errorCode), created: fmt.date(s.createdAt),
    },
    quota: extra.quota ? { ...extra.quota, text: t('admin:actions.quota', extra.quota) } : null,
    overLimit: !!extra.quota && extra.quota.over > 0,
    form: { name: String(extra.form?.name ?? s.name), allowOverLimit: !!extra.form?.allowOverLimit, confirm: !!extra.form?.confirm },
  };
}
