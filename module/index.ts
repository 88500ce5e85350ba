import pino from 'pino';
import { migrationConfig } from '../migrations/index.js';
import { validateOptions, type SnapshotModuleOptions } from './config/options.js';
import { billingHooks } from './billing/billing-hooks.js';
import { AdminQueries } from './db/admin-queries.js';
import { driverReports } from './drivers/driver-reports.js';
import { UserLocalesRepo } from './db/user-locales-repo.js';
import { WebhookEventsRepo } from './db/webhook-events-repo.js';
import { isSnapshotError } from './domain/errors.js';
import { canSeeService } from './domain/authorize.js';
import type { Actor, PanelService } from './domain/types.js';
import { cloneOpenapiComponents, cloneOpenapiRoutes } from './http/api/clone-routes.js';
import { allSnapshotsOpenapiComponents, allSnapshotsOpenapiRoutes } from './http/api/all-snapshots-routes.js';
import { buildOpenApiDocument } from './http/api/openapi.js';
import { openapiComponents, openapiRoutes } from './http/api/routes.js';
import { scheduleOpenapiComponents, scheduleOpenapiRoutes } from './http/api/schedule-routes.js';
import type { ModuleContext } from './http/common/module-context.js';
import { FormatterCache } from './http/common/formatters.js';
import { PageCache } from './http/common/page-cache.js';
import { allSnapshotsPath, snapshotsPath } from './http/common/paths.js';
import { webhookOpenapiRoutes } from './http/webhook/routes.js';
import { createI18n, supportedLocale } from './i18n/i18n.js';
import { schedulerHealthReader } from './scheduler/health.js';
import { limitsApplier } from './scheduler/limits-apply-job.js';
import { failStuckOperations, reconcileService, type ReconcileSummary } from './scheduler/reconcile.js';
import { runSchedule } from './scheduler/run-schedule.js';
import type { MenuItem, SnapshotModule } from './snapshot-module.js';
import { buildDomain } from './wiring/build-domain.js';
import { buildRouters } from './wiring/routers.js';
import { ModuleWorkers } from './wiring/workers.js';

export type { SnapshotModuleOptions, SnapshotModuleConfigInput } from './config/options.js';
export type { PanelAdapter, PanelNotification, LayoutContext } from './config/panel-adapter.js';
export type { Actor, PanelService, Snapshot } from './domain/types.js';
export type { SnapshotDriver, HypervisorTarget, DriverCapabilities, DriverNotice, MissingAccess, CloneState } from './drivers/contract.js';
export { DriverError } from './drivers/contract.js';
export { simulatedDriver } from './drivers/simulated/simulated-driver.js';
export { proxmoxDriver, type ProxmoxDriverOptions } from './drivers/proxmox/proxmox-driver.js';
export { qemuDriver, type QemuDriverOptions, type QemuVmConfig } from './drivers/qemu/index.js';
export { SnapshotError } from './domain/errors.js';

export type { MenuItem, SnapshotModule, SnapshotCommands, ScheduleCommands, EditInput } from './snapshot-module.js';
export type { ModuleRouters } from './wiring/routers.js';
export type { ActionContext } from './domain/deps.js';
export type { CreateInput } from './domain/create-snapshot.js';
export type { DeleteInput, RestoreInput } from './domain/snapshot-service.js';
export type { PlanChangeRequest, PlanChangeResult } from './domain/lifecycle-service.js';
export type { BillingHooks, PlanChangeAnswer } from './billing/billing-hooks.js';
export type { AuditActor, Schedule, ServiceStatus, SnapshotOrigin } from './domain/types.js';
export type { SnapshotStatus } from './domain/status.js';
export type { SnapshotActions } from './domain/allowed-actions.js';
export type { ServerOrderRequest, ServerOrderAnswer } from './domain/clone/server-order.js';
export type { CloneReport } from './domain/clone/clone-report.js';
export type { ReconcileSummary } from './scheduler/reconcile.js';
export type { RunResult } from './scheduler/run-schedule.js';
export {
  ConflictError, ForbiddenError, NotFoundError, QuotaExceededError, UnavailableError, ValidationError,
} from './domain/errors.js';

/**
 * How far past the task timeout a running operation counts as hung: room for an attempt's driver
 * calls around the polling (each bounded by the driver's own request timeout). Not a multiple of the
 * lease, which is short: a slow but live attempt must not be failed under its worker.
 */
const STUCK_MARGIN_MS = 5 * 60_000;

/** Services whose state rows a reconcile pass reads per statement. */
const RECONCILE_CHUNK = 500;

/**
 * The JSON API's OpenAPI 3.1 document (also served at GET /api/v1/openapi.json and kept in
 * docs/openapi.json by `npm run openapi`). Route files add their lists here.
 */
export function snapshotApiDocument() {
  return buildOpenApiDocument([openapiRoutes, allSnapshotsOpenapiRoutes, scheduleOpenapiRoutes, cloneOpenapiRoutes, webhookOpenapiRoutes],
    { ...openapiComponents, ...allSnapshotsOpenapiComponents, ...scheduleOpenapiComponents, ...cloneOpenapiComponents });
}

/**
 * Creates the snapshot module: validates options (throwing on anything wrong), wires the domain to
 * the host's database and drivers, and returns the routers, billing hooks and lifecycle methods.
 * Call `migrate()` once before `start()`. The wiring lives in module/wiring/: the domain
 * (build-domain.ts), the background workers and their two Agenda instances (workers.ts), the routers
 * (routers.ts).
 */
export async function createSnapshotModule(options: SnapshotModuleOptions): Promise<SnapshotModule> {
  const { db, panel, drivers, config } = validateOptions(options);
  const logger = options.logger ?? pino({ name: 'panel-snapshots' });
  const i18n = await createI18n(config.defaultLocale);
  const userLocales = new UserLocalesRepo(db);
  const webhookEvents = new WebhookEventsRepo(db);
  const workers = new ModuleWorkers({ db, logger, config, webhookEvents });
  const domain = buildDomain({
    db, panel, drivers, config, logger, i18n, userLocales,
    wake: (serviceId, queuedBefore) => workers.wake(serviceId, queuedBefore),
    scheduler: () => workers.scheduler(),
    unschedule: async (id) => { await workers.scheduler()?.remove(id); },
  });
  // Drivers report what they notice (a guest that moved, privileges a token lacks) to the log and the audit log.
  const reports = driverReports(drivers, domain.repos.audit, logger);
  const ctx: ModuleContext = {
    deps: domain.deps, snapshots: domain.snapshots, lifecycle: domain.lifecycle, schedules: domain.schedules, services: domain.services,
    allSnapshots: domain.allSnapshots, clones: domain.clones,
    panel, config, i18n, logger, formatters: new FormatterCache(), pages: new PageCache(config.pageCacheBytes),
  };
  /** One reconcile pass over every live service, plus stuck operations. */
  const reconcile = async (): Promise<ReconcileSummary[]> => {
    const out: ReconcileSummary[] = [];
    const ids = await domain.repos.services.listLiveIds();
    for (let i = 0; i < ids.length; i += RECONCILE_CHUNK) {
      for (const service of await domain.services.loadMany(ids.slice(i, i + RECONCILE_CHUNK))) {
        if (service.status !== 'terminated') out.push(await reconcileService(domain.deps, service, config.namePrefix));
      }
    }
    await failStuckOperations(domain.deps, config.operations.operationTimeoutMs + STUCK_MARGIN_MS, config.operations.cloneTimeoutMs + STUCK_MARGIN_MS);
    return out;
  };
  const routers = buildRouters(ctx, {
    userLocales, webhookEvents, openapiDocument: snapshotApiDocument(),
    admin: {
      queries: new AdminQueries(db), health: schedulerHealthReader(db, () => workers.scheduler() !== null),
      limits: domain.adminLimits(limitsApplier(domain.applyLimitsNow, () => workers.agenda())),
      actions: domain.adminSnapshots,
    },
  });

  return {
    routers,
    hooks: billingHooks({ services: domain.services, lifecycle: domain.lifecycle, clones: domain.clones, i18n, defaultLocale: config.defaultLocale }),
    menuItem(service: PanelService, actor: Actor): MenuItem | null {
      if (!canSeeService(actor, service) || service.status === 'terminated') return null;
      const t = i18n.getFixedT(supportedLocale(actor.locale) ?? config.defaultLocale, 'common');
      return { label: t('menu_label'), href: snapshotsPath(service.id) };
    },
    allSnapshotsItem(actor: Actor): MenuItem | null {
      if (!domain.allSnapshots) return null;
      const t = i18n.getFixedT(supportedLocale(actor.locale) ?? config.defaultLocale, 'common');
      return { label: t('all_snapshots_label'), href: allSnapshotsPath() };
    },
    snapshots: domain.snapshots,
    schedules: domain.schedules,
    describeError(err: unknown, locale?: string) {
      if (!isSnapshotError(err)) return null;
      const t = i18n.getFixedT(supportedLocale(locale) ?? config.defaultLocale);
      return { code: err.code, status: err.status, message: t(err.i18nKey, { ...err.params, defaultValue: err.code }) };
    },
    reconcile,
    runSchedule: (scheduleId: number, at?: Date) => runSchedule(domain.scheduleRuns, scheduleId, at),
    async migrate(): Promise<void> {
      await db.migrate.latest(migrationConfig);
    },
    start: () => {
      void reports.checkAccess();
      return workers.start({ deps: domain.deps, scheduleRuns: domain.scheduleRuns, reconcile, applyLimitsNow: domain.applyLimitsNow });
    },
    stop: (opts = {}) => workers.stop(opts),
  };
}
