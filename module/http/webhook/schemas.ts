import { z } from 'zod';

/**
 * Bodies of the signed billing webhook (POST /webhooks/snapshots), one object per delivery, told apart
 * by `event`. Exported for the OpenAPI document and for billing systems that want to validate what
 * they send. Unknown extra fields are ignored.
 */

/** The sender's id of this delivery: a retry of the same event reuses it. Also the audit log's actor id. */
export const eventIdSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/, '1–64 characters: letters, digits, . _ : -');
/** The panel's service id (what `panel.getService` accepts). */
export const serviceIdSchema = z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, '1–64 characters: letters, digits, . _ : -');

/** A planned plan change: the new plan, and its disk size when it differs (growth is what can be refused). */
export const planChangeSchema = z.object({
  newPlanId: z.string().trim().min(1).max(100),
  /** The new plan's disk size in bytes; omit when the plan change does not touch the disk. */
  newDiskBytes: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
});

export const WEBHOOK_EVENTS = [
  'plan.before_change', 'plan.changed', 'service.suspended', 'service.unsuspended', 'service.terminated', 'storage.can_expand',
  'service.provisioned_from_snapshot',
] as const;
export type WebhookEventName = (typeof WEBHOOK_EVENTS)[number];

const base = { eventId: eventIdSchema, serviceId: serviceIdSchema };

export const webhookBodySchema = z.discriminatedUnion('event', [
  /** Asks whether a plan change may go ahead (answer: allowed, or refused with reason and message). */
  z.object({
    event: z.literal('plan.before_change'), ...base, ...planChangeSchema.shape,
    /** Language of the refusal message (en, ko, ja); default: the request's Accept-Language. */
    locale: z.string().max(35).optional(),
  }),
  /** The plan changed (the panel already reports the new plan for the service): new limits apply now. */
  z.object({ event: z.literal('plan.changed'), ...base }),
  z.object({ event: z.literal('service.suspended'), ...base }),
  z.object({ event: z.literal('service.unsuspended'), ...base }),
  /** Every snapshot of the service is deleted on the hypervisor; its schedules are removed. */
  z.object({ event: z.literal('service.terminated'), ...base }),
  /** Whether the disk may grow now (no snapshot exists). */
  z.object({ event: z.literal('storage.can_expand'), ...base }),
  /**
   * The panel provisioned `serviceId` for a "New server from this snapshot" order: its disk is made
   * from the snapshot `reference` names (the value `orderServerFromSnapshot` was given).
   */
  z.object({ event: z.literal('service.provisioned_from_snapshot'), ...base, reference: z.string().min(1).max(200) }),
]);

/** How a new server from a snapshot is getting on (the provisioning event's answer). */
export const cloneReportSchema = z.object({
  serviceId: z.string(),
  sourceServiceId: z.string(),
  snapshotName: z.string(),
  status: z.enum(['queued', 'running', 'succeeded', 'failed']),
  errorCode: z.string().nullable(),
  requestedAt: z.string().describe('ISO 8601'),
  finishedAt: z.string().nullable().describe('ISO 8601'),
});
export type WebhookBody = z.output<typeof webhookBodySchema>;

/** What a successful delivery answers (HTTP 200); `result` depends on the event. */
export const webhookResponseSchema = z.object({
  eventId: z.string(),
  event: z.enum(WEBHOOK_EVENTS),
  // A union takes the first variant that parses (dropping unknown keys), so `{ changed, deleting }` comes before `{ changed }`.
  result: z.union([
    z.object({ allowed: z.boolean(), reason: z.literal('snapshots_exist').optional(), snapshotCount: z.number().int(), message: z.string().nullable() }),
    z.object({ planId: z.string(), adjustedSchedules: z.number().int(), over: z.number().int() }),
    z.object({ changed: z.boolean(), deleting: z.number().int() }),
    z.object({ changed: z.boolean() }),
    z.object({ canExpand: z.boolean(), snapshotCount: z.number().int() }),
    cloneReportSchema,
  ]),
});

/** Every error answer: a stable code and a message in the request's language. */
export const webhookErrorSchema = z.object({ error: z.object({ code: z.string(), message: z.string() }) });
