import type { TFunction } from 'i18next';
import type { AuditEvent } from '../../domain/types.js';
import { actionLabel } from '../client/activity-presenter.js';
import type { Formatters } from '../common/formatters.js';
import { duration } from './admin-kit.js';
import { servicePath } from './service-routes.js';

export const ACTOR_TYPES = ['customer', 'reseller', 'admin', 'schedule', 'billing', 'system', 'reconcile'] as const;

const LIMIT_FIELDS = ['maxSnapshots', 'maxSchedules', 'maxKeep', 'memoryAllowed', 'schedulesAllowed', 'cloneAllowed'] as const;

type Details = Record<string, unknown>;
const text = (v: unknown) => (typeof v === 'string' || typeof v === 'number' ? String(v) : '');
const record = (v: unknown): Details => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Details) : {});

/** "Max snapshots: 5 → 4; Schedules allowed: yes → no", only the fields that changed. */
function limitChanges(t: TFunction, before: unknown, after: unknown): string {
  const value = (v: unknown) => (typeof v === 'boolean' ? t(v ? 'admin:audit.summary.yes' : 'admin:audit.summary.no') : v === undefined || v === null ? '—' : text(v));
  const b = record(before);
  const a = record(after);
  const changed = LIMIT_FIELDS.filter((f) => value(b[f]) !== value(a[f]));
  return changed.length
    ? changed.map((f) => t('admin:audit.summary.change', { field: t(`admin:limits.field.${f}`), from: value(b[f]), to: value(a[f]) })).join('; ')
    : t('admin:audit.summary.no_change');
}

const planLabel = (planId: unknown) => text(planId);

/**
 * One line saying what an event's stored details mean, in the admin's language; null when the details
 * add nothing the other columns do not say (the raw data stays available next to it).
 */
export function auditSummary(t: TFunction, fmt: Formatters, e: AuditEvent): string | null {
  const d = e.details ?? {};
  const s = (key: string, params: Details = {}) => t(`admin:audit.summary.${key}`, params);
  switch (e.action) {
    case 'admin.plan_limits_set':
      return d.planId === '*' ? s('default_limits_set', { changes: limitChanges(t, d.before, d.after) })
        : s('plan_limits_set', { plan: planLabel(d.planId), changes: limitChanges(t, d.before, d.after) });
    case 'admin.plan_limits_inherit':
      return s('plan_limits_inherit', { plan: planLabel(d.planId) });
    case 'admin.overrides_set':
      return s('overrides_set', { changes: limitChanges(t, d.before, d.after) });
    case 'admin.overrides_cleared':
      return s('overrides_cleared');
    case 'admin.retry':
      return s('retry', { from: text(d.operationId), to: text(d.newOperationId) });
    case 'admin.adopt':
      return typeof d.previousName === 'string' && d.previousName !== e.snapshotName ? s('adopt', { previous: d.previousName }) : null;
    case 'admin.force_remove':
      return s('force_remove', { hvName: text(d.hvName) });
    case 'driver.guest_moved':
      return s('guest_moved', { vmId: text(d.vmId), driver: text(d.driver), from: text(d.from), to: text(d.to) });
    case 'driver.access_missing': {
      const missing = Array.isArray(d.missing) ? d.missing.map((m) => s('privilege_on', { privilege: text(record(m).privilege), path: text(record(m).path) })) : [];
      return s('access_missing', { driver: text(d.driver), missing: missing.join(', ') });
    }
    case 'schedule.run': {
      const name = text(d.name) || `#${text(d.scheduleId)}`;
      const occurrence = typeof d.occurrence === 'string' ? new Date(d.occurrence) : null;
      if (!occurrence || Number.isNaN(occurrence.getTime())) return s('schedule_named', { name });
      // A run that started says how late; a refused one was never started.
      return e.result === 'ok'
        ? s('schedule_run_late', { name, due: fmt.date(occurrence), late: duration(t, e.occurredAt.getTime() - occurrence.getTime()) })
        : s('schedule_run', { name, due: fmt.date(occurrence) });
    }
    case 'schedule.create': case 'schedule.update': case 'schedule.enable': case 'schedule.disable': case 'schedule.delete':
      return typeof d.hour === 'number' && typeof d.minute === 'number'
        ? s('schedule', { name: text(d.name), time: `${String(d.hour).padStart(2, '0')}:${String(d.minute).padStart(2, '0')}`, timezone: text(d.timezone), keep: text(d.keep) })
        : null;
    case 'snapshot.create':
      return d.includeMemory === true ? s('with_memory') : null;
    case 'billing.plan_changed': case 'admin.limits_applied':
      return d.previousPlanId && d.previousPlanId !== d.planId ? s('plan_changed', { from: text(d.previousPlanId), to: text(d.planId) }) : null;
    case 'billing.before_plan_change':
      return s('before_plan_change', { plan: text(d.newPlanId), count: text(d.snapshotCount) });
    case 'billing.can_expand_storage':
      return s('snapshot_count', { count: text(d.snapshotCount) });
    case 'reconcile.implausible':
      return s('implausible', { listed: text(d.listed), records: text(d.records) });
    default:
      if (typeof d.operationId === 'number') {
        return typeof d.detail === 'string' && d.detail ? s('operation_detail', { id: d.operationId, detail: d.detail }) : s('operation', { id: d.operationId });
      }
      return null;
  }
}

/** The audit log page: filters, and rows with names, labels and a readable line per event. */
export function presentAudit(t: TFunction, fmt: Formatters, rows: AuditEvent[], filter: Record<string, unknown>, names: Map<string, string>) {
  return {
    filters: {
      serviceId: filter.serviceId ?? '', actorId: filter.actorId ?? '', action: filter.action ?? '', from: filter.from ?? '', to: filter.to ?? '',
      actorType: [{ value: '', label: t('admin:browser.any'), selected: !filter.actorType },
        ...ACTOR_TYPES.map((a) => ({ value: a, label: t(`admin:actor_type.${a}`), selected: a === filter.actorType }))],
    },
    rows: rows.map((e) => ({
      id: e.id, at: fmt.date(e.occurredAt), iso: e.occurredAt.toISOString(),
      actor: e.actorId ? `${t(`admin:actor_type.${e.actorType}`)} (${e.actorId})` : t(`admin:actor_type.${e.actorType}`),
      serviceId: e.serviceId, serviceName: e.serviceId ? names.get(e.serviceId) ?? null : null, serviceHref: e.serviceId ? servicePath(e.serviceId) : null,
      snapshot: e.snapshotName ? `${e.snapshotName} (#${e.snapshotId ?? '?'})` : e.snapshotId ? `#${e.snapshotId}` : '',
      action: e.action, actionLabel: actionLabel(t, e.action), result: e.result, resultLabel: t(`admin:audit.result.${e.result}`),
      change: e.fromStatus || e.toStatus ? `${e.fromStatus ?? '—'} → ${e.toStatus ?? '—'}` : '',
      code: e.code ? t(`errors:${e.code}`, { defaultValue: e.code }) : '',
      summary: auditSummary(t, fmt, e),
      details: e.details ? JSON.stringify(e.details, null, 2) : '', ip: e.ip ?? '',
    })),
  };
}
