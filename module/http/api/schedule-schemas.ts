import { z } from 'zod';
import { KNOWN_ACTIONS } from '../client/activity-presenter.js';
import { limitsSchema, pathParams } from './schemas.js';

/**
 * Shapes of the schedules and activity API (see schemas.ts for the snapshot ones): the routes
 * validate requests with these, the presenters' output is typed by them, openapi.json comes from them.
 */

const fields = {
  name: z.string().max(20_000).describe('1–64 characters, no control characters'),
  enabled: z.boolean(),
  days: z.array(z.number().int().min(0).max(6)).max(7).describe('Days of the week, 0 = Sunday … 6 = Saturday; at least one'),
  hour: z.number().int().min(0).max(23),
  minute: z.number().int().min(0).max(59),
  timezone: z.string().max(100).describe('IANA timezone the hour and minute are read in, e.g. Asia/Seoul'),
  keep: z.number().int().describe("How many of this schedule's snapshots to keep: 1 … the plan's maxKeep (code schedule_keep_over_plan)"),
  includeMemory: z.boolean(),
};

/** Request schemas of the schedules and activity API. Unknown fields are ignored. */
export const scheduleApiSchemas = {
  create: z.object({ ...fields, enabled: fields.enabled.optional(), includeMemory: fields.includeMemory.optional() }),
  /** Any subset of the fields; the result is validated as a whole against the plan. */
  update: z.object(fields).partial(),
  activityQuery: z.object({
    before: z.string().regex(/^[1-9]\d{0,15}$/).transform(Number).optional()
      .describe('Cursor: only events older than this event id (the `olderBefore` of the previous page)'),
    limit: z.string().regex(/^\d{1,3}$/).transform(Number).pipe(z.number().int().min(1).max(100)).optional()
      .describe('Events per page, 1–100 (default 25)'),
  }),
  /** Unsaved form values; each one left out is the edited schedule's. */
  previewQuery: z.object({
    scheduleId: z.string().regex(/^[1-9]\d{0,15}$/).optional().describe('The schedule being edited; without it, a schedule not saved yet'),
    keep: z.string().max(10).optional(),
    days: z.string().max(20).optional().describe('Comma-separated days of the week, 0 = Sunday … 6'),
    hour: z.string().max(10).optional(),
    minute: z.string().max(10).optional(),
    timezone: z.string().max(100).optional(),
    enabled: z.enum(['1', '0']).optional(),
  }),
};

export const scheduleParams = {
  serviceId: pathParams.serviceId,
  scheduleId: z.string().regex(/^[1-9]\d{0,15}$/).describe('Schedule id'),
};

const isoDate = z.string().describe('ISO 8601 date-time (UTC)');

export const scheduleSchema = z.object({
  id: z.number().int(),
  name: z.string(),
  enabled: z.boolean(),
  disabledReason: z.string().nullable()
    .describe('Why the module turned it off (`plan_no_schedules`, `plan_schedule_limit`); null when on or turned off by a user'),
  days: z.array(z.number().int()),
  hour: z.number().int(),
  minute: z.number().int(),
  timezone: z.string(),
  keep: z.number().int(),
  includeMemory: z.boolean(),
  nextRunAt: isoDate.nullable().describe('Null when the schedule does not run (disabled, or no scheduler has it yet)'),
  lastRunAt: isoDate.nullable(),
  lastResult: z.string().nullable().describe('`ok`, `failed` or `missed`; null before the first run'),
  lastError: z.object({ code: z.string() }).nullable().describe('The error code of the last failed run'),
  createdAt: isoDate,
  updatedAt: isoDate,
});

export const scheduleListSchema = z.object({
  schedules: z.array(scheduleSchema),
  limits: limitsSchema,
  used: z.number().int().describe('Schedules the service has (enabled or not)'),
});

export const scheduleEnvelopeSchema = z.object({ schedule: scheduleSchema });

/** An Activity entry: who acted as a role (or "you"), never an id, name or address. */
export const activityEventSchema = z.object({
  id: z.number().int(),
  occurredAt: isoDate,
  actor: z.enum(['you', 'customer', 'reseller', 'admin', 'schedule', 'billing', 'system', 'reconcile']),
  actorLabel: z.string().describe("`actor` in the user's language"),
  action: z.string().describe(`What happened, e.g. ${KNOWN_ACTIONS.slice(0, 3).map((a) => `\`${a}\``).join(', ')}`),
  actionLabel: z.string(),
  result: z.enum(['ok', 'refused', 'failed']),
  resultLabel: z.string(),
  code: z.string().nullable().describe('Error or skip code of a refusal or failure'),
  reason: z.string().nullable().describe('`code` explained in the user\'s language'),
  snapshotId: z.number().int().nullable(),
  subject: z.string().nullable().describe('The snapshot or schedule it concerned, by name'),
});

export const activityPageSchema = z.object({
  events: z.array(activityEventSchema).describe('Newest first'),
  olderBefore: z.number().int().nullable().describe('Pass as `before` for the next (older) page; null on the last page'),
});

const previewRunSchema = z.object({
  at: isoDate,
  skipped: z.boolean().describe('Skipped for `limit_reached`: nothing of the schedule can be rotated to make room'),
  rotates: z.array(z.object({
    snapshotId: z.number().int().nullable().describe('An existing snapshot; null for one an earlier previewed run takes'),
    name: z.string().nullable(),
    plannedRun: z.number().int().nullable().describe('Index in `runs` of the run that takes it, when not existing yet'),
  })).describe('Oldest first'),
  text: z.string().describe("The run in the user's language"),
});

export const retentionPreviewSchema = z.object({
  runs: z.array(previewRunSchema).describe('The next runs, each assumed to succeed; empty when disabled'),
  keep: z.number().int(),
  kept: z.number().int().describe("The schedule's own unpinned snapshots now"),
  untouched: z.object({ pinned: z.number().int(), manual: z.number().int() }).describe('Never deleted by a schedule'),
  untouchedText: z.string(),
  disabledText: z.string().nullable(),
});

export type ScheduleJson = z.output<typeof scheduleSchema>;
export type ScheduleListJson = z.output<typeof scheduleListSchema>;
export type ActivityPageJson = z.output<typeof activityPageSchema>;
export type ActivityEventJson = z.output<typeof activityEventSchema>;
export type RetentionPreviewJson = z.output<typeof retentionPreviewSchema>;
