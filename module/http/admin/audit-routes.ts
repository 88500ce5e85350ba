import type { Router } from 'express';
import type { TFunction } from 'i18next';
import { z } from 'zod';
import { ValidationError } from '../../domain/errors.js';
import type { AuditEvent } from '../../domain/types.js';
import { nextDay, startOfZonedDay } from '../../domain/zoned-day.js';
import type { Formatters } from '../shared/formatters.js';
import { requireAdmin } from '../shared/actor.js';
import type { ModuleContext } from '../shared/module-context.js';
import { ADMIN_BASE, adminFormatters, FIELD, optionalText, pageQuery, pager, parseInput, parseOrDefault, renderAdmin } from './admin-kit.js';
import type { AdminPageDeps } from './page-deps.js';
import { servicePath } from './service-routes.js';

export const ACTOR_TYPES = ['customer', 'reseller', 'admin', 'schedule', 'billing', 'system', 'reconcile'] as const;

const auditQuery = z.object({
  serviceId: optionalText(64), actorId: optionalText(64), action: optionalText(48),
  actorType: z.preprocess((v) => (v === '' ? undefined : v), z.enum(ACTOR_TYPES).optional()),
  from: optionalText(10), to: optionalText(10),
}).extend(pageQuery.shape);
const CODES = { actorType: { code: FIELD.choice }, from: { code: FIELD.date }, to: { code: FIELD.date }, page: { code: FIELD.choice }, size: { code: FIELD.choice } };

export function presentAudit(t: TFunction, fmt: Formatters, rows: AuditEvent[], filter: Record<string, unknown>) {
  return {
    filters: {
      serviceId: filter.serviceId ?? '', actorId: filter.actorId ?? '', action: filter.action ?? '', from: filter.from ?? '', to: filter.to ?? '',
      actorType: [{ value: '', label: t('admin:browser.any'), selected: !filter.actorType },
        ...ACTOR_TYPES.map((a) => ({ value: a, label: t(`admin:actor_type.${a}`), selected: a === filter.actorType }))],
    },
    rows: rows.map((e) => ({
      id: e.id, at: fmt.date(e.occurredAt), iso: e.occurredAt.toISOString(),
      actor: e.actorId ? `${t(`admin:actor_type.${e.actorType}`)} (${e.actorId})` : t(`admin:actor_type.${e.actorType}`),
      serviceId: e.serviceId, serviceHref: e.serviceId ? servicePath(e.serviceId) : null,
      snapshot: e.snapshotName ? `${e.snapshotName} (#${e.snapshotId ?? '?'})` : e.snapshotId ? `#${e.snapshotId}` : '',
      action: e.action, result: e.result, resultLabel: t(`admin:audit.result.${e.result}`),
      change: e.fromStatus || e.toStatus ? `${e.fromStatus ?? '—'} → ${e.toStatus ?? '—'}` : '',
      code: e.code ? t(`errors:${e.code}`, { defaultValue: e.code }) : '',
      details: e.details ? JSON.stringify(e.details) : '', ip: e.ip ?? '',
    })),
  };
}

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
    const { rows, total } = error ? { rows: [], total: 0 }
      : await deps.queries.audit({ ...f, from: f.fromAt, to: f.toAt }, { offset: (f.page - 1) * f.size, limit: f.size });
    await renderAdmin(ctx, req, res, 'audit', 'audit', {
      ...presentAudit(req.t, adminFormatters(ctx, req), rows, error ? (req.query as Record<string, unknown>) : f), pager: pager(req, total, f.page, f.size),
    }, { title: req.t('admin:nav.audit'), error });
  });
}
