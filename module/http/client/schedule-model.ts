import { mayChange } from '../../domain/authorize.js';
import type { Request } from 'express';
import type { PlanLimits } from '../../domain/limits.js';
import { clampSchedule } from '../../domain/plan-change.js';
import { previewRetention, type RetentionPreview } from '../../domain/retention-preview.js';
import { normalizeSchedule, type ScheduleInput } from '../../domain/schedules.js';
import type { PanelService, Schedule, Snapshot } from '../../domain/types.js';
import { upcomingRuns } from '../../scheduler/upcoming-runs.js';
import type { ModuleContext } from '../common/module-context.js';
import { zoneChoices } from '../common/zones.js';
import { presentPreviewLine } from './retention-presenter.js';
import { presentFormChoices, presentSchedulesPage, type ScheduleFormChoices, type SchedulesPageModel } from './schedule-presenter.js';

/** Runs a preview looks ahead: enough to see a lowered keep rotate more than once. */
export const PREVIEW_RUNS = 3;

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

/**
 * What a schedule's next runs would rotate, from the service's snapshots now. `scheduleId` null: a
 * schedule not saved yet. `first`: the job store's next run, when known, so the list agrees with it.
 */
export function previewSchedule(snapshots: Snapshot[], limits: PlanLimits, scheduleId: number | null, s: ScheduleInput,
  first: Date | null = null, now = new Date()): RetentionPreview {
  // A keep the plan lowered since the schedule was saved is clamped at its next run: preview that.
  const keep = clampSchedule(limits, { ...s, id: scheduleId ?? 0, createdAt: now })?.keep ?? s.keep;
  const nextRuns = !s.enabled ? [] : first ? [first, ...upcomingRuns(s, PREVIEW_RUNS - 1, first)] : upcomingRuns(s, PREVIEW_RUNS, now);
  return previewRetention({ scheduleId, keep, limit: limits.maxSnapshots, snapshots, nextRuns });
}

/** A preview of entered values (`raw`, as normalizeSchedule reads them), checked as a save checks them: a wrong field is refused alike. */
export async function loadPreview(ctx: ModuleContext, service: PanelService, scheduleId: number | null, raw: Record<string, unknown>,
): Promise<{ input: ScheduleInput; preview: RetentionPreview }> {
  const [limits, caps, snapshots] = await Promise.all([
    ctx.deps.limits.forService(service.id, service.planId),
    ctx.deps.driver(service.target.driver).capabilities(service.target),
    ctx.deps.repos.snapshots.listForService(service.id),
  ]);
  const input = normalizeSchedule(raw, limits, caps.memory);
  return { input, preview: previewSchedule(snapshots, limits, scheduleId, input) };
}

/** The Snapshot Schedule tab of a service, presented for `req`'s user. */
export async function loadSchedulesModel(ctx: ModuleContext, req: Request, service: PanelService): Promise<SchedulesPageModel> {
  const [schedules, choices, snapshots] = await Promise.all([
    ctx.schedules.list(service), loadFormChoices(ctx, req, service), ctx.deps.repos.snapshots.listForService(service.id),
  ]);
  const actor = req.snapshotActor!;
  const timeZone = viewerTimezone(ctx, req);
  // Only a schedule the job store will run has a next run to preview.
  const withPreview = schedules.map((x) => ({
    ...x, retention: x.nextRun ? presentPreviewLine(req.t, req.language, timeZone, previewSchedule(snapshots, choices.limits, x.schedule.id, x.schedule, x.nextRun)) : null,
  }));
  return presentSchedulesPage({
    t: req.t, lng: req.language, fmt: ctx.formatters.get(req.language, timeZone), timeZone, service, schedules: withPreview, choices,
    readOnly: !mayChange(actor, service),
  });
}
