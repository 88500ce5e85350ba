import type { Knex } from 'knex';
import type { DomainDeps } from '../domain/deps.js';
import { isSnapshotError } from '../domain/errors.js';
import { clampSchedule } from '../domain/plan-change.js';
import { snapshotsBeyondKeep } from '../domain/retention.js';
import type { SnapshotService } from '../domain/snapshot-service.js';
import type { NewAuditEvent } from '../db/audit-repo.js';
import type { StateAndLimits } from '../db/services-repo.js';
import type { PlanLimits } from '../domain/limits.js';
import type { PanelService, Schedule, Snapshot } from '../domain/types.js';
import type { RetentionReads } from './retention-reads.js';

/** 'already_run': the occurrence was run before (a run repeated after its worker died); nothing done. */
export type RunResult = 'started' | 'limit_reached' | 'paused' | 'disabled' | 'gone' | 'failed' | 'missed' | 'already_run';

/** Rolls a scheduled create back: its occurrence turned out to be recorded already. */
class AlreadyRun extends Error {}

export interface ScheduleRunDeps {
  deps: DomainDeps;
  snapshots: SnapshotService;
  /** The service as the module sees it (panel record with the module's suspension flags). */
  loadService(serviceId: string): Promise<PanelService | null>;
  /** The service with its limits from the state and limit rows read with its schedule (see SchedulesRepo.getWithService). */
  serviceFromRecorded(serviceId: string, recorded: StateAndLimits): Promise<{ service: PanelService; limits: PlanLimits } | null>;
  /** This module instance's name formatters (see scheduledSnapshotName). */
  nameFormats: NameFormats;
  /** Drops the job of a schedule its limits turned off (the plan no longer has schedules). */
  unschedule(scheduleId: number): Promise<void>;
  /** What retention decides on, read for the schedules whose snapshots end together. */
  retention: RetentionReads;
}

/** Formatters of scheduled snapshots' names by timezone (building one costs more than a whole run's queries). */
export type NameFormats = Map<string, Intl.DateTimeFormat>;

/** "Nightly · 2026-11-22 03:00" in the schedule's own timezone, so names sort and read naturally. */
export function scheduledSnapshotName(schedule: Schedule, at: Date, formats: NameFormats = new Map()): string {
  let format = formats.get(schedule.timezone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-CA', {
      timeZone: schedule.timezone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
    });
    // IANA zones are a few hundred: the map stays small without eviction.
    formats.set(schedule.timezone, format);
  }
  const p = Object.fromEntries(format.formatToParts(at).map((x) => [x.type, x.value]));
  const stamp = `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}`;
  return [...`${schedule.name} · ${stamp}`].slice(-64).join('');
}

/** Who acts in a scheduled run: the schedule itself. */
export const scheduleContext = (schedule: Schedule) => ({ actor: { type: 'schedule' as const, id: String(schedule.id) } });

/** The audit event of a run's outcome. */
export function scheduleRunEvent(schedule: Schedule, at: Date, result: RunResult, code: string | null): NewAuditEvent {
  return {
    actor: scheduleContext(schedule).actor, serviceId: schedule.serviceId, action: 'schedule.run',
    result: result === 'started' ? 'ok' : result === 'failed' ? 'failed' : 'refused', code: code ?? (result === 'started' ? null : result),
    // The occurrence it stands for: how late the run started is the event's time minus this.
    details: { scheduleId: schedule.id, name: schedule.name, occurrence: at.toISOString() },
  };
}

/**
 * One run of a weekly schedule: paused while the service is suspended; when the limit
 * would block the snapshot, its create rotates the schedule's own oldest unpinned snapshots first;
 * when nothing can be rotated, skip with "limit reached", delete nothing, and notify. The outcome is
 * stored on the schedule and audited (with the snapshot, in its transaction, when one is taken);
 * retention after success runs when the snapshot becomes active.
 */
export async function runSchedule(r: ScheduleRunDeps, scheduleId: number, at = new Date()): Promise<RunResult> {
  const { repos, notifier } = r.deps;
  // The schedule, its service's state and limits: one statement.
  const read = await repos.schedules.getWithService(scheduleId);
  if (!read) return 'gone';
  const { schedule } = read;
  // Each occurrence runs once: a run repeated after its worker died mid-run finds it recorded.
  if (schedule.lastRunAt && schedule.lastRunAt.getTime() >= at.getTime()) return 'already_run';
  const ctx = scheduleContext(schedule);
  const outcome = (result: RunResult, code: string | null) => ({
    patch: { lastRunAt: at, lastResult: result, lastError: code }, event: scheduleRunEvent(schedule, at, result, code),
  });
  const finish = async (result: RunResult, code: string | null = null) => {
    const { patch, event } = outcome(result, code);
    await repos.schedules.update(schedule.id, patch);
    await repos.audit.record(event);
    return result;
  };
  if (!schedule.enabled) return finish('disabled');
  const loaded = await r.serviceFromRecorded(schedule.serviceId, read.recorded);
  if (!loaded || loaded.service.status === 'terminated') return finish('gone');
  const { service, limits } = loaded;
  if (service.status === 'suspended') return finish('paused');

  // Limits an admin lowered since the schedule was saved apply from its next run, as a plan change
  // applies them at once: keep clamped, memory off, the schedule off when the plan has none.
  const adjusted = clampSchedule(limits, schedule);
  if (adjusted) {
    const { id, ...patch } = adjusted;
    await repos.schedules.update(id, patch);
    Object.assign(schedule, patch);
    if (patch.enabled === false) {
      await r.unschedule(id);
      return finish('disabled', patch.disabledReason ?? null);
    }
  }
  try {
    const includeMemory = schedule.includeMemory && limits.memoryAllowed;
    // The run's outcome commits with its snapshot: one commit, and never one without the other.
    const alongside = async (_s: Snapshot, trx: Knex.Transaction) => {
      const { patch, event } = outcome('started', null);
      // Two runs of one occurrence (one outliving its lock) both got past the check above: one records it.
      if (!(await repos.schedules.recordRun(schedule.id, patch, trx))) throw new AlreadyRun();
      return [event];
    };
    await r.snapshots.create(service, { name: scheduledSnapshotName(schedule, at, r.nameFormats), includeMemory }, ctx,
      { origin: 'schedule', scheduleId: schedule.id, limits, alongside });
    return 'started';
  } catch (err) {
    if (err instanceof AlreadyRun) return 'already_run';
    const code = isSnapshotError(err) ? err.code : 'internal_error';
    // Suspended or terminated after the run read the service: decided under its lock, as for people.
    if (code === 'service_suspended') return finish('paused');
    if (code === 'service_terminated') return finish('gone');
    if (code === 'snapshot_limit_reached') {
      await notifier.notify({ type: 'schedule_skipped', serviceId: service.id, params: { name: schedule.name }, cause: ctx.actor });
      return finish('limit_reached', code);
    }
    await notifier.notify({ type: 'schedule_failed', serviceId: service.id, params: { name: schedule.name, code }, cause: ctx.actor });
    return finish('failed', code);
  }
}

/**
 * After a scheduled snapshot became active: delete that schedule's oldest unpinned snapshots beyond
 * its keep count. Manual and pinned snapshots are never touched. The schedule's `ok` was recorded
 * with the snapshot's outcome (module/operations/outcome-batcher.ts).
 */
export async function applyRetention(r: ScheduleRunDeps, snapshot: Snapshot): Promise<number[]> {
  if (snapshot.origin !== 'schedule' || snapshot.scheduleId === null) return [];
  const scheduleId = snapshot.scheduleId;
  // One statement, shared with the retention of the outcomes written with this one.
  const read = await r.retention.read(scheduleId);
  const excess = read ? snapshotsBeyondKeep(scheduleId, read.keep, read.snapshots) : [];
  if (!excess.length) return [];
  // Only a rotation needs the service (and a service gone by now rotates nothing).
  const service = await r.loadService(snapshot.serviceId);
  return service ? r.snapshots.rotate(service, excess, { actor: { type: 'schedule', id: String(scheduleId) } }) : [];
}

/** A scheduled create ended: retention on success; on failure the schedule shows it and the customer hears. */
export async function onScheduledCreateSettled(r: ScheduleRunDeps, snapshot: Snapshot, ok: boolean, code: string | null): Promise<void> {
  if (snapshot.origin !== 'schedule' || snapshot.scheduleId === null) return;
  if (ok) {
    await applyRetention(r, snapshot);
    return;
  }
  await r.deps.repos.schedules.update(snapshot.scheduleId, { lastResult: 'failed', lastError: code });
  // `name` is the schedule's, as in every schedule_* notification; the template shows the reason.
  const schedule = await r.deps.repos.schedules.get(snapshot.scheduleId);
  await r.deps.notifier.notify({
    type: 'schedule_failed', serviceId: snapshot.serviceId, params: { name: schedule?.name ?? snapshot.name, ...(code ? { code } : {}) },
  });
}

/** An occurrence the panel was down for, past the grace window: recorded, not run late. */
export async function recordMissed(r: ScheduleRunDeps, scheduleId: number, at: Date): Promise<void> {
  const schedule = await r.deps.repos.schedules.get(scheduleId);
  if (!schedule) return;
  // Audited before the schedule says so: whoever sees "missed" on the schedule finds its record.
  await r.deps.repos.audit.record({
    actor: { type: 'schedule', id: String(schedule.id) }, serviceId: schedule.serviceId, action: 'schedule.run', result: 'refused',
    code: 'missed', details: { scheduleId: schedule.id, name: schedule.name, occurrence: at.toISOString() },
  });
  await r.deps.repos.schedules.update(schedule.id, { lastResult: 'missed', lastError: null });
}
