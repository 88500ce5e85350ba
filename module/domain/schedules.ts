import { ValidationError } from './errors.js';
import type { PlanLimits } from './limits.js';
import { normalizeSnapshotName } from './names.js';
import { isTimezone } from './timezones.js';
import type { Schedule } from './types.js';

/** A weekly schedule as the user sets it: days of week, local time, retention, memory. */
export type ScheduleInput = Pick<Schedule, 'name' | 'enabled' | 'days' | 'hour' | 'minute' | 'timezone' | 'keep' | 'includeMemory'>;

function intIn(v: unknown, min: number, max: number): number | null {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d{1,4}$/.test(v.trim()) ? Number(v) : NaN;
  return Number.isInteger(n) && n >= min && n <= max ? n : null;
}

/**
 * Validates a schedule against the rules and the plan: at least one day (0 = Sunday … 6), hour 0–23,
 * minute 0–59, an IANA timezone, 1 ≤ keep ≤ the plan's maximum, memory only where allowed. Every
 * wrong field is reported at once.
 */
export function normalizeSchedule(raw: Record<string, unknown>, limits: PlanLimits, memoryCapable: boolean): ScheduleInput {
  const fields: ValidationError['fields'] = {};
  const rawDays = Array.isArray(raw.days) ? raw.days : raw.days === undefined || raw.days === '' ? [] : [raw.days];
  const days = [...new Set(rawDays.map((d) => intIn(d, 0, 6)))].sort();
  if (days.length === 0) fields.days = { code: 'schedule_days_required' };
  else if (days.includes(null)) fields.days = { code: 'schedule_days_invalid' };
  const hour = intIn(raw.hour, 0, 23);
  if (hour === null) fields.hour = { code: 'schedule_hour_invalid' };
  const minute = intIn(raw.minute, 0, 59);
  if (minute === null) fields.minute = { code: 'schedule_minute_invalid' };
  const timezone = typeof raw.timezone === 'string' ? raw.timezone.trim() : '';
  if (!isTimezone(timezone)) fields.timezone = { code: 'schedule_timezone_invalid' };
  const keep = intIn(raw.keep, 1, 1000);
  if (keep === null) fields.keep = { code: 'schedule_keep_invalid', params: { max: limits.maxKeep } };
  else if (keep > limits.maxKeep) fields.keep = { code: 'schedule_keep_over_plan', params: { max: limits.maxKeep } };
  const includeMemory = raw.includeMemory === true;
  if (includeMemory && !limits.memoryAllowed) fields.includeMemory = { code: 'memory_not_in_plan' };
  else if (includeMemory && !memoryCapable) fields.includeMemory = { code: 'memory_unsupported_by_hypervisor' };
  let name = '';
  try {
    name = normalizeSnapshotName(raw.name);
  } catch (e) {
    Object.assign(fields, (e as ValidationError).fields);
  }
  if (Object.keys(fields).length) throw new ValidationError(fields);
  return { name, enabled: raw.enabled !== false, days: days as number[], hour: hour!, minute: minute!, timezone, keep: keep!, includeMemory };
}

/** The cron expression Agenda runs a schedule by (evaluated in the schedule's timezone). */
export function scheduleCron(s: Pick<ScheduleInput, 'days' | 'hour' | 'minute'>): string {
  return `${s.minute} ${s.hour} * * ${[...s.days].sort().join(',')}`;
}
