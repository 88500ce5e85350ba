import express, { type Router } from 'express';
import { SnapshotError } from '../../domain/errors.js';
import type { ModuleContext } from '../shared/module-context.js';

/**
 * The signed billing webhook (POST /webhooks/snapshots). Until its HMAC verification lands it
 * refuses every delivery, so nothing unsigned can ever change a service.
 */
export function webhookRouter(ctx: ModuleContext): Router {
  const router = express.Router();
  router.post('/webhooks/snapshots', () => {
    throw new SnapshotError(ctx.config.webhookSecret ? 'webhook_not_available' : 'webhook_not_configured', 503);
  });
  return router;
}
