import express, { type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import { ValidationError, type SnapshotError } from '../../domain/errors.js';
import type { PanelService, Schedule } from '../../domain/types.js';
import { actionContext, authorizedService, parseId } from '../common/actor.js';
import type { ModuleContext } from '../common/module-context.js';
import { snapshotsPath } from '../common/paths.js';
import { renderPage } from '../common/render.js';
import { bodyParsers, type csrfProtection } from '../common/security.js';
import { formAction } from '../common/form-action.js';
import { checkbox, parse, presentError, text } from './forms.js';
import { presentRetentionPreview, type RetentionPreviewView } from './retention-presenter.js';
import { loadFormChoices, loadPreview, loadSchedulesModel, viewerTimezone } from './schedule-model.js';
import { formValues, presentScheduleRow, submittedValues, type ScheduleFormValues } from './schedule-presenter.js';

const short = z.string().max(200).optional();
/** The schedule form as the browser sends it; ranges and plan limits are the domain's to judge. */
export const scheduleForm = z.object({
  name: text,
  enabled: z.enum(['1', '0']).optional(),
  days: z.union([short, z.array(z.string().max(200)).max(7)]),
  hour: short,
  minute: short,
  timezone: short,
  keep: short,
  includeMemory: checkbox,
  // The form's Preview button: show what the entered values would rotate instead of saving them.
  preview: z.literal('1').optional(),
});
const deleteForm = z.object({ confirm: checkbox });
const enabledForm = z.object({ enabled: z.enum(['1', '0']) });

const FLASHES = new Set(['created', 'updated', 'deleted', 'enabled', 'disabled']);

/** The form's fields in the shape the domain's normalizeSchedule reads. */
function domainInput(form: z.output<typeof scheduleForm>): Record<string, unknown> {
  return {
    name: form.name ?? '', enabled: form.enabled !== '0', days: form.days === undefined ? [] : ([] as string[]).concat(form.days),
    hour: form.hour, minute: form.minute, timezone: form.timezone, keep: form.keep, includeMemory: form.includeMemory,
  };
}

type Extra = { values?: ScheduleFormValues; error?: SnapshotError; preview?: RetentionPreviewView };

/**
 * The Snapshot Schedule tab: /services/:serviceId/snapshots/schedules with create, edit, delete (after
 * a confirm page) and enable/disable. Every POST carries the CSRF token; works without JavaScript.
 */
export function scheduleRouter(ctx: ModuleContext, csrf: ReturnType<typeof csrfProtection>): Router {
  const router = express.Router();
  const base = '/services/:serviceId/snapshots/schedules';
  const listPath = (req: Request) => `${snapshotsPath(String(req.params.serviceId))}/schedules`;
  const back = (req: Request, flash: string) => `${listPath(req)}?flash=${flash}`;
  const scheduleOf = (req: Request, service: Parameters<typeof ctx.schedules.get>[0]) =>
    ctx.schedules.get(service, parseId(req.params.scheduleId as string, 'schedule'));

  async function showList(req: Request, res: Response, extra: Extra = {}) {
    const service = await authorizedService(ctx, req, 'view');
    const model = await loadSchedulesModel(ctx, req, service);
    const flash = FLASHES.has(String(req.query.flash)) ? req.t(`schedules:flash.${String(req.query.flash)}`) : null;
    const values = extra.values ?? formValues(null, { timezone: viewerTimezone(ctx, req), keep: Math.min(3, model.limits.maxKeep) });
    await renderPage(ctx, req, res, 'client/schedules', {
      ...model, tab: 'schedules', flash, error: extra.error ? presentError(req, extra.error) : null, values, preview: extra.preview ?? null,
    }, { title: req.t('schedules:title'), service, status: extra.error?.status });
  }

  /** The edit or delete page of one schedule. */
  async function showOne(page: 'edit' | 'delete', req: Request, res: Response, extra: Extra = {}) {
    const service = await authorizedService(ctx, req, 'view');
    const schedule: Schedule = await scheduleOf(req, service);
    const choices = await loadFormChoices(ctx, req, service, schedule);
    const [next] = (await ctx.schedules.list(service)).filter((x) => x.schedule.id === schedule.id);
    const tz = viewerTimezone(ctx, req);
    const row = presentScheduleRow(req.t, req.language, ctx.formatters.get(req.language, tz), tz, schedule, next?.nextRun ?? null);
    await renderPage(ctx, req, res, `client/schedule-${page}`, {
      ...choices, tab: 'schedules', service: { id: service.id, name: service.name, status: service.status }, row,
      values: extra.values ?? formValues(schedule, { timezone: schedule.timezone, keep: schedule.keep }),
      error: extra.error ? presentError(req, extra.error) : null, preview: extra.preview ?? null,
      basePath: snapshotsPath(service.id), schedulesPath: listPath(req),
    }, { title: req.t(`schedules:${page}.title`), service, status: extra.error?.status });
  }

  /** The entered values shown again with what their next runs would rotate; nothing saved. */
  async function showPreview(req: Request, res: Response, form: z.output<typeof scheduleForm>, service: PanelService, scheduleId: number | null,
    show: (req: Request, res: Response, extra: Extra) => Promise<void>) {
    const { input, preview } = await loadPreview(ctx, service, scheduleId, domainInput(form));
    const view = presentRetentionPreview(req.t, req.language, viewerTimezone(ctx, req), preview, input.enabled);
    await show(req, res, { values: submittedValues(req.body ?? {}), preview: view });
  }

  const action = (handler: Parameters<typeof formAction>[1], rerender: Parameters<typeof formAction>[2]) => formAction(ctx, handler, rerender);
  const rerenderWithInput = (show: (req: Request, res: Response, extra: Extra) => Promise<void>) =>
    (req: Request, res: Response, error: SnapshotError) => show(req, res, { values: submittedValues(req.body ?? {}), error });

  router.get(base, csrf.issue, (req, res) => showList(req, res));
  router.post(base, ...bodyParsers(), csrf.verify, csrf.issue, action(async (req, res) => {
    const form = parse(scheduleForm, req.body);
    const service = await authorizedService(ctx, req, 'schedule');
    if (form.preview) return showPreview(req, res, form, service, null, showList);
    await ctx.schedules.create(service, domainInput(form), actionContext(req));
    res.redirect(303, back(req, 'created'));
  }, rerenderWithInput(showList)));

  const showEdit = (req: Request, res: Response, extra?: Extra) => showOne('edit', req, res, extra);
  router.get(`${base}/:scheduleId/edit`, csrf.issue, (req, res) => showEdit(req, res));
  router.post(`${base}/:scheduleId/edit`, ...bodyParsers(), csrf.verify, csrf.issue, action(async (req, res) => {
    const form = parse(scheduleForm, req.body);
    const service = await authorizedService(ctx, req, 'schedule');
    const current = await scheduleOf(req, service);
    if (form.preview) return showPreview(req, res, form, service, current.id, showEdit);
    await ctx.schedules.update(service, current.id, domainInput(form), actionContext(req));
    res.redirect(303, back(req, 'updated'));
  }, rerenderWithInput(showEdit)));

  const showDelete = (req: Request, res: Response, extra?: Extra) => showOne('delete', req, res, extra);
  router.get(`${base}/:scheduleId/delete`, csrf.issue, (req, res) => showDelete(req, res));
  router.post(`${base}/:scheduleId/delete`, ...bodyParsers(), csrf.verify, csrf.issue, action(async (req, res) => {
    const { confirm } = parse(deleteForm, req.body);
    const service = await authorizedService(ctx, req, 'schedule');
    const current = await scheduleOf(req, service);
    if (!confirm) throw new ValidationError({ confirm: { code: 'confirm_required' } });
    await ctx.schedules.remove(service, current.id, actionContext(req));
    res.redirect(303, back(req, 'deleted'));
  }, (req, res, error) => showDelete(req, res, { error })));

  router.post(`${base}/:scheduleId/enabled`, ...bodyParsers(), csrf.verify, csrf.issue, action(async (req, res) => {
    const { enabled } = parse(enabledForm, req.body);
    const service = await authorizedService(ctx, req, 'schedule');
    const current = await scheduleOf(req, service);
    await ctx.schedules.setEnabled(service, current.id, enabled === '1', actionContext(req));
    res.redirect(303, back(req, enabled === '1' ? 'enabled' : 'disabled'));
  }, (req, res, error) => showList(req, res, { error })));

  return router;
}
