import type { Knex } from 'knex';
import type { ActionContext, DomainDeps } from './deps.js';
import { ConflictError, NotFoundError } from './errors.js';
import { normalizeSchedule } from './schedules.js';
import { lockOpenService } from './service-guard.js';
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
    const id = await this.deps.transaction(async (trx) => {
      await lockOpenService(this.deps, trx, service, ctx);
      const count = (await repos.schedules.listForService(service.id, trx)).length;
      if (count >= limits.maxSchedules) throw new ConflictError('schedule_limit_reached', { limit: limits.maxSchedules });
      const id = await repos.schedules.insert({ serviceId: service.id, ...input }, trx);
      await this.audit(ctx, service, 'schedule.create', { id, ...input }, trx);
      return id;
    });
    const schedule = (await repos.schedules.get(id))!;
    await this.scheduler()?.sync(schedule);
    return schedule;
  }

  async update(service: PanelService, id: number, raw: Record<string, unknown>, ctx: ActionContext): Promise<Schedule> {
    const seen = await this.get(service, id);
    const input = await this.validate(service, raw);
    const schedule = await this.underLock(service, seen.id, ctx, async (trx, current) => {
      // An edit must not switch back on a schedule the plan no longer allows (setEnabled checks the same).
      if (input.enabled && !current.enabled) await this.assertMayEnable(service, current.id, trx);
      const patch = { ...input, disabledReason: input.enabled ? null : current.disabledReason };
      await this.deps.repos.schedules.update(current.id, patch, trx);
      await this.audit(ctx, service, 'schedule.update', { ...current, ...patch }, trx);
      return { ...current, ...patch };
    });
    await this.scheduler()?.sync(schedule);
    return schedule;
  }

  /** Turns a schedule on or off; turning on re-checks the plan (see assertMayEnable). */
  async setEnabled(service: PanelService, id: number, enabled: boolean, ctx: ActionContext): Promise<Schedule> {
    const seen = await this.get(service, id);
    const schedule = await this.underLock(service, seen.id, ctx, async (trx, current) => {
      if (enabled && !current.enabled) await this.assertMayEnable(service, current.id, trx);
      await this.deps.repos.schedules.update(current.id, { enabled, disabledReason: null }, trx);
      await this.audit(ctx, service, enabled ? 'schedule.enable' : 'schedule.disable', { ...current, enabled }, trx);
      return { ...current, enabled, disabledReason: null };
    });
    await this.scheduler()?.sync(schedule);
    return schedule;
  }

  /** Removes the schedule; its snapshots stay (they show "deleted schedule" as their origin). */
  async remove(service: PanelService, id: number, ctx: ActionContext): Promise<void> {
    const seen = await this.get(service, id);
    const current = await this.underLock(service, seen.id, ctx, async (trx, s) => {
      await this.deps.repos.schedules.remove(s.id, trx);
      await this.audit(ctx, service, 'schedule.delete', s, trx);
      return s;
    });
    await this.scheduler()?.remove(current.id);
  }

  /** Runs `fn` on the schedule as read under the service's row lock (refused when the service is closed to the actor). */
  private underLock<T>(service: PanelService, id: number, ctx: ActionContext, fn: (trx: Knex.Transaction, s: Schedule) => Promise<T>): Promise<T> {
    return this.deps.transaction(async (trx) => {
      await lockOpenService(this.deps, trx, service, ctx);
      const s = await this.deps.repos.schedules.get(id, trx);
      if (!s || s.serviceId !== service.id) throw new NotFoundError('schedule');
      return fn(trx, s);
    });
  }

  /**
   * Turning a schedule on needs a plan with schedules and, after a downgrade left more schedules than
   * the plan allows (the extra ones disabled), a free place among the enabled ones.
   */
  private async assertMayEnable(service: PanelService, id: number, trx: Knex.Transaction): Promise<void> {
    const limits = await this.deps.limits.forService(service.id, service.planId, trx);
    if (!limits.schedulesAllowed) throw new ConflictError('schedules_not_in_plan');
    const enabled = (await this.deps.repos.schedules.listForService(service.id, trx)).filter((s) => s.enabled && s.id !== id).length;
    if (enabled >= limits.maxSchedules) throw new ConflictError('schedule_limit_reached', { limit: limits.maxSchedules });
  }

  private async validate(service: PanelService, raw: Record<string, unknown>) {
    const limits = await this.deps.limits.forService(service.id, service.planId);
    const caps = await this.deps.driver(service.target.driver).capabilities(service.target);
    return normalizeSchedule(raw, limits, caps.memory);
  }

  private async audit(ctx: ActionContext, service: PanelService, action: string,
    s: Pick<Schedule, 'id' | 'name' | 'days' | 'hour' | 'minute' | 'timezone' | 'keep' | 'enabled'>, trx: Knex.Transaction): Promise<void> {
    await this.deps.repos.audit.record({
      actor: ctx.actor, ip: ctx.ip, serviceId: service.id, action, result: 'ok',
      details: { scheduleId: s.id, name: s.name, days: s.days, hour: s.hour, minute: s.minute, timezone: s.timezone, keep: s.keep, enabled: s.enabled },
    }, trx);
  }
}
