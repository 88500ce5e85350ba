import express, { type Router } from 'express';
import { SCHEDULE_REFUSALS } from '../../domain/refusals.js';
import type { AuditEvent, Schedule } from '../../domain/types.js';
import { activityPage, presentActivity } from '../client/activity-presenter.js';
import { presentRetentionPreview } from '../client/retention-presenter.js';
import { loadPreview, viewerTimezone } from '../client/schedule-model.js';
import { parse } from '../client/forms.js';
import { actionContext, authorizedService, parseId, requireActor } from '../common/actor.js';
import type { ModuleContext } from '../common/module-context.js';
import { apiBody, jsonBody } from './api-input.js';
import type { ApiRouteDoc } from './openapi.js';
import {
  activityEventSchema, activityPageSchema, retentionPreviewSchema, scheduleApiSchemas, scheduleEnvelopeSchema, scheduleListSchema, scheduleParams,
  scheduleSchema, type ActivityEventJson, type ActivityPageJson, type RetentionPreviewJson, type ScheduleJson, type ScheduleListJson,
} from './schedule-schemas.js';

export { scheduleApiSchemas } from './schedule-schemas.js';

/** A wrongly typed field gets the code the domain uses for that field, so clients handle one code. */
const FIELD_CODES: Record<string, string> = {
  days: 'schedule_days_invalid', hour: 'schedule_hour_invalid', minute: 'schedule_minute_invalid', timezone: 'schedule_timezone_invalid',
};

/** The API's schedule shape. */
export function scheduleJson(s: Schedule, nextRun: Date | null): ScheduleJson {
  return {
    id: s.id, name: s.name, enabled: s.enabled, disabledReason: s.disabledReason, days: s.days, hour: s.hour, minute: s.minute,
    timezone: s.timezone, keep: s.keep, includeMemory: s.includeMemory, nextRunAt: nextRun?.toISOString() ?? null,
    lastRunAt: s.lastRunAt?.toISOString() ?? null, lastResult: s.lastResult, lastError: s.lastError ? { code: s.lastError } : null,
    createdAt: s.createdAt.toISOString(), updatedAt: s.updatedAt.toISOString(),
  };
}

/** The API's activity entry: who as a role (or "you"), never an id, name or address. */
function activityJson(e: AuditEvent, entry: ReturnType<typeof presentActivity>): ActivityEventJson {
  return {
    id: e.id, occurredAt: entry.timeIso, actor: entry.actor, actorLabel: entry.actorLabel, action: e.action, actionLabel: entry.actionLabel,
    result: e.result, resultLabel: entry.resultLabel, code: e.code, reason: entry.reason, snapshotId: e.snapshotId, subject: entry.subject,
  };
}

const BASE = '/api/v1/services/:serviceId/schedules';
const ONE = `${BASE}/:scheduleId`;
const tag = 'Schedules';
const params = scheduleParams;
const notFound = { 404: ['schedule_not_found'] } as const;
// Validation asks the hypervisor driver whether memory snapshots are possible.
const driver = { 503: ['driver_missing'] } as const;

/** The schedules and activity routes: what the router registers and openapi.json documents, from the same entries. */
export const scheduleRoutes = {
  list: {
    method: 'get', path: BASE, operationId: 'listSchedules', tag, params, summary: "A service's snapshot schedules and its plan limits",
    responses: { 200: { description: 'The schedules', schema: scheduleListSchema } },
  },
  create: {
    method: 'post', path: BASE, operationId: 'createSchedule', tag, params, body: scheduleApiSchemas.create,
    summary: 'Add a weekly schedule', description: 'Checked against the plan: schedules allowed, how many, keep and memory.',
    responses: { 201: { description: 'Created', schema: scheduleEnvelopeSchema } },
    errors: { ...SCHEDULE_REFUSALS.create, ...driver },
  },
  preview: {
    method: 'get', path: `${BASE}/preview`, operationId: 'previewScheduleRetention', tag, params: { serviceId: params.serviceId },
    query: scheduleApiSchemas.previewQuery, summary: 'What the next runs of a schedule would rotate out, before saving it',
    description: 'The rules of the scheduled run itself: rotation to make room under the snapshot limit (or a skip), then keep. '
      + 'Pinned and manual snapshots are never listed. Fields are checked as a save checks them.',
    responses: { 200: { description: 'The preview', schema: retentionPreviewSchema } },
    errors: { ...notFound, 422: ['validation_failed'], ...driver },
  },
  get: {
    method: 'get', path: ONE, operationId: 'getSchedule', tag, params, summary: 'One schedule',
    responses: { 200: { description: 'The schedule', schema: scheduleEnvelopeSchema } }, errors: notFound,
  },
  update: {
    method: 'patch', path: ONE, operationId: 'updateSchedule', tag, params, body: scheduleApiSchemas.update,
    summary: 'Change, enable or disable a schedule',
    description: 'Any subset of the fields; the result is validated as a whole. `{ "enabled": … }` alone only switches it on or off. '
      + 'Switching on re-checks the plan.',
    responses: { 200: { description: 'The schedule', schema: scheduleEnvelopeSchema } },
    errors: { ...SCHEDULE_REFUSALS.update, ...driver },
  },
  delete: {
    method: 'delete', path: ONE, operationId: 'deleteSchedule', tag, params,
    summary: "Remove a schedule (its snapshots stay; they show it as a deleted schedule)",
    responses: { 204: { description: 'Removed' } }, errors: SCHEDULE_REFUSALS.delete,
  },
  activity: {
    method: 'get', path: '/api/v1/services/:serviceId/activity', operationId: 'listActivity', tag: 'Activity', params: { serviceId: params.serviceId },
    query: scheduleApiSchemas.activityQuery, summary: "A service's activity log, newest first, one page at a time",
    responses: { 200: { description: 'One page of events', schema: activityPageSchema } },
    errors: { 422: ['validation_failed'] },
  },
} satisfies Record<string, ApiRouteDoc>;

/** For openapi.ts: this file's routes and its named shapes. */
export const scheduleOpenapiRoutes: ApiRouteDoc[] = Object.values(scheduleRoutes);
export const scheduleOpenapiComponents = {
  Schedule: scheduleSchema, ScheduleList: scheduleListSchema, ScheduleEnvelope: scheduleEnvelopeSchema, RetentionPreview: retentionPreviewSchema,
  ActivityEvent: activityEventSchema, ActivityPage: activityPageSchema,
};

/**
 * /api/v1/services/:serviceId/schedules (GET, POST), /schedules/:scheduleId (GET, PATCH, DELETE) and
 * /activity (GET): the Snapshot Schedule and Activity tabs as JSON, with the same rules and codes.
 */
export function scheduleApiRouter(ctx: ModuleContext): Router {
  const router = express.Router();
  const mutating = jsonBody();
  const d = scheduleRoutes;
  const route = (doc: ApiRouteDoc, handler: express.RequestHandler) => router[doc.method](doc.path, ...(doc.body ? mutating : []), handler);
  const withNextRun = async (service: Parameters<typeof ctx.schedules.list>[0], s: Schedule) =>
    scheduleJson(s, (await ctx.schedules.list(service)).find((x) => x.schedule.id === s.id)?.nextRun ?? null);

  route(d.list, async (req, res) => {
    const service = await authorizedService(ctx, req, 'view');
    const [list, limits] = await Promise.all([ctx.schedules.list(service), ctx.deps.limits.forService(service.id, service.planId)]);
    res.json({ schedules: list.map((x) => scheduleJson(x.schedule, x.nextRun)), limits, used: list.length } satisfies ScheduleListJson);
  });

  route(d.create, async (req, res) => {
    const input = apiBody(d.create.body, req, FIELD_CODES);
    const service = await authorizedService(ctx, req, 'schedule');
    const s = await ctx.schedules.create(service, input, actionContext(req));
    res.status(201).json({ schedule: await withNextRun(service, s) });
  });

  // Before d.get: "preview" is no schedule id.
  route(d.preview, async (req, res) => {
    const service = await authorizedService(ctx, req, 'view');
    const q = parse(d.preview.query, req.query);
    const current = q.scheduleId ? await ctx.schedules.get(service, parseId(q.scheduleId, 'schedule')) : null;
    const raw = {
      // Neither name nor memory changes what a run rotates: the saved ones, or any that passes.
      name: current?.name ?? 'preview', includeMemory: false,
      days: q.days !== undefined ? q.days.split(',').filter(Boolean) : current?.days, hour: q.hour ?? current?.hour, minute: q.minute ?? current?.minute,
      timezone: q.timezone ?? current?.timezone, keep: q.keep ?? current?.keep, enabled: q.enabled ? q.enabled === '1' : current?.enabled ?? true,
    };
    const { input, preview } = await loadPreview(ctx, service, current?.id ?? null, raw);
    const view = presentRetentionPreview(req.t, req.language, viewerTimezone(ctx, req), preview, input.enabled);
    res.json({
      runs: preview.runs.map((r, i) => ({
        at: r.at.toISOString(), skipped: r.skipped, text: view.runs[i]!.text,
        rotates: r.rotates.map((x) => (x.kind === 'existing' ? { snapshotId: x.id, name: x.name, plannedRun: null } : { snapshotId: null, name: null, plannedRun: x.run })),
      })),
      keep: preview.keep, kept: preview.kept, untouched: preview.untouched, untouchedText: view.untouched, disabledText: view.none,
    } satisfies RetentionPreviewJson);
  });

  route(d.get, async (req, res) => {
    const service = await authorizedService(ctx, req, 'view');
    res.json({ schedule: await withNextRun(service, await ctx.schedules.get(service, parseId(req.params.scheduleId as string, 'schedule'))) });
  });

  route(d.update, async (req, res) => {
    const patch = apiBody(d.update.body, req, FIELD_CODES);
    const service = await authorizedService(ctx, req, 'schedule');
    const current = await ctx.schedules.get(service, parseId(req.params.scheduleId as string, 'schedule'));
    const { enabled, ...changes } = patch;
    // Only the status: the enable/disable action (as the page's toggle); otherwise one validated update.
    const s = Object.keys(changes).length === 0 && enabled !== undefined
      ? await ctx.schedules.setEnabled(service, current.id, enabled, actionContext(req))
      : await ctx.schedules.update(service, current.id, { ...current, ...changes, enabled: enabled ?? current.enabled }, actionContext(req));
    res.json({ schedule: await withNextRun(service, s) });
  });

  route(d.delete, async (req, res) => {
    const service = await authorizedService(ctx, req, 'schedule');
    await ctx.schedules.remove(service, parseId(req.params.scheduleId as string, 'schedule'), actionContext(req));
    res.status(204).end();
  });

  route(d.activity, async (req, res) => {
    const service = await authorizedService(ctx, req, 'view');
    const { before, limit } = parse(d.activity.query, req.query);
    const page = await activityPage((f) => ctx.deps.repos.audit.list(f), service.id, before, limit);
    const fmt = ctx.formatters.get(req.language, viewerTimezone(ctx, req));
    const viewer = requireActor(req);
    res.json({ events: page.events.map((e) => activityJson(e, presentActivity(req.t, fmt, viewer, e))), olderBefore: page.olderBefore } satisfies ActivityPageJson);
  });

  return router;
}
