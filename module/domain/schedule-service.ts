import type { ActionContext, DomainDeps } from './deps.js';
import { ConflictError, NotFoundError } from './errors.js';
import { normalizeSchedule } from './schedules.js';
import type { PanelService, Schedule } from './types.js';

/** What the domain needs from the job scheduler; Agenda implements it in module/scheduler. */
export interface SchedulerPort {
  /** Creates or updates the schedule's job (removing it when the schedule is disabled). */
  sync(schedule: Schedule): Promise<void>;
  remove(scheduleId: number): Promise<void>;
  /** When the schedule runs next, as the job store has it; null when it does not run. */
  nextRuns(scheduleIds: number[]): Promise<Map<number, Date | null>>;
}

/** Weekly snapshot schedules of a service: limits of the plan apply to count, keep and memory. */
export class ScheduleService {
  constructor(private readonly deps: DomainDeps, private readonly scheduler: () => SchedulerPort | null) {}

  async list(service: PanelService): Promise<{ schedule: Schedule; nextRun: Date | null }[]> {
    const schedules = await this.deps.repos.schedules.listForService(service.id);
    const next = (await this.scheduler()?.nextRuns(schedules.map((s) => s.id))) ?? new Map<number, Date | null>();
    return schedules.map((schedule) => ({ schedule, nextRun: next.get(schedule.id) ?? null }));
  }

  async get(service: PanelService, id: number): Promise<Schedule> {
    const s = Number.isSafeInteger(id) ? await this.deps.repos.schedules.get(id) : null;
    if (!s || s.serviceId !== service.id) throw new NotFoundError('schedule');
    return s;
  }

  /** Creates a schedule; the count check and insert run under the service row lock. */
  async create(service: PanelService, raw: Record<string, unknown>, ctx: ActionContext): Promise<Schedule> {
    const { repos } = this.deps;
    const limits = await this.deps.limits.forService(service.id, service.planId);
    if (!limits.schedulesAllowed) throw new ConflictError('schedules_not_in_plan');
    const input = await this.validate(service, raw);
    await repos.services.ensure(service.id, service.planId);
    const id = await this.deps.transaction(async (trx) => {
      await repos.services.lock(trx, service.id);
      const count = (await repos.schedules.listForService(service.id, trx)).length;
      if (count >= limits.maxSchedules) throw new ConflictError('schedule_limit_reached', { limit: limits.maxSchedules });
      return repos.schedules.insert({ serviceId: service.id, ...input }, trx);
    });
    const schedule = (await repos.schedules.get(id))!;
    await this.scheduler()?.sync(schedule);
    await this.audit(ctx, service, 'schedule.create', schedule);
    return schedule;
  }

  async update(service: PanelService, id: number, raw: Record<string, unknown>, ctx: ActionContext): Promise<Schedule> {
    const current = await this.get(service, id);
    const input = await this.validate(service, raw);
    // An edit must not switch back on a schedule the plan no longer allows (setEnabled checks the same).
    if (input.enabled && !current.enabled) await this.assertMayEnable(service, current.id);
    await this.deps.repos.schedules.update(current.id, { ...input, disabledReason: input.enabled ? null : current.disabledReason });
    const schedule = (await this.deps.repos.schedules.get(current.id))!;
    await this.scheduler()?.sync(schedule);
    await this.audit(ctx, service, 'schedule.update', schedule);
    return schedule;
  }

  /** Turns a schedule on or off; turning on re-checks the plan (see assertMayEnable). */
  async setEnabled(service: PanelService, id: number, enabled: boolean, ctx: ActionContext): Promise<Schedule> {
    const current = await this.get(service, id);
    if (enabled && !current.enabled) await this.assertMayEnable(service, current.id);
    await this.deps.repos.schedules.update(current.id, { enabled, disabledReason: null });
    const schedule = { ...current, enabled, disabledReason: null };
    await this.scheduler()?.sync(schedule);
    await this.audit(ctx, service, enabled ? 'schedule.enable' : 'schedule.disable', schedule);
    return schedule;
  }

  /** Removes the schedule; its snapshots stay (they show "deleted schedule" as their origin). */
  async remove(service: PanelService, id: number, ctx: ActionContext): Promise<void> {
    const current = await this.get(service, id);
    await this.deps.repos.schedules.remove(current.id);
    await this.scheduler()?.remove(current.id);
    await this.audit(ctx, service, 'schedule.delete', current);
  }

  /**
   * Turning a schedule on needs a plan with schedules and, after a downgrade left more schedules than
   * the plan allows (the extra ones disabled), a free place among the enabled ones.
   */
  private async assertMayEnable(service: PanelService, id: number): Promise<void> {
    const limits = await this.deps.limits.forService(service.id, service.planId);
    if (!limits.schedulesAllowed) throw new ConflictError('schedules_not_in_plan');
    const enabled = (await this.deps.repos.schedules.listForService(service.id)).filter((s) => s.enabled && s.id !== id).length;
    if (enabled >= limits.maxSchedules) throw new ConflictError('schedule_limit_reached', { limit: limits.maxSchedules });
  }

  private async validate(service: PanelService, raw: Record<string, unknown>) {
    const limits = await this.deps.limits.forService(service.id, service.planId);
    const caps = await this.deps.driver(service.target.driver).capabilities(service.target);
    return normalizeSchedule(raw, limits, caps.memory);
  }

  private async audit(ctx: ActionContext, service: PanelService, action: string, s: Schedule): Promise<void> {
    await this.deps.repos.audit.record({
      actor: ctx.actor, ip: ctx.ip, serviceId: service.id, action, result: 'ok',
      details: { scheduleId: s.id, name: s.name, days: s.days, hour: s.hour, minute: s.minute, timezone: s.timezone, keep: s.keep, enabled: s.enabled },
    });
  }
}
