import { createHash } from 'node:crypto';
import { SnapshotError } from '../../domain/errors.js';
import type { BillingHooks } from '../../billing/billing-hooks.js';
import { WEBHOOK_EVENTS, webhookBodySchema, type WebhookBody } from './schemas.js';
import { WebhookError } from './webhook-error.js';

/** Parses and validates a verified raw body; bad JSON, an unknown event or bad fields are a 400. */
export function parseWebhookBody(raw: Buffer): { body: WebhookBody; hash: string } {
  let json: unknown;
  try {
    json = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new SnapshotError('invalid_json', 400);
  }
  const event = (json as { event?: unknown } | null)?.event;
  if (typeof json !== 'object' || Array.isArray(json) || !(WEBHOOK_EVENTS as readonly unknown[]).includes(event)) {
    throw new WebhookError('webhook_unknown_event', 400, { event: typeof event === 'string' ? event.slice(0, 64) : '', events: WEBHOOK_EVENTS.join(', ') });
  }
  const parsed = webhookBodySchema.safeParse(json);
  if (!parsed.success) {
    const fields = [...new Set(parsed.error.issues.map((i) => i.path.join('.') || 'body'))].join(', ');
    throw new WebhookError('webhook_invalid_payload', 400, { fields });
  }
  return { body: parsed.data, hash: createHash('sha256').update(canonicalJson(json)).digest('hex') };
}

/** JSON with object keys sorted, so a resend that only reorders keys or spacing counts as the same body. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const entries = Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(v);
}

/** Applies one webhook event through the same hooks panels call in-process; returns the `result` field. */
export async function applyWebhookEvent(hooks: BillingHooks, body: WebhookBody, locale: string): Promise<unknown> {
  switch (body.event) {
    case 'plan.before_change':
      return hooks.beforePlanChange(body.serviceId, { newPlanId: body.newPlanId, newDiskBytes: body.newDiskBytes }, { locale: body.locale ?? locale });
    case 'plan.changed': {
      const r = await hooks.afterPlanChange(body.serviceId);
      return { planId: r.planId, adjustedSchedules: r.adjustments.length, over: r.over };
    }
    case 'service.suspended':
      return hooks.serviceSuspended(body.serviceId);
    case 'service.unsuspended':
      return hooks.serviceUnsuspended(body.serviceId);
    case 'service.terminated':
      return hooks.serviceTerminated(body.serviceId);
    case 'storage.can_expand':
      return hooks.storageExpansion(body.serviceId);
    case 'service.provisioned_from_snapshot':
      return hooks.provisionedFromSnapshot(body.serviceId, body.reference);
  }
}
