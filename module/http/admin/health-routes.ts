import type { Router } from 'express';
import type { TFunction } from 'i18next';
import type { Formatters } from '../shared/formatters.js';
import type { SchedulerHealth } from '../../scheduler/health.js';
import type { ModuleContext } from '../shared/module-context.js';
import { ADMIN_BASE, adminFormatters, renderAdmin } from './admin-kit.js';
import type { AdminPageDeps } from './page-deps.js';

/** Job names the module defines, shown by what they do; any other job keeps its own name. */
const KNOWN_JOBS: Record<string, string> = { 'snapshot-schedule': 'schedule', 'snapshot-reconcile': 'reconcile' };

/** Whole minutes (at least 0) since `at`, for "oldest queued: N minutes". */
const minutesSince = (at: Date, now: Date) => Math.max(0, Math.floor((now.getTime() - at.getTime()) / 60_000));

export function presentHealth(t: TFunction, fmt: Formatters, h: SchedulerHealth, now = new Date()) {
  const jobName = (name: string) => (KNOWN_JOBS[name] ? t(`admin:health.job.${KNOWN_JOBS[name]}`) : name);
  return {
    runningHere: h.runningHere,
    queueSize: h.jobs.queueSize,
    jobs: h.jobs.overview.map((o) => ({ ...o, label: jobName(o.name) })),
    nextRuns: h.jobs.nextRuns.map((r) => ({
      name: jobName(r.name), scheduleId: r.scheduleId, at: fmt.date(r.nextRunAt), iso: r.nextRunAt?.toISOString() ?? '',
    })),
    operations: {
      ...h.operations,
      oldestQueued: h.operations.oldestQueuedAt
        ? t('admin:health.oldest_queued', { minutes: minutesSince(h.operations.oldestQueuedAt, now), at: fmt.date(h.operations.oldestQueuedAt) })
        : t('admin:health.none_queued'),
    },
  };
}

/** Scheduler health: Agenda's job table and the operation queue, read from the database. */
export function healthRoutes(router: Router, ctx: ModuleContext, deps: AdminPageDeps): void {
  router.get(`${ADMIN_BASE}/health`, async (req, res) => {
    const health = await deps.health.read(10);
    await renderAdmin(ctx, req, res, 'health', 'health', presentHealth(req.t, adminFormatters(ctx, req), health), { title: req.t('admin:nav.health') });
  });
}
