import express, { type Router } from 'express';
import { z } from 'zod';
import type { AuditEvent, Schedule } from '../../domain/types.js';
import { activityPage, presentActivity } from '../client/activity-presenter.js';
import { formatters } from '../client/presenter.js';
import { viewerTimezone } from '../client/schedule-model.js';
import { parse } from '../client/forms.js';
import { actionContext, authorizedService, parseId, requireActor } from '../shared/actor.js';
import type { ModuleContext } from '../shared/module-context.js';
import { apiBody, jsonBody } from './api-input.js';

const fields = {
  name: z.string().max(20_000),
  enabled: z.boolean(),
  /** 0 = Sunday … 6 = Saturday. */
  days: z.array(z.number().int().min(0).max(6)).max(7),
  hour: z.number().int().min(0).max(23),
  minute: z.number().int().min(0).max(59),
  /** IANA timezone the hour and minute are read in, e.g. Asia/Seoul. */
  timezone: z.string().max(100),
  /** 1 … the plan's maxKeep (checked against the plan, code schedule_keep_over_plan). */
  keep: z.number().int(),
  includeMemory: z.boolean(),
};

/** Request schemas of the schedules and activity API, for the OpenAPI document. */
export const scheduleApiSchemas = {
  create: z.object({ ...fields, enabled: fields.enabled.optional(), includeMemory: fields.includeMemory.optional() }),
  /** Any subset of the fields; the result is validated as a whole against the plan. */
  update: z.object(fields).partial(),
  activityQuery: z.object({
    /** Cursor: only events older than this event id (the `olderBefore` of the previous page). */
    before: z.string().regex(/^[1-9]\d{0,15}$/).transform(Number).optional(),
    limit: z.string().regex(/^\d{1,3}$/).transform(Number).pipe(z.number().int().min(1).max(100)).optional(),
  }),
};

/** A wrongly typed field gets the code the domain uses for that field, so clients handle one code. */
const FIELD_CODES: Record<string, string> = {
  days: 'schedule_days_invalid', hour: 'schedule_hour_invalid', minute: 'schedule_minute_invalid', timezone: 'schedule_timezone_invalid',
};

/** The API's schedule shape. */
export function scheduleJson(s: Schedule, nextRun: Date | null) {
  return {
    id: s.id, name: s.name, enabled: s.enabled, disabledReason: s.disabledReason, days: s.days, hour: s.hour, minute: s.minute,
    timezone: s.timezone, keep: s.keep, includeMemory: s.includeMemory, nextRunAt: nextRun?.toISOString() ?? null,
    lastRunAt: s.lastRunAt?.toISOString() ?? null, lastResult: s.lastResult, lastError: s.lastError ? { code: s.lastError } : null,
    createdAt: s.createdAt.toISOString(), updatedAt: s.updatedAt.toISOString(),
  };
}

/** The API's activity entry: who as a role (or "you"), never an id, name or address. */
function activityJson(e: AuditEvent, entry: ReturnType<typeof presentActivity>) {
  return {
    id: e.id, occurredAt: entry.timeIso, actor: entry.actor, actorLabel: entry.actorLabel, action: e.action, actionLabel: entry.actionLabel,
    result: e.result, resultLabel: entry.resultLabel, code: e.code, reason: entry.reason, snapshotId: e.snapshotId, subject: entry.subject,
  };
}

/**
 * /api/v1/services/:serviceId/schedules (GET, POST), /schedules/:scheduleId (GET, PATCH, DELETE) and
 * /activity (GET): the Snapshot Schedule and Activity tabs as JSON, with the same rules and codes.
 */
export function scheduleApiRouter(ctx: ModuleContext): Router {
  const router = express.Router();
  const base = '/api/v1/services/:serviceId/schedules';
  const one = `${base}/:scheduleId`;
  const mutating = jsonBody();
  const withNextRun = async (service: Parameters<typeof ctx.schedules.list>[0], s: Schedule) =>
    scheduleJson(s, (await ctx.schedules.list(service)).find((x) => x.schedule.id === s.id)?.nextRun ?? null);

  router.get(base, async (req, res) => {
    const service = await authorizedService(ctx, req, 'view');
    const [list, limits] = await Promise.all([ctx.schedules.list(service), ctx.deps.limits.forService(service.id, service.planId)]);
    res.json({ schedules: list.map((x) => scheduleJson(x.schedule, x.nextRun)), limits, used: list.length });
  });

  router.post(base, ...mutating, async (req, res) => {
    const input = apiBody(scheduleApiSchemas.create, req, FIELD_CODES);
    const service = await authorizedService(ctx, req, 'schedule');
    const s = await ctx.schedules.create(service, input, actionContext(req));
    res.status(201).json({ schedule: await withNextRun(service, s) });
  });

  router.get(one, async (req, res) => {
    const service = await authorizedService(ctx, req, 'view');
    res.json({ schedule: await withNextRun(service, await ctx.schedules.get(service, parseId(req.params.scheduleId as string, 'schedule'))) });
  });

  router.patch(one, ...mutating, async (req, res) => {
    const patch = apiBody(scheduleApiSchemas.update, req, FIELD_CODES);
    const service = await authorizedService(ctx, req, 'schedule');
    const current = await ctx.schedules.get(service, parseId(req.params.scheduleId as string, 'schedule'));
    const { enabled, ...changes } = patch;
    // Only the status: the enable/disable action (as the page's toggle); otherwise one validated update.
    const s = Object.keys(changes).length === 0 && enabled !== undefined
      ? await ctx.schedules.setEnabled(service, current.id, enabled, actionContext(req))
      : await ctx.schedules.update(service, current.id, { ...current, ...changes, enabled: enabled ?? current.enabled }, actionContext(req));
    res.json({ schedule: await withNextRun(service, s) });
  });

  router.delete(one, async (req, res) => {
    const service = await authorizedService(ctx, req, 'schedule');
    await ctx.schedules.remove(service, parseId(req.params.scheduleId as string, 'schedule'), actionContext(req));
    res.status(204).end();
  });

  router.get('/api/v1/services/:serviceId/activity', async (req, res) => {
    const service = await authorizedService(ctx, req, 'view');
    const { before, limit } = parse(scheduleApiSchemas.activityQuery, req.query);
    const page = await activityPage((f) => ctx.deps.repos.audit.list(f), service.id, before, limit);
    const fmt = formatters(req.language, viewerTimezone(ctx, req));
    const viewer = requireActor(req);
    res.json({ events: page.events.map((e) => activityJson(e, presentActivity(req.t, fmt, viewer, e))), olderBefore: page.olderBefore });
  });

  return router;
}
