import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { fileURLToPath } from 'node:url';
import type { UserLocalesRepo } from '../db/user-locales-repo.js';
import type { AdminRouterPorts } from '../http/admin/routes.js';
import { adminRouter } from '../http/admin/routes.js';
import { openapiRouter, type OpenApiDocument } from '../http/api/openapi.js';
import { apiRouter } from '../http/api/routes.js';
import { clientRouter } from '../http/client/routes.js';
import { resolveActor } from '../http/common/actor.js';
import { errorHandler } from '../http/common/error-handler.js';
import { i18nMiddleware } from '../http/common/i18n-middleware.js';
import type { ModuleContext } from '../http/common/module-context.js';
import { rememberLocale } from '../http/common/remember-locale.js';
import { ASSETS_PATH } from '../http/common/render.js';
import { securityHeaders } from '../http/common/security.js';
import type { WebhookEventsRepo } from '../db/webhook-events-repo.js';
import { webhookRouter } from '../http/webhook/routes.js';

const PUBLIC_DIR = fileURLToPath(new URL('../../public', import.meta.url));

/** The module's four routers, each to be mounted at the host's root (see SnapshotModule.routers). */
export interface ModuleRouters {
  client: Router;
  admin: Router;
  api: Router;
  webhook: Router;
}

/**
 * Builds the routers. Every router shares the same front: security headers, the actor (remembering
 * their language for mail), i18n; and the same back: the one error handler. Mounted at the host's
 * root, each router only touches its own paths, so host pages never get the module's headers or
 * actor lookups.
 */
export function buildRouters(ctx: ModuleContext, o: {
  userLocales: UserLocalesRepo; webhookEvents: WebhookEventsRepo; admin: AdminRouterPorts; openapiDocument: OpenApiDocument;
}): ModuleRouters {
  const i18nRequests = i18nMiddleware(ctx.i18n);
  const remember = rememberLocale(o.userLocales, ctx.logger);
  const wrap = (paths: RegExp[], ...inner: Router[]): Router => {
    const r = express.Router();
    r.use((req: Request, _res: Response, next: NextFunction) => next(paths.some((p) => p.test(req.path)) ? undefined : 'router'));
    r.use(securityHeaders(ctx), resolveActor(ctx), remember, i18nRequests, ...inner, errorHandler(ctx));
    return r;
  };
  const client = express.Router();
  client.use(ASSETS_PATH, express.static(PUBLIC_DIR, { maxAge: '1h', index: false, fallthrough: false }));
  client.use(wrap([/^\/services\/[^/]+\/snapshots(\/|$)/, /^\/snapshots\/?$/], clientRouter(ctx)));
  return {
    client,
    admin: wrap([/^\/admin\/snapshots(\/|$)/], adminRouter(ctx, o.admin)),
    api: wrap([/^\/api\/v1\/services\/[^/]+\/(snapshots|schedules|activity|clone)(\/|$)/, /^\/api\/v1\/snapshots\/?$/, /^\/api\/v1\/openapi\.json$/],
      openapiRouter(o.openapiDocument), apiRouter(ctx)),
    webhook: wrap([/^\/webhooks\/snapshots\/?$/], webhookRouter(ctx, o.webhookEvents)),
  };
}
