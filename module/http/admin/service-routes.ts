import type { Request, Response, Router } from 'express';
import { z } from 'zod';
import { isSnapshotError, type SnapshotError } from '../../domain/errors.js';
import { LIMIT_BOUNDS } from '../../domain/limit-sources.js';
import type { LimitOverrides } from '../../domain/limits.js';
import type { PanelService } from '../../domain/types.js';
import { actionContext, loadService } from '../common/actor.js';
import type { ModuleContext } from '../common/module-context.js';
import { snapshotsPath } from '../common/paths.js';
import { ADMIN_BASE, FIELD, optionalText, parseInput, redirectBack, renderAdmin } from './admin-kit.js';
import { limitNumber, NUMBER_CODES } from './limits-routes.js';
import { presentServiceLimits } from './limits-presenter.js';
import type { AdminPageDeps } from './page-deps.js';

/** Blank means "no override": the plan's value applies. */
const optionalLimit = (b: { min: number; max: number }) => z.union([z.literal('').transform(() => undefined), limitNumber(b)]).optional();
const tristate = z.enum(['', 'yes', 'no']).optional().transform((v) => (v === 'yes' ? true : v === 'no' ? false : undefined));

const overridesForm = z.object({
  maxSnapshots: optionalLimit(LIMIT_BOUNDS.maxSnapshots),
  maxSchedules: optionalLimit(LIMIT_BOUNDS.maxSchedules),
  maxKeep: optionalLimit(LIMIT_BOUNDS.maxKeep),
  memoryAllowed: tristate,
  schedulesAllowed: tristate,
  cloneAllowed: tristate,
});
const OVERRIDE_CODES = { ...NUMBER_CODES, memoryAllowed: { code: FIELD.choice }, schedulesAllowed: { code: FIELD.choice }, cloneAllowed: { code: FIELD.choice } };

export const servicePath = (serviceId: string) => `${ADMIN_BASE}/services?serviceId=${encodeURIComponent(serviceId)}`;

/** Per-service overrides: find a service by id, see its effective limits and their sources, set or clear. */
export function serviceRoutes(router: Router, ctx: ModuleContext, deps: AdminPageDeps): void {
  const explained = async (req: Request, service: PanelService, form?: Record<string, unknown>) => {
    const { limits, overrides } = await deps.limits.explain(service);
    return presentServiceLimits(req.t, { explained: limits, overrides, form });
  };
  const show = async (req: Request, res: Response, serviceId: string | undefined, extra: { form?: Record<string, unknown>; error?: SnapshotError } = {}) => {
    let service: PanelService | null = null;
    let error = extra.error;
    if (serviceId) {
      try {
        service = await loadService(ctx, serviceId);
      } catch (err) {
        if (!isSnapshotError(err) || err.status !== 404) throw err;
        error = err;
      }
    }
    const model = service
      ? { service: { id: service.id, name: service.name, ownerId: service.ownerId, planId: service.planId, status: service.status, clientHref: snapshotsPath(service.id) },
        ...(await explained(req, service, extra.form)),
        action: `${ADMIN_BASE}/services/${encodeURIComponent(service.id)}/overrides` }
      : { service: null };
    await renderAdmin(ctx, req, res, 'service', 'services', { ...model, query: serviceId ?? '' },
      { title: req.t('admin:nav.services'), error });
  };

  router.get(`${ADMIN_BASE}/services`, deps.csrf.issue, async (req, res) => {
    const { serviceId } = parseInput(z.object({ serviceId: optionalText(64) }).loose(), req.query, { serviceId: { code: FIELD.text } });
    await show(req, res, serviceId);
  });

  router.post(`${ADMIN_BASE}/services/:serviceId/overrides`, ...deps.post, deps.formAction(async (req, res) => {
    const service = await loadService(ctx, String(req.params.serviceId));
    const overrides: LimitOverrides = parseInput(overridesForm, req.body, OVERRIDE_CODES);
    await deps.limits.setOverrides(service, overrides, actionContext(req));
    redirectBack(req, res, servicePath(service.id), 'overrides_saved');
  }, (req, res, error) => show(req, res, String(req.params.serviceId), { form: req.body ?? {}, error })));

  router.post(`${ADMIN_BASE}/services/:serviceId/overrides/clear`, ...deps.post, deps.formAction(async (req, res) => {
    const service = await loadService(ctx, String(req.params.serviceId));
    await deps.limits.setOverrides(service, {}, actionContext(req));
    redirectBack(req, res, servicePath(service.id), 'overrides_cleared');
  }, (req, res, error) => show(req, res, String(req.params.serviceId), { error })));
}
