import express, { type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import type { Action } from '../../domain/authorize.js';
import { NotFoundError, type SnapshotError } from '../../domain/errors.js';
import { actionContext, authorizedService, NotLoggedInError, parseId, requireActor } from '../common/actor.js';
import { formAction } from '../common/form-action.js';
import type { ModuleContext } from '../common/module-context.js';
import { snapshotsPath } from '../common/paths.js';
import { renderPage } from '../common/render.js';
import { safetyNamer } from '../common/safety-name.js';
import { fastRequestT } from '../common/request-t.js';
import { actionRateLimit, bodyParsers, csrfProtection } from '../common/security.js';
import { activityRouter } from './activity-routes.js';
import { allSnapshotsRouter } from './all-snapshots-routes.js';
import { checkbox, parse, presentError, text } from './forms.js';
import { loadListPage } from './list-model.js';
import { showListPage } from './list-page.js';
import { scheduleRouter } from './schedule-routes.js';

const createForm = z.object({ name: text, description: text, includeMemory: checkbox });
const editForm = z.object({ name: text, description: text });
const deleteForm = z.object({ confirm: checkbox, typedName: text });
const restoreForm = z.object({ typedServiceName: text, safetySnapshot: checkbox });
const pinForm = z.object({ pinned: checkbox });
/** `?before=<snapshot id>`: the page of snapshots older than that one. */
const listQuery = z.object({ before: z.string().regex(/^[1-9]\d{0,15}$/).transform(Number).optional() });

const FLASHES = new Set(['created', 'pinned', 'unpinned', 'edited', 'delete_scheduled', 'dismissed', 'restore_started', 'restore_started_safety']);

/** The client area: /services/:serviceId/snapshots and its forms. Works without JavaScript. */
export function clientRouter(ctx: ModuleContext): Router {
  const router = express.Router();
  const csrf = csrfProtection(ctx);
  // Nobody logged in: the login page (or a 401), before CSRF or input checks say anything else.
  router.use((req, _res, next) => next(req.snapshotActor ? undefined : new NotLoggedInError()));
  router.use(csrf.router, fastRequestT(ctx));
  router.use(scheduleRouter(ctx, csrf), activityRouter(ctx), allSnapshotsRouter(ctx));
  const base = '/services/:serviceId/snapshots';
  const limited = actionRateLimit(20);

  const serviceFor = (req: Request, action: Action) => authorizedService(ctx, req, action);
  const back = (req: Request, flash: string) => `${snapshotsPath(String(req.params.serviceId))}?flash=${flash}`;

  async function showList(req: Request, res: Response, extra: { form?: Record<string, unknown>; error?: SnapshotError } = {}) {
    const { before } = parse(listQuery, req.query);
    const flash = FLASHES.has(String(req.query.flash)) ? req.t(`snapshots:flash.${String(req.query.flash)}`) : null;
    if (!flash && !extra.error && !extra.form) return showListPage(ctx, req, res, { before });
    const { service, model } = await loadListPage(ctx, req, { before });
    const error = extra.error ? presentError(req, extra.error) : null;
    await renderPage(ctx, req, res, 'client/list', { ...model, flash, error, form: extra.form ?? {} },
      { title: req.t('snapshots:title'), service, status: extra.error?.status });
  }

  const action = (handler: (req: Request, res: Response) => Promise<void>, rerender: (req: Request, res: Response, e: SnapshotError) => Promise<void>) =>
    formAction(ctx, handler, rerender);

  router.get(base, csrf.issue, async (req, res) => showList(req, res));

  router.post(base, ...bodyParsers(), csrf.verify, limited, csrf.issue, action(async (req, res) => {
    const form = parse(createForm, req.body);
    const service = await serviceFor(req, 'create');
    await ctx.snapshots.create(service, form, actionContext(req));
    res.redirect(303, back(req, 'created'));
  }, (req, res, error) => showList(req, res, { form: req.body ?? {}, error })));

  router.post(`${base}/:id/pin`, ...bodyParsers(), csrf.verify, csrf.issue, action(async (req, res) => {
    const { pinned } = parse(pinForm, req.body);
    const service = await serviceFor(req, 'pin');
    await ctx.snapshots.setPinned(service, parseId(req.params.id as string), pinned, actionContext(req));
    res.redirect(303, back(req, pinned ? 'pinned' : 'unpinned'));
  }, (req, res, error) => showList(req, res, { error })));

  for (const page of ['edit', 'delete', 'restore', 'new-server'] as const) {
    const show = async (req: Request, res: Response, extra: { form?: Record<string, unknown>; error?: SnapshotError } = {}) => {
      const id = parseId(req.params.id as string);
      // The page of the list that starts at this snapshot, wherever it is in a long list.
      const { service, model } = await loadListPage(ctx, req, { before: id, inclusive: true });
      const row = model.rows.find((r) => r.id === id);
      if (!row || (page === 'new-server' && !model.newServer.shown)) throw new NotFoundError('snapshot');
      const error = extra.error ? presentError(req, extra.error) : null;
      await renderPage(ctx, req, res, `client/${page}`, { ...model, row, error, form: extra.form ?? {} },
        { title: req.t(`snapshots:${page === 'new-server' ? 'new_server' : page}.title`), service, status: extra.error?.status });
    };
    router.get(`${base}/:id/${page}`, csrf.issue, async (req, res) => show(req, res));
    const handlers = {
      edit: async (req: Request, res: Response) => {
        const form = parse(editForm, req.body);
        const service = await serviceFor(req, 'edit');
        await ctx.snapshots.edit(service, parseId(req.params.id as string), form, actionContext(req));
        res.redirect(303, back(req, 'edited'));
      },
      delete: async (req: Request, res: Response) => {
        const form = parse(deleteForm, req.body);
        const service = await serviceFor(req, 'delete');
        const s = await ctx.snapshots.delete(service, parseId(req.params.id as string), { confirm: form.confirm, typedName: form.typedName }, actionContext(req));
        res.redirect(303, back(req, s.status === 'failed' ? 'dismissed' : 'delete_scheduled'));
      },
      restore: async (req: Request, res: Response) => {
        const form = parse(restoreForm, req.body);
        const service = await serviceFor(req, 'restore');
        const r = await ctx.snapshots.restore(service, parseId(req.params.id as string),
          { typedServiceName: form.typedServiceName ?? '', safetySnapshot: form.safetySnapshot }, actionContext(req), safetyNamer(ctx, req));
        res.redirect(303, back(req, r.safety ? 'restore_started_safety' : 'restore_started'));
      },
      // The panel's order flow takes over: its order page, with the reference in the URL it chose.
      'new-server': async (req: Request, res: Response) => {
        const service = await serviceFor(req, 'create');
        const { continueUrl } = await ctx.clones.begin(requireActor(req), service, parseId(req.params.id as string), actionContext(req), req.language);
        res.redirect(303, continueUrl);
      },
    };
    const middleware = page === 'restore' || page === 'new-server' ? [limited] : [];
    router.post(`${base}/:id/${page}`, ...bodyParsers(), csrf.verify, ...middleware, csrf.issue,
      action(handlers[page], (req, res, error) => show(req, res, { form: req.body ?? {}, error })));
  }
  return router;
}
