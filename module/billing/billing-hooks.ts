import type { i18n } from 'i18next';
import type { CloneReport } from '../domain/clone/clone-report.js';
import type { CloneService } from '../domain/clone/clone-service.js';
import type { ActionContext } from '../domain/deps.js';
import { parseInput } from '../domain/parse-input.js';
import type { LifecycleService, PlanChangeRequest } from '../domain/lifecycle-service.js';
import type { ServiceDirectory } from '../domain/service-directory.js';
import type { PanelService } from '../domain/types.js';
import { supportedLocale } from '../i18n/i18n.js';
import { planChangeSchema } from '../http/webhook/schemas.js';

const BILLING: ActionContext = { actor: { type: 'billing', id: null } };

/** Answer of `beforePlanChange`: allowed, or refused with a reason, the count and a localized message. */
export type PlanChangeAnswer =
  | { allowed: true; reason?: undefined; snapshotCount: number; message: null }
  | { allowed: false; reason: 'snapshots_exist'; snapshotCount: number; message: string };

function parseChange(change: PlanChangeRequest): PlanChangeRequest {
  return parseInput(planChangeSchema, change, { whole: 'change' });
}

/** What the billing hooks need: the services and their lifecycle, and messages in the module's languages. */
export interface BillingHooksDeps {
  services: ServiceDirectory;
  lifecycle: LifecycleService;
  clones: CloneService;
  i18n: i18n;
  defaultLocale: string;
}

/**
 * The billing hooks a panel calls in-process (the signed webhook calls the same ones). Each takes a
 * service id (the panel's current record is read through the adapter), is safe to deliver twice, and
 * is audited with `action` as the actor (the billing system; the webhook adds its event id and IP).
 */
export function billingHooks(ctx: BillingHooksDeps, action: ActionContext = BILLING) {
  const service = (id: string): Promise<PanelService> => ctx.services.load(id);
  const storageExpansion = async (serviceId: string): Promise<{ canExpand: boolean; snapshotCount: number }> => {
    const r = await ctx.lifecycle.checkStorageExpansion(await service(serviceId), action);
    return { canExpand: r.allowed, snapshotCount: r.snapshotCount };
  };
  return {
    /**
     * Asks before a plan change. Refused (reason `snapshots_exist`) only when the new plan grows the
     * disk while the service has snapshots; `message` is in `locale` (default: the module's).
     */
    async beforePlanChange(serviceId: string, change: PlanChangeRequest, opts: { locale?: string } = {}): Promise<PlanChangeAnswer> {
      const input = parseChange(change);
      const decision = await ctx.lifecycle.checkPlanChange(await service(serviceId), input, action);
      if (decision.allowed) return { allowed: true, snapshotCount: decision.snapshotCount, message: null };
      const t = ctx.i18n.getFixedT(supportedLocale(opts.locale) ?? ctx.defaultLocale, 'errors');
      return {
        allowed: false, reason: 'snapshots_exist', snapshotCount: decision.snapshotCount,
        message: t('snapshots_exist', { count: decision.snapshotCount }),
      };
    },
    /**
     * Tells the module a plan change happened (the panel already reports the new plan): new limits
     * apply at once, schedules are clamped or disabled, nothing is deleted, the customer is told once.
     */
    async afterPlanChange(serviceId: string) {
      return ctx.lifecycle.applyPlanChange(await service(serviceId), action);
    },
    /** Customer actions refused and schedules paused; nothing deleted. */
    async serviceSuspended(serviceId: string) {
      return ctx.lifecycle.setSuspended(await service(serviceId), true, action);
    },
    async serviceUnsuspended(serviceId: string) {
      return ctx.lifecycle.setSuspended(await service(serviceId), false, action);
    },
    /** Deletes every snapshot of the service on the hypervisor and removes its schedules. */
    async serviceTerminated(serviceId: string) {
      return ctx.lifecycle.terminate(await service(serviceId), action);
    },
    /** Whether the disk may grow now, and how many snapshots stand in the way. */
    storageExpansion,
    /**
     * The panel provisioned `serviceId` for a "New server from this snapshot" order carrying
     * `reference` (what `orderServerFromSnapshot` was given): its disk is made from the snapshot as a
     * queued operation, and the answer is the clone's status. Delivering the same pair again answers
     * the same clone; the reference cannot be used for any other service.
     */
    async provisionedFromSnapshot(serviceId: string, reference: string): Promise<CloneReport> {
      return ctx.clones.provision(serviceId, reference, action);
    },
    /** How the new server's disk is getting on (null when the service was not made from a snapshot). */
    async cloneStatus(serviceId: string): Promise<CloneReport | null> {
      return ctx.clones.status(serviceId);
    },
    /** Yes/no for panels that only need to know whether the disk may grow now. */
    async canExpandStorage(serviceId: string): Promise<boolean> {
      return (await storageExpansion(serviceId)).canExpand;
    },
  };
}

export type BillingHooks = ReturnType<typeof billingHooks>;
