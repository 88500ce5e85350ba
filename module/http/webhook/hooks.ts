import type { ActionContext } from '../../domain/deps.js';
import type { PanelService } from '../../domain/types.js';
import { supportedLocale } from '../../i18n/i18n.js';
import { loadService } from '../shared/actor.js';
import type { ModuleContext } from '../shared/module-context.js';

const BILLING: ActionContext = { actor: { type: 'billing', id: null } };

/**
 * The billing hooks a panel calls in-process. Each takes a service id (the panel's current record is
 * read through the adapter), is safe to deliver twice, and is audited.
 */
export function billingHooks(ctx: ModuleContext) {
  const service = (id: string): Promise<PanelService> => loadService(ctx, id);
  return {
    /**
     * Asks before a plan change. Refused (reason `snapshots_exist`) when the new plan grows the disk
     * while the service has snapshots; `message` is in `locale` (default: the module's).
     */
    async beforePlanChange(serviceId: string, change: { newPlanId: string; newDiskBytes?: number }, opts: { locale?: string } = {}) {
      const decision = await ctx.lifecycle.checkPlanChange(await service(serviceId), change, BILLING);
      const t = ctx.i18n.getFixedT(supportedLocale(opts.locale) ?? ctx.config.defaultLocale, 'errors');
      return { ...decision, message: decision.allowed ? null : t('snapshots_exist', { count: decision.snapshotCount }) };
    },
    /** Tells the module a plan change happened: new limits apply at once, nothing is deleted. */
    async afterPlanChange(serviceId: string) {
      return ctx.lifecycle.applyPlanChange(await service(serviceId), BILLING);
    },
    async serviceSuspended(serviceId: string) {
      return ctx.lifecycle.setSuspended(await service(serviceId), true, BILLING);
    },
    async serviceUnsuspended(serviceId: string) {
      return ctx.lifecycle.setSuspended(await service(serviceId), false, BILLING);
    },
    /** Deletes every snapshot of the service on the hypervisor and removes its schedules. */
    async serviceTerminated(serviceId: string) {
      return ctx.lifecycle.terminate(await service(serviceId), BILLING);
    },
    /** Yes/no for panels that only need to know whether the disk may grow now. */
    async canExpandStorage(serviceId: string): Promise<boolean> {
      return (await ctx.deps.repos.snapshots.countOccupying(serviceId)) === 0;
    },
  };
}
