import type { ServicesRepo, ServiceStateRow, StateAndLimits } from '../db/services-repo.js';
import { NotFoundError } from './errors.js';
import type { PlanLimits } from './limits.js';
import type { LimitsService } from './limits-service.js';
import type { PanelService } from './types.js';

/** Where the panel's services come from (the host adapter's `getService`). */
export type PanelServiceSource = (serviceId: string) => PanelService | null | Promise<PanelService | null>;

const SERVICE_ID = /^[A-Za-z0-9_.:-]{1,64}$/;

/** Whether `id` has the shape of a service id the module looks up (anything else names nothing). */
export function isServiceId(id: unknown): id is string {
  return typeof id === 'string' && SERVICE_ID.test(id);
}

/**
 * Services as the module sees them: the panel's record, with the module's own suspension and
 * termination (set by billing hooks) taking effect even if the panel lags behind. Pages, the API,
 * the scheduler, reconcile and the billing hooks all read services through this one place.
 */
export class ServiceDirectory {
  constructor(private readonly source: PanelServiceSource, private readonly services: ServicesRepo, private readonly limits: LimitsService) {}

  /** The panel's record of a service, or not found (an id of the wrong shape is never looked up). */
  async panelService(serviceId: string): Promise<PanelService> {
    if (!isServiceId(serviceId)) throw new NotFoundError('service');
    const service = await this.source(serviceId);
    if (!service) throw new NotFoundError('service');
    return service;
  }

  /** The service with the module's state taking effect; not found when the panel has no such service. */
  async load(serviceId: string): Promise<PanelService> {
    const service = await this.panelService(serviceId);
    return this.withState(service, await this.services.get(service.id));
  }

  /**
   * load for many services, their state rows read in one statement: a reconcile pass over ten thousand
   * services reads them a chunk at a time, not one round trip each. Services the panel does not know
   * are left out.
   */
  async loadMany(serviceIds: readonly string[]): Promise<PanelService[]> {
    const states = await this.services.getMany(serviceIds);
    const out: PanelService[] = [];
    for (const id of serviceIds) {
      const service = await this.panelService(id).then((p) => this.withState(p, states.get(p.id) ?? null)).catch(() => null);
      if (service) out.push(service);
    }
    return out;
  }

  /** load, with the service's limits read in the same round trip (a scheduled run needs both). */
  async loadWithLimits(serviceId: string): Promise<{ service: PanelService; limits: PlanLimits }> {
    const service = await this.panelService(serviceId);
    const { state, plans } = await this.services.getWithPlanLimits(service.id, service.planId);
    return { service: await this.withState(service, state), limits: this.limits.resolve(service.planId, plans, state) };
  }

  /**
   * loadWithLimits, given the state and limit rows already read with the plan the state row
   * recorded: read again only when the panel's plan is another (or the service has no state yet).
   */
  async withStateAndLimits(serviceId: string, recorded: StateAndLimits): Promise<{ service: PanelService; limits: PlanLimits }> {
    const service = await this.panelService(serviceId);
    const fits = recorded.state !== null && recorded.state.planId === service.planId;
    const { state, plans } = fits ? recorded : await this.services.getWithPlanLimits(service.id, service.planId);
    return { service: await this.withState(service, state), limits: this.limits.resolve(service.planId, plans, state) };
  }

  /** The panel's record with the module's suspension and termination (`state`: the service's state row) taking effect. */
  async withState(service: PanelService, state: ServiceStateRow | null): Promise<PanelService> {
    // Written only when it changed (a new row, or a transferred service), never on an ordinary view.
    if (state && state.ownerId !== service.ownerId) await this.services.setOwner(service.id, service.ownerId);
    let status = service.status;
    if (status === 'active' && state?.terminated) status = 'terminated';
    else if (status === 'active' && state?.suspended) status = 'suspended';
    return { ...service, status };
  }
}
