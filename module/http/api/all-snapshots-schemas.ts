import { z } from 'zod';
import { quotaSchema, snapshotSchema } from './schemas.js';

/** `?page=`: which page of the All snapshots list (pages and the API read it alike). */
export const allSnapshotsQuery = z.object({
  page: z.string().regex(/^[1-9]\d{0,5}$/).transform(Number).optional().describe('Page number, from 1 (default 1); 50 snapshots a page'),
});

export const serviceSummarySchema = z.object({
  id: z.string(),
  name: z.string(),
  status: z.enum(['active', 'suspended', 'terminated']).describe('With the module\'s own suspension taking effect'),
  quota: quotaSchema,
  canCreate: z.boolean().describe('A snapshot may be asked for now: the service open to the viewer and a slot left'),
  snapshotCount: z.number().int(),
});

export const allSnapshotsSchema = z.object({
  services: z.array(serviceSummarySchema).describe('Every service the viewer may see, with its quota'),
  snapshots: z.array(snapshotSchema.omit({ actions: true }).extend({ serviceId: z.string() }))
    .describe("This page's snapshots, grouped by service; act on them through the service's own routes"),
  page: z.object({ page: z.number().int(), pageSize: z.number().int(), total: z.number().int(), pages: z.number().int() }),
});

export type AllSnapshotsJson = z.output<typeof allSnapshotsSchema>;
