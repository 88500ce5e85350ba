import { z } from 'zod';
import { SNAPSHOT_STATUSES } from '../../domain/status.js';

/**
 * The JSON API's shapes, in one place: the routes validate requests with these, the presenters'
 * output is typed by them, and openapi.json is generated from them (single source).
 */

// Generous transport bound; the domain applies the real limits (64-character names...) with their own codes.
const str = z.string().max(20_000);

/** Request bodies. Unknown fields are ignored. */
export const apiSchemas = {
  create: z.object({
    name: str.describe('1–64 characters, no control characters'),
    description: str.nullable().optional().describe('Up to 255 characters; line breaks allowed'),
    includeMemory: z.boolean().optional().describe('Include the VM memory state (plan and hypervisor permitting)'),
  }),
  edit: z.object({ name: str, description: str.nullable().optional() }),
  pin: z.object({ pinned: z.boolean() }),
  delete: z.object({
    confirm: z.literal(true),
    typedName: str.optional().describe('The snapshot name, required to delete a pinned snapshot'),
  }),
  restore: z.object({
    typedServiceName: str.describe("The service's name, typed to confirm the rollback"),
    safetySnapshot: z.boolean().optional().describe('Take a snapshot of the current state first'),
    startAfter: z.boolean().optional(),
  }),
};

/** Path parameters, as loadService and parseId accept them (anything else is a 404). */
export const pathParams = {
  serviceId: z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/).describe("The panel's service id"),
  id: z.string().regex(/^[1-9]\d{0,15}$/).describe('Snapshot id'),
};

const isoDate = z.string().describe('ISO 8601 date-time (UTC)');

export const snapshotSchema = z.object({
  id: z.number().int(),
  name: z.string(),
  description: z.string().nullable(),
  status: z.enum(SNAPSHOT_STATUSES),
  pinned: z.boolean(),
  includeMemory: z.boolean(),
  origin: z.enum(['manual', 'schedule', 'safety', 'adopted']),
  scheduleId: z.number().int().nullable(),
  diskBytes: z.number().int().nullable(),
  memoryBytes: z.number().int().nullable(),
  error: z.object({ code: z.string() }).nullable().describe('Set when the hypervisor refused or failed the last operation'),
  createdAt: isoDate,
  completedAt: isoDate.nullable(),
  actions: z.object({ pin: z.boolean(), edit: z.boolean(), restore: z.boolean(), delete: z.boolean(), dismiss: z.boolean(), newServer: z.boolean() }).optional()
    .describe('What the viewer may do with it now (in lists and single reads); the same rule the pages and the checks use'),
});

export const quotaSchema = z.object({
  limit: z.number().int(),
  used: z.number().int(),
  left: z.number().int().describe('Snapshots left, never negative'),
  over: z.number().int().describe('How many the service holds beyond its limit (after a downgrade)'),
});

export const limitsSchema = z.object({
  maxSnapshots: z.number().int(),
  maxSchedules: z.number().int(),
  maxKeep: z.number().int(),
  memoryAllowed: z.boolean(),
  schedulesAllowed: z.boolean(),
  cloneAllowed: z.boolean().describe('New servers may be made from this service\'s snapshots'),
});

export const queueItemSchema = z.object({
  id: z.number().int(),
  kind: z.enum(['create', 'delete', 'restore', 'clone']),
  status: z.enum(['queued', 'running', 'succeeded', 'failed']),
  snapshotId: z.number().int().nullable(),
});

export const snapshotListSchema = z.object({
  snapshots: z.array(snapshotSchema),
  quota: quotaSchema,
  limits: limitsSchema,
  queue: z.array(queueItemSchema).describe('Operations waiting or running for this service'),
  storageExpansionBlocked: z.boolean().describe('Disk expansion is refused while any snapshot exists'),
  page: z.object({
    limit: z.number().int(),
    olderBefore: z.number().int().nullable().describe('Pass as `before` for the next older page; null on the oldest page'),
  }).describe('`snapshots` is one page, newest first; `quota` counts all of the service\'s snapshots'),
});

/** `?before=` and `?limit=` of the snapshot list. */
export const snapshotListQuery = z.object({
  before: z.string().regex(/^[1-9]\d{0,15}$/).transform(Number).optional()
    .describe("A snapshot id: list the snapshots older than it (the previous page's `page.olderBefore`)"),
  limit: z.string().regex(/^[1-9]\d{0,2}$/).transform(Number).pipe(z.number().max(200)).optional()
    .describe('Snapshots per page, 1–200 (default 50)'),
});

export const snapshotEnvelopeSchema = z.object({ snapshot: snapshotSchema });
export const restoreResultSchema = z.object({ snapshot: snapshotSchema, safetySnapshot: snapshotSchema.nullable() });

const fieldErrors = z.record(z.string(), z.object({ code: z.string(), message: z.string() }))
  .describe('Per-field errors (validation_failed only)');

/** Every API error: a stable code to switch on, a message in the user's language, per-field errors. */
export const errorSchema = z.object({
  error: z.object({ code: z.string(), message: z.string(), fields: fieldErrors.optional() }),
});

/** The error shape narrowed to the codes a route documents for one status. */
export function errorSchemaFor(codes: readonly [string, ...string[]]) {
  return z.object({ error: z.object({ code: z.enum(codes), message: z.string(), fields: fieldErrors.optional() }) });
}

export type SnapshotJson = z.output<typeof snapshotSchema>;
