import { mayChange } from '../../domain/authorize.js';
import type { Request } from 'express';
import type { PanelService, Schedule } from '../../domain/types.js';
import type { ModuleContext } from '../shared/module-context.js';
import { zoneChoices } from '../shared/zones.js';
import { presentFormChoices, presentSchedulesPage, type ScheduleFormChoices, type SchedulesPageModel } from './schedule-presenter.js';

/** The viewer's timezone: the panel's user setting, else the module's default. */
export function viewerTimezone(ctx: ModuleContext, req: Request): string {
  return req.snapshotActor?.timezone ?? ctx.config.defaultTimezone;
}

/** The schedule form's choices for `req`'s user under the service's plan and hypervisor. */
export async function loadFormChoices(ctx: ModuleContext, req: Request, service: PanelService, current?: Schedule): Promise<ScheduleFormChoices> {
  const [limits, caps] = await Promise.all([
    ctx.deps.limits.forService(service.id, service.planId),
    ctx.deps.driver(service.target.driver).capabilities(service.target),
  ]);
  return presentFormChoices({
    t: req.t, lng: req.language, limits, memoryCapable: caps.memory, timezones: zoneChoices(req.language, viewerTimezone(ctx, req), [current?.timezone ?? '']),
  });
}

/** The Snapshot Schedule tab of a service, presented for `req`'s user. */
export async function loadSchedulesModel(ctx: ModuleContext, req: Request, service: PanelService): Promise<SchedulesPageModel> {
  const [schedules, choices] = await Promise.all([ctx.schedules.list(service), loadFormChoices(ctx, req, service)]);
  const actor = req.snapshotActor!;
  return presentSchedulesPage({
    t: req.t, lng: req.language, fmt: ctx.formatters.get(req.language, viewerTimezone(ctx, req)), timeZone: viewerTimezone(ctx, req), service, schedules, choices,
    readOnly: !mayChange(actor, service),
  });
}
