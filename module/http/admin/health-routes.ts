import type { Router } from 'express';
import type { TFunction } from 'i18next';
import type { RunOutcome } from '../../db/admin-queries.js';
import type { RunWindow, SchedulerHealth } from '../../scheduler/health.js';
import type { Formatters } from '../common/formatters.js';
import type { ModuleContext } from '../common/module-context.js';
import { ADMIN_BASE, adminFormatters, cappedCount, duration, renderAdmin, serviceNames } from './admin-kit.js';
import type { AdminPageDeps } from './page-deps.js';
import { servicePath } from './service-routes.js';

/** Job names the module defines, shown by what they do; any other job keeps its own name. */
const KNOWN_JOBS: Record<string, string> = {
  'snapshot-schedule': 'schedule', 'snapshot-reconcile': 'reconcile', 'snapshot-operation': 'operation',
  'snapshot-operations-sweep': 'sweep', 'snapshot-limits-apply': 'limits_apply',
};

export const RUN_OUTCOMES: readonly RunOutcome[] = ['succeeded', 'skipped', 'failed', 'missed', 'not_run'];
/** Outcomes an admin has to look into; "not run" follows from a suspension or a schedule turned off. */
const PROBLEMS: readonly RunOutcome[] = ['skipped', 'failed', 'missed'];
/** Services listed under "problems": the worst first, enough to act on without a page of its own. */
const PROBLEM_SERVICES = 20;

/** Whole minutes (at least 0) since `at`, for "oldest queued: N minutes". */
const minutesSince = (at: Date, now: Date) => Math.max(0, Math.floor((now.getTime() - at.getTime()) / 60_000));

/**
 * "median 1 min, at most 10 min" (the lower median: a delay that really happened); over the newest
 * runs only, and saying so, when the window held more than the health reader reads.
 */
function delays(t: TFunction, w: RunWindow): string {
  if (!w.delays.length) return t('admin:health.no_delay');
  const sorted = [...w.delays].sort((a, b) => a - b);
  const values = { median: duration(t, sorted[Math.floor((sorted.length - 1) / 2)]!), max: duration(t, sorted.at(-1)!) };
  return w.sampled ? t('admin:health.delay_value_newest', { ...values, count: sorted.length }) : t('admin:health.delay_value', values);
}

/** Services with skipped, failed or missed runs over the window, most problems first. */
function problemServices(w: RunWindow) {
  const by = new Map<string, Record<RunOutcome, number>>();
  for (const c of w.counts) {
    if (!c.serviceId) continue;
    const row = by.get(c.serviceId) ?? (Object.fromEntries(RUN_OUTCOMES.map((o) => [o, 0])) as Record<RunOutcome, number>);
    row[c.outcome] += c.n;
    by.set(c.serviceId, row);
  }
  const problems = (r: Record<RunOutcome, number>) => PROBLEMS.reduce((n, o) => n + r[o], 0);
  return [...by].filter(([, r]) => problems(r) > 0)
    .sort(([a, ra], [b, rb]) => problems(rb) - problems(ra) || a.localeCompare(b))
    .map(([serviceId, counts]) => ({ serviceId, counts }));
}

/** Service ids the health page names: the services of next runs and of problem runs. */
export function healthServiceIds(h: SchedulerHealth): string[] {
  return [...h.jobs.nextRuns.map((r) => r.schedule?.serviceId ?? null), ...problemServices(h.runs.week).slice(0, PROBLEM_SERVICES).map((s) => s.serviceId)]
    .filter((id): id is string => !!id);
}

export function presentHealth(t: TFunction, fmt: Formatters, h: SchedulerHealth, names: Map<string, string>, now = new Date()) {
  const jobName = (name: string) => (KNOWN_JOBS[name] ? t(`admin:health.job.${KNOWN_JOBS[name]}`) : name);
  const serviceName = (id: string) => names.get(id) ?? id;
  const day = h.runs.day.totals;
  const week = h.runs.week.totals;
  const services = problemServices(h.runs.week);
  return {
    runningHere: h.runningHere,
    queueSize: h.jobs.queueSize,
    jobs: h.jobs.overview.map((o) => ({ ...o, label: jobName(o.name) })),
    nextRuns: h.jobs.nextRuns.map((r) => ({
      name: jobName(r.name), at: fmt.date(r.nextRunAt), iso: r.nextRunAt?.toISOString() ?? '',
      schedule: r.scheduleId === null ? null
        : r.schedule ? t('admin:health.schedule_of', { schedule: r.schedule.name, service: serviceName(r.schedule.serviceId) })
          : t('admin:health.schedule_deleted', { id: r.scheduleId }),
      serviceHref: r.schedule ? servicePath(r.schedule.serviceId) : null,
    })),
    runs: {
      outcomes: RUN_OUTCOMES.map((o) => ({ outcome: o, label: t(`admin:health.outcome.${o}`), day: day[o], week: week[o], problem: PROBLEMS.includes(o) })),
      delay: { day: delays(t, h.runs.day), week: delays(t, h.runs.week) },
      services: services.slice(0, PROBLEM_SERVICES).map((s) => ({ ...s, name: serviceName(s.serviceId), href: servicePath(s.serviceId) })),
      more: services.length > PROBLEM_SERVICES ? t('admin:health.services_more', { shown: PROBLEM_SERVICES, total: services.length }) : null,
    },
    outcomes: RUN_OUTCOMES.map((o) => ({ outcome: o, label: t(`admin:health.outcome.${o}`) })),
    operations: {
      queued: cappedCount(h.operations.queued), running: cappedCount(h.operations.running), failed: cappedCount(h.operations.failed),
      oldestQueued: h.operations.oldestQueuedAt
        ? t('admin:health.oldest_queued', { minutes: minutesSince(h.operations.oldestQueuedAt, now), at: fmt.date(h.operations.oldestQueuedAt) })
        : t('admin:health.none_queued'),
    },
  };
}

/** Scheduler health: how the scheduled runs went, Agenda's job table and the operation queue, read from the database. */
export function healthRoutes(router: Router, ctx: ModuleContext, deps: AdminPageDeps): void {
  router.get(`${ADMIN_BASE}/health`, async (req, res) => {
    const health = await deps.health.read(10);
    const names = await serviceNames(ctx, healthServiceIds(health));
    await renderAdmin(ctx, req, res, 'health', 'health', presentHealth(req.t, adminFormatters(ctx, req), health, names), { title: req.t('admin:nav.health') });
  });
}
