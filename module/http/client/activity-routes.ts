import express, { type Request, type Router } from 'express';
import { z } from 'zod';
import { authorizedService, requireActor } from '../common/actor.js';
import type { ModuleContext } from '../common/module-context.js';
import { snapshotsPath } from '../common/paths.js';
import { renderPage } from '../common/render.js';
import { activityPage, presentActivity } from './activity-presenter.js';
import { parse } from './forms.js';
import { viewerTimezone } from './schedule-model.js';

/** `?before=<event id>`: the cursor of an older page. */
export const activityQuery = z.object({ before: z.string().regex(/^[1-9]\d{0,15}$/).transform(Number).optional() });

/** A service's activity (its audit events) for `req`'s viewer: one page, newest first. */
export async function loadActivity(ctx: ModuleContext, req: Request, serviceId: string) {
  const { before } = parse(activityQuery, req.query);
  const page = await activityPage((f) => ctx.deps.repos.audit.list(f), serviceId, before);
  const fmt = ctx.formatters.get(req.language, viewerTimezone(ctx, req));
  const viewer = requireActor(req);
  return { before: before ?? null, entries: page.events.map((e) => presentActivity(req.t, fmt, viewer, e)), olderBefore: page.olderBefore };
}

/** The Activity tab: /services/:serviceId/snapshots/activity, paged with ?before=. */
export function activityRouter(ctx: ModuleContext): Router {
  const router = express.Router();
  router.get('/services/:serviceId/snapshots/activity', async (req, res) => {
    const service = await authorizedService(ctx, req, 'view');
    const activity = await loadActivity(ctx, req, service.id);
    const basePath = snapshotsPath(service.id);
    await renderPage(ctx, req, res, 'client/activity', {
      ...activity, tab: 'activity', basePath, service: { id: service.id, name: service.name, status: service.status },
      olderHref: activity.olderBefore ? `${basePath}/activity?before=${activity.olderBefore}` : null,
      newestHref: activity.before ? `${basePath}/activity` : null,
    }, { title: req.t('activity:title'), service });
  });
  return router;
}
