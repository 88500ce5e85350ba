import express, { type ErrorRequestHandler, type Request, type Response, type Router } from 'express';
import type { WebhookEventsRepo } from '../../db/webhook-events-repo.js';
import { UnavailableError } from '../../domain/errors.js';
import { errorJson, toSnapshotError } from '../shared/error-handler.js';
import type { ModuleContext } from '../shared/module-context.js';
import { applyWebhookEvent, parseWebhookBody } from './dispatch.js';
import { billingHooks } from './hooks.js';
import { verifyWebhookSignature } from './signature.js';
import { WebhookError } from './webhook-error.js';

export const WEBHOOK_PATH = '/webhooks/snapshots';
/** A claim older than this whose process never answered is taken over by the next delivery. */
const STALE_CLAIM_MS = 2 * 60_000;
const RETRY_AFTER_SECONDS = 2;

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
  router.post(WEBHOOK_PATH, (_req, _res, next) => {
    next(ctx.config.webhookSecret ? undefined : new UnavailableError('webhook_not_configured'));
  }, express.raw({ type: () => true, limit: '64kb' }), async (req: Request, res: Response) => {
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
    const hooks = billingHooks(ctx, { actor: { type: 'billing', id: body.eventId }, ip: req.ip ?? null });
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
