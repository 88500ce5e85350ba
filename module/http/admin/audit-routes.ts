import type { Router } from 'express';
import { z } from 'zod';
import { ValidationError } from '../../domain/errors.js';
import { nextDay, startOfZonedDay } from '../../domain/zoned-day.js';
import { requireAdmin } from '../common/actor.js';
import type { ModuleContext } from '../common/module-context.js';
import { ADMIN_BASE, adminFormatters, FIELD, optionalText, pageOf, pageQuery, pager, parseInput, parseOrDefault, renderAdmin, serviceNames } from './admin-kit.js';
import { ACTOR_TYPES, presentAudit } from './audit-presenter.js';
import type { AdminPageDeps } from './page-deps.js';

const auditQuery = z.object({
  serviceId: optionalText(64), actorId: optionalText(64), action: optionalText(48),
  actorType: z.preprocess((v) => (v === '' ? undefined : v), z.enum(ACTOR_TYPES).optional()),
  from: optionalText(10), to: optionalText(10),
}).extend(pageQuery.shape);
const CODES = { actorType: { code: FIELD.choice }, from: { code: FIELD.date }, to: { code: FIELD.date }, before: { code: FIELD.choice }, after: { code: FIELD.choice }, size: { code: FIELD.choice } };

/** Filters as typed, and the instants they stand for (dates are days in the admin's timezone; `to` is inclusive). */
function auditFilter(query: unknown, tz: string) {
  const f = parseInput(auditQuery, query, CODES);
  const from = f.from ? startOfZonedDay(f.from, tz) : undefined;
  const toDay = f.to ? startOfZonedDay(f.to, tz) : undefined;
  const to = toDay ? startOfZonedDay(nextDay(f.to!), tz) : toDay;
  const bad: Record<string, { code: string }> = {};
  if (from === null) bad.from = { code: FIELD.date };
  if (to === null || (from && to && to <= from)) bad.to = { code: FIELD.date };
  if (Object.keys(bad).length) throw new ValidationError(bad);
  return { ...f, fromAt: from ?? undefined, toAt: to ?? undefined };
}

/** The audit log, all services: filters by service, actor, action and a date range in the admin's timezone. */
export function auditRoutes(router: Router, ctx: ModuleContext, deps: AdminPageDeps): void {
  router.get(`${ADMIN_BASE}/audit`, async (req, res) => {
    const tz = requireAdmin(req).timezone ?? ctx.config.defaultTimezone;
    const { value: f, error } = parseOrDefault(() => auditFilter(req.query, tz), () => auditFilter({}, tz));
    const paged = error ? { rows: [], older: null, newer: null } : await deps.queries.audit({ ...f, from: f.fromAt, to: f.toAt }, pageOf(f));
    const { rows } = paged;
    const names = await serviceNames(ctx, rows.map((r) => r.serviceId));
    await renderAdmin(ctx, req, res, 'audit', 'audit', {
      ...presentAudit(req.t, adminFormatters(ctx, req), rows, error ? (req.query as Record<string, unknown>) : f, names), pager: pager(req, paged),
    }, { title: req.t('admin:nav.audit'), error });
  });
}
