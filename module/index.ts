import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { migrationConfig } from '../migrations/index.js';
import { validateOptions, type SnapshotModuleOptions } from './config/options.js';
import { AdminQueries } from './db/admin-queries.js';
import { driverReports } from './drivers/driver-reports.js';
import { AuditRepo } from './db/audit-repo.js';
import { LimitsRepo } from './db/limits-repo.js';
import { OperationsRepo } from './db/operations-repo.js';
import { SchedulesRepo } from './db/schedules-repo.js';
import { ServicesRepo } from './db/services-repo.js';
import { SnapshotsRepo } from './db/snapshots-repo.js';
import { UserLocalesRepo } from './db/user-locales-repo.js';
import { WebhookEventsRepo } from './db/webhook-events-repo.js';
import { runInTransaction } from './db/transaction.js';
import { canSeeService } from './domain/authorize.js';
import type { ActionContext, DomainDeps } from './domain/deps.js';
import { UnavailableError } from './domain/errors.js';
import { LifecycleService } from './domain/lifecycle-service.js';
import { LimitsService } from './domain/limits-service.js';
import { ScheduleService } from './domain/schedule-service.js';
import { SnapshotService } from './domain/snapshot-service.js';
import type { Actor, PanelService } from './domain/types.js';
import { adminRouter } from './http/admin/routes.js';
import { buildOpenApiDocument, openapiRouter } from './http/api/openapi.js';
import { apiRouter, openapiComponents, openapiRoutes } from './http/api/routes.js';
import { scheduleOpenapiComponents, scheduleOpenapiRoutes } from './http/api/schedule-routes.js';
import { clientRouter } from './http/client/routes.js';
import { billingHooks } from './http/webhook/hooks.js';
import { webhookOpenapiRoutes, webhookRouter } from './http/webhook/routes.js';
import { loadService, loadServiceWithLimits, resolveActor } from './http/shared/actor.js';
import { rememberLocale } from './http/shared/remember-locale.js';
import { errorHandler } from './http/shared/error-handler.js';
import type { ModuleContext } from './http/shared/module-context.js';
import { snapshotsPath } from './http/shared/paths.js';
import { FormatterCache } from './http/shared/formatters.js';
import { i18nMiddleware } from './http/shared/i18n-middleware.js';
import { ASSETS_PATH } from './http/shared/render.js';
import { securityHeaders } from './http/shared/security.js';
import { createI18n, supportedLocale } from './i18n/i18n.js';
import { PanelNotifier } from './notifications/panel-notifier.js';
import { executeOperation } from './operations/execute-operation.js';
import { AgendaOperationRunner } from './operations/agenda-runner.js';
import { AgendaScheduler } from './scheduler/agenda-scheduler.js';
import { defineLimitsApplyJob, limitsApplier } from './scheduler/limits-apply-job.js';
import { schedulerHealthReader } from './scheduler/health.js';
import { KnexBackend } from './scheduler/knex-backend/index.js';
import { failStuckOperations, reconcileService, type ReconcileSummary } from './scheduler/reconcile.js';
import { onScheduledCreateSettled, recordMissed, runSchedule, type ScheduleRunDeps } from './scheduler/run-schedule.js';

export type { SnapshotModuleOptions, SnapshotModuleConfigInput } from './config/options.js';
export type { PanelAdapter, PanelNotification, LayoutContext } from './config/panel-adapter.js';
export type { Actor, PanelService, Snapshot } from './domain/types.js';
export type { SnapshotDriver, HypervisorTarget, DriverCapabilities, DriverNotice, MissingAccess } from './drivers/contract.js';
export { DriverError } from './drivers/contract.js';
export { simulatedDriver } from './drivers/simulated/simulated-driver.js';
export { proxmoxDriver, type ProxmoxDriverOptions } from './drivers/proxmox/proxmox-driver.js';
export { qemuDriver, type QemuDriverOptions, type QemuVmConfig } from './drivers/qemu/index.js';
export { SnapshotError } from './domain/errors.js';

const RECONCILE_JOB = 'snapshot-reconcile';
/** How long a billing delivery's first answer is kept for repeats of its event id. */
const WEBHOOK_EVENTS_KEPT_MS = 30 * 24 * 3600_000;
const PUBLIC_DIR = fileURLToPath(new URL('../public', import.meta.url));

/**
 * The JSON API's OpenAPI 3.1 document (also served at GET /api/v1/openapi.json and kept in
 * docs/openapi.json by `npm run openapi`). Route files add their lists here.
 */
export function snapshotApiDocument() {
  return buildOpenApiDocument([openapiRoutes, scheduleOpenapiRoutes, webhookOpenapiRoutes], { ...openapiComponents, ...scheduleOpenapiComponents });
}

export interface MenuItem {
  label: string;
  href: string;
}

/**
 * Creates the snapshot module: validates options (throwing on anything wrong), wires the domain to
 * the host's database and drivers, and returns the routers, billing hooks and lifecycle methods.
 * Call `migrate()` once before `start()`.
 */
export async function createSnapshotModule(options: SnapshotModuleOptions) {
  const { db, panel, drivers, config } = validateOptions(options);
  const logger = options.logger ?? pino({ name: 'panel-snapshots' });
  const i18n = await createI18n(config.defaultLocale);
  const repos = {
    services: new ServicesRepo(db), limits: new LimitsRepo(db), snapshots: new SnapshotsRepo(db),
    operations: new OperationsRepo(db), schedules: new SchedulesRepo(db), audit: new AuditRepo(db),
  };
  let runner: AgendaOperationRunner | null = null;
  const userLocales = new UserLocalesRepo(db);
  const deps: DomainDeps = {
    repos,
    transaction: (fn) => runInTransaction(db, fn),
    limits: new LimitsService(repos.limits, repos.services, config.defaultLimits),
    driver: (name) => {
      const d = drivers[name];
      if (!d) throw new UnavailableError('driver_missing', { driver: name });
      return d;
    },
    notifier: new PanelNotifier(panel, i18n, logger, config.defaultLocale, (id) => userLocales.get(id)),
    wake: (serviceId) => runner?.wake(serviceId),
    namePrefix: config.namePrefix,
  };
  const reports = driverReports(drivers, repos.audit, logger);
  let scheduler: AgendaScheduler | null = null;
  const ctx: ModuleContext = {
    deps, snapshots: new SnapshotService(deps), lifecycle: new LifecycleService(deps, () => scheduler), panel, config, i18n, logger,
    formatters: new FormatterCache(),
    schedules: new ScheduleService(deps, () => scheduler),
  };
  const scheduleRuns: ScheduleRunDeps = {
    deps, snapshots: ctx.snapshots,
    loadService: (id) => loadService(ctx, id).catch(() => null),
    loadServiceWithLimits: (id) => loadServiceWithLimits(ctx, id).catch(() => null),
    unschedule: async (id) => { await scheduler?.remove(id); },
    nameFormats: new Map(),
  };
  deps.onCreateSettled = (s, ok, code) => onScheduledCreateSettled(scheduleRuns, s, ok, code);
  /** An admin's limit edit, applied to these services' saved schedules as a plan change would. */
  const applyLimitsNow = async (serviceIds: string[], actionCtx: ActionContext): Promise<void> => {
    for (const id of serviceIds) {
      const service = await loadService(ctx, id).catch(() => null);
      if (service && service.status !== 'terminated') await ctx.lifecycle.applyPlanChange(service, actionCtx, 'admin');
    }
  };
  const webhookEvents = new WebhookEventsRepo(db);
  /** One reconcile pass over every live service, plus stuck operations (SPEC §3). */
  const reconcile = async (): Promise<ReconcileSummary[]> => {
    const out: ReconcileSummary[] = [];
    for (const id of await repos.services.listLiveIds()) {
      const service = await loadService(ctx, id).catch(() => null);
      if (service && service.status !== 'terminated') out.push(await reconcileService(deps, service, config.namePrefix));
    }
    await failStuckOperations(deps, config.operations.operationTimeoutMs + 2 * config.operations.leaseMs);
    await webhookEvents.prune(new Date(Date.now() - WEBHOOK_EVENTS_KEPT_MS));
    return out;
  };

  // Every router shares the same front: security headers, the actor (remembering their language for
  // mail), i18n; and the same back: the one error handler. Mounted at the host's root, each router
  // only touches its own paths, so host pages never get the module's headers or actor lookups.
  const i18nRequests = i18nMiddleware(i18n);
  const remember = rememberLocale(userLocales, logger);
  const wrap = (paths: RegExp[], ...inner: Router[]): Router => {
    const r = express.Router();
    r.use((req: Request, _res: Response, next: NextFunction) => next(paths.some((p) => p.test(req.path)) ? undefined : 'router'));
    r.use(securityHeaders(ctx), resolveActor(ctx), remember, i18nRequests, ...inner, errorHandler(ctx));
    return r;
  };
  const client = express.Router();
  client.use(ASSETS_PATH, express.static(PUBLIC_DIR, { maxAge: '1h', index: false, fallthrough: false }));
  client.use(wrap([/^\/services\/[^/]+\/snapshots(\/|$)/], clientRouter(ctx)));

  return {
    routers: {
      /** Client area pages under /services/:serviceId/snapshots (and the module's static assets). */
      client,
      /** Admin pages under /admin/snapshots. */
      admin: wrap([/^\/admin\/snapshots(\/|$)/], adminRouter(ctx, {
        queries: new AdminQueries(db), health: schedulerHealthReader(db, () => scheduler !== null),
        applyLimits: limitsApplier(applyLimitsNow, () => runner?.agenda ?? null),
      })),
      /** JSON API under /api/v1, and its OpenAPI document at /api/v1/openapi.json (no session needed). */
      api: wrap([/^\/api\/v1\/services\/[^/]+\/(snapshots|schedules|activity)(\/|$)/, /^\/api\/v1\/openapi\.json$/],
        openapiRouter(snapshotApiDocument()), apiRouter(ctx)),
      /** Signed billing webhook at POST /webhooks/snapshots. */
      webhook: wrap([/^\/webhooks\/snapshots\/?$/], webhookRouter(ctx, webhookEvents)),
    },
    /** In-process billing hooks: plan change (before/after), suspend, unsuspend, terminate. */
    hooks: billingHooks(ctx),
    /** The Snapshots entry for a service page's menu, or null when the actor may not see it. */
    menuItem(service: PanelService, actor: Actor): MenuItem | null {
      if (!canSeeService(actor, service) || service.status === 'terminated') return null;
      const t = i18n.getFixedT(supportedLocale(actor.locale) ?? config.defaultLocale, 'common');
      return { label: t('menu_label'), href: snapshotsPath(service.id) };
    },
    /** Domain services, for panels that call the module directly rather than through HTTP. */
    snapshots: ctx.snapshots,
    schedules: ctx.schedules,
    /** Compares hypervisor snapshots with the records now (the scheduler does it periodically). */
    reconcile,
    /** Runs one occurrence of a schedule now (what the scheduler does at the schedule's time). */
    runSchedule: (scheduleId: number, at?: Date) => runSchedule(scheduleRuns, scheduleId, at),
    /** Creates or updates the module's tables (knex migrations in their own bookkeeping table). */
    async migrate(): Promise<void> {
      await db.migrate.latest(migrationConfig);
    },
    /**
     * Starts the operation runner (queued and interrupted operations resume) and the weekly
     * schedules on Agenda, whose jobs live in the module's `snapshot_jobs` table. Call after migrate().
     */
    async start(): Promise<void> {
      void reports.checkAccess();
      const workerName = `snapshots-${hostname()}-${process.pid}-${randomUUID().slice(0, 6)}`;
      if (!runner) {
        const backend = new KnexBackend({ db });
        await backend.connect(); // Agenda's constructor would swallow this error; surface it here.
        const started = new AgendaOperationRunner({
          backend, operations: repos.operations, logger, workerName, ...config.operations,
          execute: (op, execCtx) => executeOperation(deps, op, execCtx, config.operations),
        });
        defineLimitsApplyJob(started.agenda, applyLimitsNow);
        await started.start();
        runner = started;
      }
      if (!scheduler) {
        const started = new AgendaScheduler({
          backend: new KnexBackend({ db }), logger, ...config.scheduler, workerName,
          run: (id, at) => runSchedule(scheduleRuns, id, at),
          missed: (id, at) => recordMissed(scheduleRuns, id, at),
        });
        // Every process writes schedule changes to the job store (so they run, and their next
        // execution shows, wherever the workers are); only scheduler processes run the jobs.
        if (config.scheduler.enabled) {
          // Jobs follow the schedules table: repairs anything saved while no scheduler ran.
          await started.syncAll(await repos.schedules.listEnabled());
          if (config.scheduler.reconcileEveryMs > 0) {
            started.agenda.define(RECONCILE_JOB, async () => { await reconcile(); });
            // A single job shared by every worker: each pass runs once, wherever.
            await started.agenda.every(config.scheduler.reconcileEveryMs, RECONCILE_JOB);
          }
          await started.start();
        }
        scheduler = started;
      }
    },
    /**
     * Stops taking work: schedule runs in progress finish; running operations go back to the queue
     * (another worker resumes them) or, with `drain: true`, are waited for.
     */
    async stop(options: { drain?: boolean } = {}): Promise<void> {
      const s = scheduler;
      scheduler = null;
      await s?.stop();
      await runner?.stop(options);
      runner = null;
    },
  };
}

export type SnapshotModule = Awaited<ReturnType<typeof createSnapshotModule>>;
