import type { NotificationEvent } from '../domain/deps.js';
import type { AuditActor } from '../domain/types.js';

/**
 * Who brought an event about, as the service's owner sees it: themselves (they watched it happen on
 * the page or got the API's answer), one of their schedules, or anyone else (an administrator, their
 * reseller, the billing system, the module itself).
 */
export type Cause = 'owner' | 'schedule' | 'other';

type Rule = Record<Cause, boolean>;
const ALWAYS: Rule = { owner: true, schedule: true, other: true };
/** Told only when someone else did it: what the owner did themselves, they have just seen. */
const OTHERS: Rule = { owner: false, schedule: false, other: true };

/**
 * Which events are mailed, by cause; docs/notifications.md is this table with the reasons. A mail
 * is worth reading when it says something the owner did not just see: a failure that came after
 * the page, a scheduled run that did not happen, or a change someone else made to their server.
 */
export const MAIL_POLICY: Record<NotificationEvent['type'], Rule> = {
  // Routine when a schedule does it (its tab shows the last result), seen when the owner does.
  snapshot_created: OTHERS,
  // Retention deleting what the keep count said is routine too.
  snapshot_deleted: OTHERS,
  snapshot_restored: OTHERS,
  // A scheduled create that fails is told once, by schedule_failed under the schedule's name.
  snapshot_failed: { owner: true, schedule: false, other: true },
  restore_failed: ALWAYS,
  delete_failed: ALWAYS,
  schedule_skipped: ALWAYS,
  schedule_failed: ALWAYS,
  // The owner's own snapshot filling the quota is on the page ("Snapshots left: 0"); a run it will
  // block is mailed when it happens (schedule_skipped).
  limit_reached: OTHERS,
  plan_clamped: ALWAYS,
  storage_expansion_refused: ALWAYS,
  // A new server takes minutes to hours to copy; whoever ordered it has usually left the page.
  server_clone_succeeded: ALWAYS,
  server_clone_failed: ALWAYS,
};

/** The cause of an event by its actor; an event without one is the module's own doing. */
export function causeOf(actor: AuditActor | undefined, ownerId: string): Cause {
  if (!actor) return 'other';
  if (actor.type === 'schedule') return 'schedule';
  return (actor.type === 'customer' || actor.type === 'reseller') && actor.id === ownerId ? 'owner' : 'other';
}

/** Whether `event` is mailed to the owner `ownerId` of its service. */
export function isMailed(event: Pick<NotificationEvent, 'type' | 'cause'>, ownerId: string): boolean {
  return MAIL_POLICY[event.type][causeOf(event.cause, ownerId)];
}
