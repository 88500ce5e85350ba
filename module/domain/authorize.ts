import { ConflictError, ForbiddenError, NotFoundError } from './errors.js';
import type { Actor, PanelService } from './types.js';

export type Action = 'view' | 'create' | 'pin' | 'edit' | 'delete' | 'restore' | 'schedule' | 'admin';

/** Whether the actor may see the service at all: customers their own, resellers their customers'. */
export function canSeeService(actor: Actor, service: PanelService): boolean {
  if (actor.role === 'admin') return true;
  if (service.ownerId === actor.id) return true;
  return actor.role === 'reseller' && !!service.resellerId && service.resellerId === actor.id;
}

/**
 * The single authorization check every route and API call makes. A service the actor may not see is
 * reported as not found, so ids cannot be probed. Suspended and terminated services refuse changes
 * by customers and resellers; admins may still act (e.g. clean up).
 */
export function authorize(actor: Actor, action: Action, service: PanelService): void {
  if (!canSeeService(actor, service)) throw new NotFoundError('service');
  if (action === 'admin' && actor.role !== 'admin') throw new ForbiddenError('admin_only');
  if (action === 'view' || actor.role === 'admin') return;
  if (service.status === 'terminated') throw new ConflictError('service_terminated');
  if (service.status === 'suspended') throw new ConflictError('service_suspended');
}

/**
 * Whether the actor may change anything on the service now (authorize's rule for every action but
 * viewing): admins always, others while the service is active. Pages show read-only otherwise.
 */
export function mayChange(actor: Actor, service: PanelService): boolean {
  return actor.role === 'admin' || service.status === 'active';
}
