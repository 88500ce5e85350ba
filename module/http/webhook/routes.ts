import express, { type ErrorRequestHandler, type NextFunction, type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import type { WebhookEventsRepo } from '../../db/webhook-events-repo.js';
import { UnavailableError, UnsupportedMediaTypeError } from '../../domain/errors.js';
import { errorJson, toSnapshotError } from '../common/error-handler.js';
import type { ApiRouteDoc } from '../api/openapi.js';
import type { ModuleContext } from '../common/module-context.js';
import { applyWebhookEvent, parseWebhookBody } from './dispatch.js';
import { billingHooks } from '../../billing/billing-hooks.js';
import { webhookBodySchema, webhookResponseSchema } from './schemas.js';
import { SIGNATURE_TOLERANCE_SECONDS, verifyWebhookSignature } from './signature.js';
import { WebhookError } from './webhook-error.js';

export const WEBHOOK_PATH = '/webhooks/snapshots';

/** The webhook as the router registers it and openapi.json documents it (tag "Billing webhook"). */
export const webhookRoute = {
  method: 'post', path: WEBHOOK_PATH, operationId: 'billingWebhook', tag: 'Billing webhook', public: true, rawBody: true,
  summary: 'Billing events, signed with the shared secret',
  description: 'No panel session: the HMAC signature is the proof (and no CSRF token is needed). One answer per `eventId`: a repeat gets '
    + 'the first answer again (status and body) with `X-Snapshots-Replayed: true` and is not applied twice; a repeat while the first '
    + 'is still running gets 409 `webhook_event_in_progress` with `Retry-After`. 5xx answers are not kept, so a retry applies the event.',
  headers: z.object({
    'X-Snapshots-Timestamp': z.string().regex(/^\d{1,12}$/)
      .describe(`Unix time in seconds when signed; refused more than ${SIGNATURE_TOLERANCE_SECONDS / 60} minutes from the server's clock`),
    'X-Snapshots-Signature': z.string().regex(/^[0-9a-fA-F]{64}$/)
      .describe('Hex HMAC-SHA256, keyed with the module\'s `webhookSecret`, of `<timestamp>.<raw body>`'),
  }),
  body: webhookBodySchema,
  responses: { 200: { description: 'Applied (or a replay of the first answer)', schema: webhookResponseSchema } },
  errors: {
    400: ['invalid_json', 'invalid_body', 'webhook_unknown_event', 'webhook_invalid_payload'],
    401: ['webhook_signature_missing', 'webhook_timestamp_invalid', 'webhook_timestamp_expired', 'webhook_signature_invalid'],
    404: ['service_not_found'],
    409: ['webhook_event_in_progress', 'webhook_event_id_reused'],
    413: ['payload_too_large'],
    415: ['invalid_body', 'unsupported_media_type'],
    500: ['webhook_raw_body_unavailable'],
    503: ['webhook_not_configured'],
  },
} satisfies ApiRouteDoc;
export const webhookOpenapiRoutes: ApiRouteDoc[] = [webhookRoute];
/** A claim older than this whose process never answered is taken over by the next delivery. */
const STALE_CLAIM_MS = 2 * 60_000;
const RETRY_AFTER_SECONDS = 2;

/**
 * The contract is JSON: a form, text or a body without a type is refused before anything reads it,
 * so a sender learns what is wrong rather than meeting a signature or JSON error. Parameters such as
 * `charset=utf-8` are allowed; the body is read as UTF-8 either way.
 */
function requireJson(req: Request, _res: Response, next: NextFunction): void {
  const type = req.get('content-type')?.split(';')[0]!.trim().toLowerCase();
  next(type === 'application/json' ? undefined : new UnsupportedMediaTypeError());
}

/** The body exactly as sent: the signature covers these bytes, so nothing may parse them first. */
function rawBody(ctx: ModuleContext, req: Request): Buffer {
  if (Buffer.isBuffer(req.body)) return req.body;
  if (req.body === undefined) return Buffer.alloc(0); // no body at all
  ctx.logger.error('snapshot module: the billing webhook body was parsed before the webhook router; mount it before body parsers');
  throw new WebhookError('webhook_raw_body_unavailable', 500);
}

/**
 * The signed billing webhook (POST /webhooks/snapshots): HMAC-SHA256 over `<timestamp>.<raw body>`,
 * a 5-minute replay window, and one answer per event id — a repeat gets the first answer (status and
 * body) and is not applied again. Signed, so it needs no CSRF token. Errors are JSON with stable codes.
 */
export function webhookRouter(ctx: ModuleContext, events: WebhookEventsRepo): Router {
  const router = express.Router();
  router[webhookRoute.method](webhookRoute.path, (_req, _res, next) => {
    next(ctx.config.webhookSecret ? undefined : new UnavailableError('webhook_not_configured'));
  }, requireJson, express.raw({ type: () => true, limit: '64kb' }), async (req: Request, res: Response) => {
    verifyWebhookSignature({
      secret: ctx.config.webhookSecret!, timestamp: req.get('x-snapshots-timestamp'), signature: req.get('x-snapshots-signature'),
      rawBody: rawBody(ctx, req),
    });
    const { body, hash } = parseWebhookBody(rawBody(ctx, req));
    const claim = await events.claim({ eventId: body.eventId, eventType: body.event, serviceId: body.serviceId, requestHash: hash },
      new Date(Date.now() - STALE_CLAIM_MS));
    if (claim.kind !== 'claimed') {
      if (claim.requestHash !== hash) throw new WebhookError('webhook_event_id_reused', 409);
      if (claim.kind === 'in_progress') {
        res.set('Retry-After', String(RETRY_AFTER_SECONDS));
        throw new WebhookError('webhook_event_in_progress', 409, { seconds: RETRY_AFTER_SECONDS });
      }
      res.set('X-Snapshots-Replayed', 'true').status(claim.status).json(claim.body);
      return;
    }
    const hooks = billingHooks({ ...ctx, defaultLocale: ctx.config.defaultLocale }, { actor: { type: 'billing', id: body.eventId }, ip: req.ip ?? null });
    let status = 200;
    let answer: unknown;
    try {
      answer = { eventId: body.eventId, event: body.event, result: await applyWebhookEvent(hooks, body, req.language ?? ctx.config.defaultLocale) };
    } catch (err) {
      const e = toSnapshotError(ctx, err);
      // A transient failure is not an answer: the claim is given up so the sender's retry applies it.
      if (e.status >= 500) {
        await events.release(body.eventId);
        throw e;
      }
      status = e.status;
      answer = errorJson(req, e);
    }
    await events.complete(body.eventId, status, answer);
    res.status(status).json(answer);
  });
  // Always JSON, whatever the Accept header or a panel session cookie says: the caller is a machine.
  const jsonErrors: ErrorRequestHandler = (err, req, res, _next) => {
    const e = toSnapshotError(ctx, err);
    if (!req.t) req.t = ctx.i18n.getFixedT(ctx.config.defaultLocale) as Request['t'];
    res.status(e.status).json(errorJson(req, e));
  };
  router.use(jsonErrors);
  return router;
}
