import type { AllSnapshotsRepo } from '../db/all-snapshots-repo.js';
import { canCreate, quotaOfCounts } from './allowed-actions.js';
import { canSeeService, mayChange } from './authorize.js';
import type { PlanLimits, QuotaView } from './limits.js';
import type { LimitsService } from './limits-service.js';
import { isServiceId, type ServiceDirectory } from './service-directory.js';
import type { Actor, PanelService, Snapshot } from './types.js';

/** Rows of the All snapshots page; a reseller's customers may have thousands. */
export const ALL_SNAPSHOTS_PAGE_SIZE = 50;

/** The host adapter's `listServices`. */
export type ServiceLister = (actor: Actor) => PanelService[] | Promise<PanelService[]>;

/** One service of the page, with what was decided for it here so that pages and the API only format. */
export interface ServiceSummary {
  /** With the module's suspension and termination taking effect. */
  service: PanelService;
  limits: PlanLimits;
  quota: QuotaView;
  /** Changes allowed to this actor now (mayChange); a closed service's free slots promise nothing. */
  open: boolean;
  canCreate: boolean;
  snapshotCount: number;
}

export interface AllSnapshotsPage {
  /** Every service the actor may see, in the hook's order. */
  services: ServiceSummary[];
  /** This page's rows, grouped by service. */
  snapshots: Snapshot[];
  scheduleNames: Map<number, string>;
  page: number;
  pageSize: number;
  total: number;
  pages: number;
}

/**
 * The snapshots of every service an actor may see. Which services is the panel's to say, but a hook
 * that returns someone else's service (a wrong filter, a stale cache) must not show it: each one is
 * checked with the same rule as every other page, and malformed or repeated entries are dropped.
 */
export class AllSnapshotsService {
  constructor(
    private readonly list: ServiceLister,
    private readonly repo: AllSnapshotsRepo,
    private readonly directory: ServiceDirectory,
    private readonly limits: LimitsService,
  ) {}

  async visibleServices(actor: Actor): Promise<PanelService[]> {
    const listed: unknown = await this.list(actor);
    const seen = new Map<string, PanelService>();
    for (const s of Array.isArray(listed) ? (listed as PanelService[]) : []) {
      if (!s || !isServiceId(s.id) || seen.has(s.id) || !canSeeService(actor, s)) continue;
      seen.set(s.id, s);
    }
    return [...seen.values()];
  }

  async page(actor: Actor, page: number): Promise<AllSnapshotsPage> {
    const visible = await this.visibleServices(actor);
    const pageSize = ALL_SNAPSHOTS_PAGE_SIZE;
    const rows = await this.repo.listPage(visible, { limit: pageSize, offset: (page - 1) * pageSize });
    const services: ServiceSummary[] = [];
    let total = 0;
    for (const panel of visible) {
      const state = rows.states.get(panel.id) ?? null;
      const service = await this.directory.withState(panel, state);
      const limits = this.limits.resolve(service.planId, rows.plans, state);
      const counts = rows.counts.get(service.id) ?? new Map();
      const quota = quotaOfCounts(limits.maxSnapshots, counts);
      const open = mayChange(actor, service);
      const snapshotCount = [...counts.values()].reduce((a, b) => a + b, 0);
      total += snapshotCount;
      services.push({ service, limits, quota, open, canCreate: canCreate(quota, open), snapshotCount });
    }
    return {
      services, snapshots: rows.snapshots, scheduleNames: rows.scheduleNames,
      page, pageSize, total, pages: Math.max(1, Math.ceil(total / pageSize)),
    };
  }
}
