import type { i18n } from 'i18next';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import type { SnapshotModuleConfig } from '../config/options.js';
import type { PanelAdapter } from '../config/panel-adapter.js';
import { ClonesRepo } from '../db/clones-repo.js';
import { CloneService } from '../domain/clone/clone-service.js';
import { HandoverSigner } from '../domain/clone/handover-token.js';
import { AuditRepo } from '../db/audit-repo.js';
import { LimitsRepo } from '../db/limits-repo.js';
import { OperationsRepo } from '../db/operations-repo.js';
import { SchedulesRepo } from '../db/schedules-repo.js';
import { ServicesRepo } from '../db/services-repo.js';
import { SnapshotsRepo } from '../db/snapshots-repo.js';
import { runInTransaction } from '../db/transaction.js';
import type { UserLocalesRepo } from '../db/user-locales-repo.js';
import { AllSnapshotsRepo } from '../db/all-snapshots-repo.js';
import { AdminLimitsService, type ApplyLimits } from '../domain/admin-limits.js';
import { AdminSnapshotService } from '../domain/admin-service.js';
import { AllSnapshotsService } from '../domain/all-snapshots.js';
import type { ActionContext, DomainDeps, Repos } from '../domain/deps.js';
import { UnavailableError } from '../domain/errors.js';
import { LifecycleService } from '../domain/lifecycle-service.js';
import { LimitsService } from '../domain/limits-service.js';
import type { SchedulerPort } from '../domain/schedule-service.js';
import { ScheduleService } from '../domain/schedule-service.js';
import { ServiceDirectory } from '../domain/service-directory.js';
import { SnapshotService } from '../domain/snapshot-service.js';
import type { SnapshotDriver } from '../drivers/contract.js';
import { PanelNotifier } from '../notifications/panel-notifier.js';
import { RetentionReads } from '../scheduler/retention-reads.js';
import { onScheduledCreateSettled, type ScheduleRunDeps } from '../scheduler/run-schedule.js';

export interface DomainWiringInput {
  db: Knex;
  panel: PanelAdapter;
  drivers: Record<string, SnapshotDriver>;
  config: SnapshotModuleConfig;
  logger: Logger;
  i18n: i18n;
  userLocales: UserLocalesRepo;
  /** The workers' wake and job scheduler (module/wiring/workers.ts), idle until the module starts. */
  wake(serviceId?: string, queuedBefore?: boolean): void;
  scheduler(): SchedulerPort | null;
  unschedule(scheduleId: number): Promise<void>;
}

/** The domain, built once: repositories, the services every router and worker shares, and the schedule runs' deps. */
export interface DomainWiring {
  repos: Repos;
  deps: DomainDeps;
  snapshots: SnapshotService;
  schedules: ScheduleService;
  lifecycle: LifecycleService;
  services: ServiceDirectory;
  adminSnapshots: AdminSnapshotService;
  clones: CloneService;
  /** The All snapshots page's reads; null when the panel has no `listServices`. */
  allSnapshots: AllSnapshotsService | null;
  scheduleRuns: ScheduleRunDeps;
  /** An admin's limit edit, applied to these services' saved schedules as a plan change would. */
  applyLimitsNow(serviceIds: string[], ctx: ActionContext): Promise<void>;
  /** The admin's limit editor, given how edits reach many services (in the request or in background jobs). */
  adminLimits(apply: ApplyLimits): AdminLimitsService;
}

/** Builds the domain over the host's database, drivers and panel; nothing here starts or talks to anything yet. */
export function buildDomain(input: DomainWiringInput): DomainWiring {
  const { db, panel, drivers, config, logger, i18n } = input;
  const repos: Repos = {
    services: new ServicesRepo(db), limits: new LimitsRepo(db), snapshots: new SnapshotsRepo(db),
    operations: new OperationsRepo(db), schedules: new SchedulesRepo(db), audit: new AuditRepo(db), clones: new ClonesRepo(db),
  };
  const deps: DomainDeps = {
    repos,
    transaction: (fn) => runInTransaction(db, fn),
    limits: new LimitsService(repos.limits, repos.services, config.defaultLimits),
    driver: (name) => {
      const d = drivers[name];
      if (!d) throw new UnavailableError('driver_missing', { driver: name });
      return d;
    },
    notifier: new PanelNotifier(panel, i18n, logger, config.defaultLocale, (id) => input.userLocales.get(id)),
    wake: (serviceId, queuedBefore) => input.wake(serviceId, queuedBefore),
    namePrefix: config.namePrefix,
    // A finished scheduled create applies its schedule's retention (scheduleRuns is built below;
    // operations call this only once the module has started).
    onCreateSettled: (s, ok, code) => onScheduledCreateSettled(scheduleRuns, s, ok, code),
    onCloneProgress: async (report) => { await panel.onCloneProgress?.(report); },
  };
  const snapshots = new SnapshotService(deps);
  const services = new ServiceDirectory((id) => panel.getService(id), repos.services, deps.limits);
  const lifecycle = new LifecycleService(deps, input.scheduler);
  const scheduleRuns: ScheduleRunDeps = {
    deps, snapshots,
    loadService: (id) => services.load(id).catch(() => null),
    serviceFromRecorded: (id, recorded) => services.withStateAndLimits(id, recorded).catch(() => null),
    unschedule: input.unschedule,
    nameFormats: new Map(),
    retention: new RetentionReads(repos.snapshots),
  };
  const applyLimitsNow = async (serviceIds: string[], ctx: ActionContext): Promise<void> => {
    for (const id of serviceIds) {
      const service = await services.load(id).catch(() => null);
      if (service && service.status !== 'terminated') await lifecycle.applyPlanChange(service, ctx, 'admin');
    }
  };
  const { listServices } = panel;
  return {
    repos, deps, snapshots, services, lifecycle, scheduleRuns, applyLimitsNow,
    allSnapshots: listServices ? new AllSnapshotsService((actor) => listServices.call(panel, actor), new AllSnapshotsRepo(db), services, deps.limits) : null,
    schedules: new ScheduleService(deps, input.scheduler),
    clones: new CloneService({
      domain: deps, clones: repos.clones, directory: services, signer: new HandoverSigner(config.csrfSecret),
      order: panel.orderServerFromSnapshot?.bind(panel), handoverTtlMs: config.clone.handoverTtlMs,
    }),
    adminSnapshots: new AdminSnapshotService(deps),
    adminLimits: (apply) => new AdminLimitsService(deps, config.defaultLimits, apply),
  };
}
