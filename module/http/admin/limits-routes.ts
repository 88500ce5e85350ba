import type { Request, Response, Router } from 'express';
import { z } from 'zod';
import type { AdminLimitsService } from '../../domain/admin-limits.js';
import { SnapshotError } from '../../domain/errors.js';
import { LIMIT_BOUNDS } from '../../domain/limit-sources.js';
import type { PlanLimits } from '../../domain/limits.js';
import { actionContext } from '../common/actor.js';
import type { ModuleContext } from '../common/module-context.js';
import { ADMIN_BASE, checkbox, FIELD, parseInput, redirectBack, renderAdmin } from './admin-kit.js';
import type { AdminPageDeps } from './page-deps.js';
import { limitsPath, presentLimitsForm, presentLimitsTable } from './limits-presenter.js';

/** A whole number in a range, typed into a form. */
export const limitNumber = (b: { min: number; max: number }) =>
  z.string().trim().regex(/^\d{1,7}$/).transform(Number).pipe(z.number().int().min(b.min).max(b.max));

const limitsForm = z.object({
  maxSnapshots: limitNumber(LIMIT_BOUNDS.maxSnapshots),
  maxSchedules: limitNumber(LIMIT_BOUNDS.maxSchedules),
  maxKeep: limitNumber(LIMIT_BOUNDS.maxKeep),
  memoryAllowed: checkbox,
  schedulesAllowed: checkbox,
  cloneAllowed: checkbox,
});

/** Field error of each numeric limit, saying its range. */
export const NUMBER_CODES = Object.fromEntries(Object.entries(LIMIT_BOUNDS).map(([f, b]) => [f, { code: FIELD.number, params: b }]));

const PLAN_ID = /^[\w.:*-]{1,64}$/;

/** Plans the panel lists (id → name), or none when the panel has no `listPlans`. */
async function panelPlans(ctx: ModuleContext): Promise<Map<string, string>> {
  const plans = (await ctx.panel.listPlans?.()) ?? [];
  return new Map(plans.map((p) => [String(p.id), String(p.name)]));
}

/** Plan limits: the table of plans and the '*' default, one edit form per plan, "inherit default". */
export function limitsRoutes(router: Router, ctx: ModuleContext, deps: AdminPageDeps): void {
  const service: AdminLimitsService = deps.limits;

  /** The plan of a route, if the admin may edit it: the default, a listed plan, or one with a row. */
  async function knownPlan(req: Request): Promise<{ planId: string; name: string }> {
    const planId = String(req.params.planId);
    const names = await panelPlans(ctx);
    if (PLAN_ID.test(planId) && (planId === '*' || names.has(planId) || (await service.configuredPlanIds()).includes(planId))) {
      return { planId, name: planId === '*' ? req.t('admin:limits.default_name') : names.get(planId) ?? planId };
    }
    throw new SnapshotError('route_not_found', 404);
  }

  router.get(`${ADMIN_BASE}/limits`, deps.csrf.issue, async (req, res) => {
    const names = await panelPlans(ctx);
    const ids = [...new Set([...names.keys(), ...(await service.configuredPlanIds())])];
    const data = await service.listPlans(ids);
    await renderAdmin(ctx, req, res, 'limits', 'limits', presentLimitsTable(req.t, { ...data, names, listed: new Set(names.keys()) }),
      { title: req.t('admin:nav.limits') });
  });

  const showForm = async (req: Request, res: Response, extra: { form?: Record<string, unknown>; error?: SnapshotError } = {}) => {
    const plan = await knownPlan(req);
    const data = await service.listPlans([plan.planId]);
    const own = plan.planId === '*' ? data.defaultRow : data.plans[0]!.own;
    const effective = plan.planId === '*' ? data.defaultEffective : data.plans[0]!.effective;
    await renderAdmin(ctx, req, res, 'limit-edit', 'limits', { ...presentLimitsForm(req.t, { ...plan, own, effective, form: extra.form }) },
      { title: req.t('admin:limits.edit_title', { name: plan.name }), error: extra.error });
  };

  router.get(`${ADMIN_BASE}/limits/:planId`, deps.csrf.issue, async (req, res) => showForm(req, res));

  router.post(`${ADMIN_BASE}/limits/:planId`, ...deps.post, deps.formAction(async (req, res) => {
    const plan = await knownPlan(req);
    const form = parseInput(limitsForm, req.body, NUMBER_CODES);
    const limits: PlanLimits = { ...form };
    const applied = await service.setPlanLimits(plan.planId, limits, actionContext(req));
    redirectBack(req, res, `${ADMIN_BASE}/limits`, applied === 'queued' ? 'limits_saved_queued' : 'limits_saved');
  }, (req, res, error) => showForm(req, res, { form: req.body ?? {}, error })));

  router.post(`${ADMIN_BASE}/limits/:planId/inherit`, ...deps.post, deps.formAction(async (req, res) => {
    const plan = await knownPlan(req);
    const applied = await service.inheritDefault(plan.planId, actionContext(req));
    redirectBack(req, res, limitsPath(plan.planId), applied === 'queued' ? 'limits_inherited_queued' : 'limits_inherited');
  }, (req, res, error) => showForm(req, res, { error })));
}
