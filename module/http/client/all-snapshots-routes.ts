import express, { type Request, type Router } from 'express';
import type { AllSnapshotsPage } from '../../domain/all-snapshots.js';
import { SnapshotError } from '../../domain/errors.js';
import { allSnapshotsQuery } from '../api/all-snapshots-schemas.js';
import { requireActor } from '../common/actor.js';
import type { ModuleContext } from '../common/module-context.js';
import { allSnapshotsPath } from '../common/paths.js';
import { renderPage } from '../common/render.js';
import { presentAllSnapshots } from './all-snapshots-presenter.js';
import { parse } from './forms.js';
import { viewerTimezone } from './schedule-model.js';

/** `req`'s page of the All snapshots list; not found where the panel cannot say which services are whose. */
export async function loadAllSnapshots(ctx: ModuleContext, req: Request): Promise<AllSnapshotsPage> {
  if (!ctx.allSnapshots) throw new SnapshotError('route_not_found', 404);
  const { page } = parse(allSnapshotsQuery, req.query);
  return ctx.allSnapshots.page(requireActor(req), page ?? 1);
}

/** The All snapshots page: every service's snapshots in one list, acted on from each service's page. */
export function allSnapshotsRouter(ctx: ModuleContext): Router {
  const router = express.Router();
  router.get(allSnapshotsPath(), async (req, res) => {
    const page = await loadAllSnapshots(ctx, req);
    const model = presentAllSnapshots(req.t, ctx.formatters.get(req.language, viewerTimezone(ctx, req)), page);
    await renderPage(ctx, req, res, 'client/all-snapshots', { ...model }, { title: req.t('snapshots:all.title') });
  });
  return router;
}
