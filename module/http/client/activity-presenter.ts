import type { TFunction } from 'i18next';
import type { Actor, AuditEvent } from '../../domain/types.js';
import type { Formatters } from '../common/formatters.js';

/**
 * Actions the module records (module/domain, operations, scheduler, billing hooks, admin edits and
 * driver reports), each with a label: the one mapping of the customer's log and the admin audit log.
 */
export const KNOWN_ACTIONS = [
  'snapshot.create', 'snapshot.rotate', 'snapshot.pin', 'snapshot.unpin', 'snapshot.edit', 'snapshot.dismiss', 'snapshot.delete',
  'snapshot.restore', 'operation.create', 'operation.delete', 'operation.restore', 'schedule.create', 'schedule.update',
  'schedule.enable', 'schedule.disable', 'schedule.delete', 'schedule.run', 'reconcile.vanished', 'reconcile.unmanaged',
  'reconcile.stuck', 'reconcile.incomplete', 'reconcile.implausible',
  'billing.before_plan_change', 'billing.plan_changed', 'billing.suspended', 'billing.unsuspended',
  'billing.terminated', 'admin.limits_applied', 'operation.cancelled', 'billing.can_expand_storage',
  'admin.retry', 'admin.adopt', 'admin.delete_unmanaged', 'admin.force_remove', 'admin.plan_limits_set', 'admin.plan_limits_inherit',
  'admin.overrides_set', 'admin.overrides_cleared', 'driver.guest_moved', 'driver.access_missing',
  'snapshot.new_server', 'snapshot.clone', 'operation.clone', 'server.provision_from_snapshot', 'server.clone',
] as const;

/** Codes of skipped schedule runs that are not error codes of their own. */
export const RUN_REASONS = ['missed', 'paused', 'disabled', 'gone'] as const;

const actionKey = (action: string) => ((KNOWN_ACTIONS as readonly string[]).includes(action) ? action.replace('.', '_') : 'other');

/** An action code as people read it; codes the module does not know read as "Other activity". */
export const actionLabel = (t: TFunction, action: string) => t(`activity:action.${actionKey(action)}`);

export type ActorKind = 'you' | 'customer' | 'reseller' | 'admin' | 'schedule' | 'billing' | 'system' | 'reconcile';

/**
 * Who did it, as the viewer may know it: themselves, or a role. Never an id or a name, so neither an
 * administrator's identity nor another user's leaks into a customer's log.
 */
export function actorKind(e: AuditEvent, viewer: Actor): ActorKind {
  if ((e.actorType === 'customer' || e.actorType === 'reseller') && e.actorId === viewer.id) return 'you';
  const known: ActorKind[] = ['customer', 'reseller', 'admin', 'schedule', 'billing', 'system', 'reconcile'];
  return known.includes(e.actorType as ActorKind) ? (e.actorType as ActorKind) : 'system';
}

export interface ActivityEntry {
  id: number;
  time: string;
  timeIso: string;
  actor: ActorKind;
  actorLabel: string;
  action: string;
  actionLabel: string;
  subject: string | null;
  result: AuditEvent['result'];
  resultLabel: string;
  reason: string | null;
}

/** The localized reason of a refusal or failure; unknown codes get a generic line, never raw text. */
function reasonOf(t: TFunction, e: AuditEvent): string | null {
  if (!e.code || e.result === 'ok') return null;
  if ((RUN_REASONS as readonly string[]).includes(e.code)) return t(`activity:reason.${e.code}`);
  // Recorded before refusals carried their field's own code: the form's "correct the highlighted
  // fields" would point at a form that is not there.
  if (e.code === 'validation_failed') return t('activity:reason.invalid_input');
  return t(`errors:${e.code}`, { defaultValue: t('activity:reason.other') });
}

/** What the event was about: the snapshot's name, or the schedule's (stored names, escaped by the view). */
function subjectOf(t: TFunction, e: AuditEvent): string | null {
  if (e.snapshotName) return t('activity:subject.snapshot', { name: e.snapshotName });
  const name = e.details?.name;
  if (e.action.startsWith('schedule.') && typeof name === 'string') return t('activity:subject.schedule', { name });
  return null;
}

/** One audit event as the customer's Activity log (page and API) shows it. */
export function presentActivity(t: TFunction, fmt: Formatters, viewer: Actor, e: AuditEvent): ActivityEntry {
  const actor = actorKind(e, viewer);
  return {
    id: e.id,
    time: fmt.date(e.occurredAt),
    timeIso: e.occurredAt.toISOString(),
    actor,
    actorLabel: t(`activity:actor.${actor}`),
    action: e.action,
    actionLabel: actionLabel(t, e.action),
    subject: subjectOf(t, e),
    result: e.result,
    resultLabel: t(`activity:result.${e.result}`),
    reason: reasonOf(t, e),
  };
}

export const ACTIVITY_PAGE_SIZE = 25;

/** A page of a service's log, newest first, and the cursor of the next (older) page if there is one. */
export async function activityPage(list: (f: { serviceId: string; limit: number; beforeId?: number }) => Promise<AuditEvent[]>,
  serviceId: string, before: number | undefined, size = ACTIVITY_PAGE_SIZE): Promise<{ events: AuditEvent[]; olderBefore: number | null }> {
  const rows = await list({ serviceId, limit: size + 1, beforeId: before });
  const events = rows.slice(0, size);
  return { events, olderBefore: rows.length > size ? events[events.length - 1]!.id : null };
}
