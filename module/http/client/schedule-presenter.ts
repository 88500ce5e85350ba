import type { TFunction } from 'i18next';
import type { PlanLimits } from '../../domain/limits.js';
import type { PanelService, Schedule } from '../../domain/types.js';
import { snapshotsPath } from '../common/paths.js';
import { clockOf, type Formatters } from '../common/formatters.js';
import { fromNow, shortZone, zoneName, type ZoneChoice } from '../common/zones.js';
import { dateTimeFormat } from '../common/intl-cache.js';

/** Weekday names in `lng`, Sunday (0) first: 2023-01-01 was a Sunday. */
export function weekdayNames(lng: string, width: 'long' | 'short' = 'long'): string[] {
  const f = dateTimeFormat(lng, { weekday: width, timeZone: 'UTC' });
  return Array.from({ length: 7 }, (_, d) => f.format(new Date(Date.UTC(2023, 0, 1 + d))));
}

/** A wall-clock time (hour, minute) on the clock of every other time in `lng` (clockOf): 3:15 AM, 03:15, 3:15. */
export function wallTime(lng: string, hour: number, minute: number): string {
  return dateTimeFormat(lng, { timeStyle: 'short', timeZone: 'UTC', ...clockOf(lng) })
    .format(new Date(Date.UTC(2000, 0, 1, hour, minute)));
}

/** An hour of the form's hour field on that same clock: 3 AM, 3시, 3時. */
export function hourLabel(lng: string, hour: number): string {
  return dateTimeFormat(lng, { hour: 'numeric', timeZone: 'UTC', ...clockOf(lng) }).format(new Date(Date.UTC(2000, 0, 1, hour)));
}

export interface ScheduleRow {
  id: number;
  name: string;
  enabled: boolean;
  statusLabel: string;
  disabledReason: string | null;
  days: string;
  time: string;
  nextRun: string;
  /** When the next run is from now ("in 2 days"), or null when none is scheduled. */
  nextRunIn: string | null;
  nextRunIso: string | null;
  keep: number;
  includeMemory: boolean;
  lastResult: string | null;
  lastRun: string;
  lastRunIso: string | null;
  /** What the next run would rotate (see presentPreviewLine); null when it has none. */
  retention: string | null;
}

/** What a schedule form shows: the values to put back into the fields. */
export interface ScheduleFormValues {
  name: string;
  enabled: boolean;
  days: number[];
  hour: number | string;
  minute: number | string;
  timezone: string;
  keep: number | string;
  includeMemory: boolean;
}

export interface ScheduleFormChoices {
  weekdays: { value: number; label: string }[];
  hours: { value: number; label: string }[];
  minutes: { value: number; label: string }[];
  timezones: ZoneChoice[];
  memoryAvailable: boolean;
  memoryReason: string | null;
  limits: PlanLimits;
}

export interface SchedulesPageModel extends ScheduleFormChoices {
  service: { id: string; name: string; status: PanelService['status'] };
  rows: ScheduleRow[];
  used: number;
  canCreate: boolean;
  atLimit: boolean;
  readOnly: boolean;
  basePath: string;
  schedulesPath: string;
}

const pad = (n: number) => String(n).padStart(2, '0');

/** The choices of the schedule form in the user's language, with the plan's limits. */
export function presentFormChoices(input: { t: TFunction; lng: string; limits: PlanLimits; memoryCapable: boolean; timezones: ZoneChoice[] }): ScheduleFormChoices {
  const { t, limits } = input;
  const names = weekdayNames(input.lng);
  const memoryAvailable = limits.memoryAllowed && input.memoryCapable;
  return {
    // Monday first reads naturally in ko, ja and most of en; values stay 0 = Sunday.
    weekdays: [1, 2, 3, 4, 5, 6, 0].map((d) => ({ value: d, label: names[d]! })),
    hours: Array.from({ length: 24 }, (_, h) => ({ value: h, label: hourLabel(input.lng, h) })),
    minutes: Array.from({ length: 60 }, (_, m) => ({ value: m, label: pad(m) })),
    timezones: input.timezones,
    memoryAvailable,
    memoryReason: memoryAvailable ? null : t(limits.memoryAllowed ? 'errors:memory_unsupported_by_hypervisor' : 'errors:memory_not_in_plan'),
    limits,
  };
}

/** The values a form starts with: the schedule being edited, or sensible defaults for a new one. */
export function formValues(s: Schedule | null, defaults: { timezone: string; keep: number }): ScheduleFormValues {
  if (s) return { name: s.name, enabled: s.enabled, days: s.days, hour: s.hour, minute: s.minute, timezone: s.timezone, keep: s.keep, includeMemory: s.includeMemory };
  return { name: '', enabled: true, days: [], hour: 3, minute: 0, timezone: defaults.timezone, keep: defaults.keep, includeMemory: false };
}

/** A submitted form's values as the user typed them, for showing the form again after a refusal. */
export function submittedValues(raw: Record<string, unknown>): ScheduleFormValues {
  const days = ([] as unknown[]).concat(raw.days ?? []).filter((d) => typeof d === 'string' && /^[0-6]$/.test(d)).map(Number);
  const str = (v: unknown) => (typeof v === 'string' ? v : '');
  return {
    name: str(raw.name), enabled: raw.enabled !== '0', days, hour: str(raw.hour), minute: str(raw.minute),
    timezone: str(raw.timezone), keep: str(raw.keep), includeMemory: ['on', '1', 'true'].includes(str(raw.includeMemory)),
  };
}

/**
 * One schedule as the list shows it: its time in its own zone, named in the user's language; the next
 * run in the user's zone (`fmt`, `timeZone`), with that zone said and how far off it is.
 */
export function presentScheduleRow(t: TFunction, lng: string, fmt: Formatters, timeZone: string, s: Schedule, nextRun: Date | null,
  now = new Date(), retention: string | null = null): ScheduleRow {
  const names = weekdayNames(lng, 'short');
  const days = s.days.length === 7 ? t('schedules:every_day') : [1, 2, 3, 4, 5, 6, 0].filter((d) => s.days.includes(d)).map((d) => names[d]).join(', ');
  const result = s.lastResult ? t(`schedules:last_result.${s.lastResult}`, { defaultValue: s.lastResult }) : null;
  const reason = s.lastResult === 'failed' && s.lastError ? t(`errors:${s.lastError}`, { defaultValue: t('errors:driver_rejected') }) : null;
  return {
    id: s.id,
    name: s.name,
    enabled: s.enabled,
    statusLabel: t(s.enabled ? 'schedules:status.enabled' : 'schedules:status.disabled'),
    disabledReason: !s.enabled && s.disabledReason ? t(`schedules:disabled_reason.${s.disabledReason}`, { defaultValue: '' }) || null : null,
    days,
    time: t('schedules:time_in_zone', { time: wallTime(lng, s.hour, s.minute), timezone: zoneName(lng, s.timezone, nextRun ?? now) }),
    nextRun: nextRun ? `${fmt.date(nextRun)} ${shortZone(lng, timeZone, nextRun)}` : t('schedules:not_scheduled'),
    nextRunIn: nextRun ? fromNow(lng, timeZone, nextRun, now) : null,
    nextRunIso: nextRun?.toISOString() ?? null,
    keep: s.keep,
    includeMemory: s.includeMemory,
    lastResult: result && reason ? `${result}: ${reason}` : result,
    lastRun: s.lastRunAt ? fmt.date(s.lastRunAt) : t('schedules:never_run'),
    lastRunIso: s.lastRunAt?.toISOString() ?? null,
    retention,
  };
}

/** The Snapshot Schedule tab: the list, and whether (and within which limits) a new one may be made. */
export function presentSchedulesPage(input: {
  t: TFunction; lng: string; fmt: Formatters; timeZone: string; service: PanelService; schedules: { schedule: Schedule; nextRun: Date | null; retention?: string | null }[];
  choices: ScheduleFormChoices; readOnly: boolean;
}): SchedulesPageModel {
  const { limits } = input.choices;
  const used = input.schedules.length;
  const atLimit = used >= limits.maxSchedules;
  return {
    ...input.choices,
    service: { id: input.service.id, name: input.service.name, status: input.service.status },
    rows: input.schedules.map(({ schedule, nextRun, retention }) =>
      presentScheduleRow(input.t, input.lng, input.fmt, input.timeZone, schedule, nextRun, new Date(), retention ?? null)),
    used,
    atLimit,
    canCreate: !input.readOnly && limits.schedulesAllowed && !atLimit,
    readOnly: input.readOnly,
    basePath: snapshotsPath(input.service.id),
    schedulesPath: `${snapshotsPath(input.service.id)}/schedules`,
  };
}
