import type { Knex } from 'knex';
import type { ServiceStateRow } from '../db/services-repo.js';
import type { ActionContext, DomainDeps } from './deps.js';
import { ConflictError } from './errors.js';
import type { AuditActor, PanelService } from './types.js';

/** The module's own suspension flags of a service, as read under its row lock. */
export type ServiceFlags = Pick<ServiceStateRow, 'suspended' | 'terminated'> & { clonePending?: boolean };

/**
 * Refuses an action on a service still being made from a snapshot (anyone but billing and the
 * module), or on a suspended or terminated service by someone bound by it: customers,
 * resellers and schedules. Admins may still act (clean up), and billing and the module itself must.
 * Checked under the service's row lock, so a suspension that commits first is never raced past;
 * the check on the panel's record (authorize) only answers early.
 */
export function assertServiceOpen(flags: ServiceFlags | null, actor: AuditActor): void {
  if (!flags) return;
  // A new server whose disk is still being made from a snapshot: a snapshot or restore now would act
  // on a disk that is not there yet. Billing and the module itself may still act (terminate, clean up).
  if (flags.clonePending && !['billing', 'system', 'reconcile'].includes(actor.type)) throw new ConflictError('clone_in_progress');
  if (!['customer', 'reseller', 'schedule'].includes(actor.type)) return;
  if (flags.terminated) throw new ConflictError('service_terminated');
  if (flags.suspended) throw new ConflictError('service_suspended');
}

/**
 * Takes the service's row lock inside `trx` and refuses the action when the service is closed to the
 * actor (assertServiceOpen). Every state-changing action on a service's snapshots runs under this
 * lock, so two of them never decide on the same moment (on MariaDB; SQLite serializes writers).
 */
export async function lockOpenService(deps: DomainDeps, trx: Knex.Transaction, service: PanelService, ctx: ActionContext): Promise<ServiceStateRow> {
  let state = await deps.repos.services.lock(trx, service.id);
  if (!state) {
    // First sight of the service: its row is made inside the transaction, then locked.
    await deps.repos.services.ensure(service.id, service.planId, trx);
    state = (await deps.repos.services.lock(trx, service.id))!;
  }
  assertServiceOpen(state, ctx.actor);
  return state;
}
