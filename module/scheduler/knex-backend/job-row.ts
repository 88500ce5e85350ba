import type { Knex } from 'knex';
import { toJobId, type JobParameters } from 'agenda';
import { randomBytes } from 'node:crypto';
import { parseJson, toBool, toDateOrNull, toNumberOrNull } from '../../db/values.js';
import type { JobRow } from './job-table.js';
import { failReasonParam, progressParam } from './text-param.js';

const optDate = (v: unknown): Date | undefined => toDateOrNull(v) ?? undefined;
const optNumber = (v: unknown): number | undefined => toNumberOrNull(v) ?? undefined;
const optString = (v: unknown): string | undefined => (v === null || v === undefined ? undefined : String(v));

/**
 * A value for a DATETIME(3) column. Agenda hands over Dates, but a caller-built JobParameters may carry
 * an ISO string or epoch number, which SQLite would otherwise store verbatim and then mis-compare.
 */
export function dateParam(v: Date | string | number | null | undefined): Date | null {
  if (v === null || v === undefined || v === '') return null;
  const d = v instanceof Date ? v : new Date(v);
  return Number.isNaN(d.getTime()) ? null : d;
}

/**
 * The column holds text, but `every(5000, …)` stores a number and callers compare what they stored;
 * all-digit text can only have come from a millisecond interval (cron and human intervals never are),
 * and Agenda treats 5000 and '5000' alike.
 */
function readInterval(v: unknown): string | number | undefined {
  if (v === null || v === undefined) return undefined;
  const s = String(v);
  return /^\d+$/.test(s) ? Number(s) : s;
}

/** Row → JobParameters, with the same undefined/null conventions as the reference PostgresJobRepository. */
export function rowToJob(row: JobRow): JobParameters {
  return {
    _id: toJobId(String(row.id)),
    name: String(row.name),
    priority: Number(row.priority),
    nextRunAt: toDateOrNull(row.next_run_at),
    type: row.type === 'single' ? 'single' : 'normal',
    lockedAt: optDate(row.locked_at),
    lastFinishedAt: optDate(row.last_finished_at),
    failedAt: optDate(row.failed_at),
    failCount: optNumber(row.fail_count),
    failReason: optString(row.fail_reason),
    repeatTimezone: optString(row.repeat_timezone),
    lastRunAt: optDate(row.last_run_at),
    repeatInterval: readInterval(row.repeat_interval),
    // SQL NULL (a job saved without data) reads back as null, as Postgres does.
    data: parseJson<unknown>(row.data, null),
    repeatAt: optString(row.repeat_at),
    disabled: toBool(row.disabled),
    progress: optNumber(row.progress),
    fork: toBool(row.fork),
    lastModifiedBy: optString(row.last_modified_by),
    debounceStartedAt: optDate(row.debounce_started_at),
    startDate: optDate(row.start_date),
    endDate: optDate(row.end_date),
    skipDays: parseJson<number[] | undefined>(row.skip_days, undefined),
  };
}

/** JSON text for the data column; undefined (no data) becomes SQL NULL like the reference's `$n = undefined`. */
export function dataParam(data: unknown): string | null {
  return data === undefined ? null : JSON.stringify(data);
}

/**
 * The job-definition columns every saveJob path writes (insert, update by id, single and unique
 * upserts), with the reference's `|| null` / `|| false` defaults.
 */
export function definitionColumns(job: JobParameters, lastModifiedBy: string | null) {
  return {
    priority: Number(job.priority),
    // Negated priority: one ascending index then yields the claim order (next run, then priority).
    claim_rank: -Number(job.priority) || 0,
    next_run_at: dateParam(job.nextRunAt),
    type: job.type === 'single' ? 'single' : 'normal',
    repeat_timezone: job.repeatTimezone || null,
    repeat_interval: job.repeatInterval ? String(job.repeatInterval) : null,
    data: dataParam(job.data),
    repeat_at: job.repeatAt || null,
    disabled: job.disabled || false,
    fork: job.fork || false,
    last_modified_by: lastModifiedBy,
    start_date: dateParam(job.startDate),
    end_date: dateParam(job.endDate),
    skip_days: job.skipDays ? JSON.stringify(job.skipDays) : null,
    // New on every definition write: a claim from a list read earlier checks the row is unchanged.
    revision: randomBytes(6).toString('hex'),
  };
}

/** The processor-owned columns saveJobState writes (the reference's exact set). */
export function stateColumns(job: JobParameters, lastModifiedBy: string | null): Record<StateColumn, Knex.Value> {
  return {
    locked_at: dateParam(job.lockedAt),
    next_run_at: dateParam(job.nextRunAt),
    last_run_at: dateParam(job.lastRunAt),
    progress: progressParam(job.progress),
    fail_reason: failReasonParam(job.failReason),
    fail_count: job.failCount ?? null,
    failed_at: dateParam(job.failedAt),
    last_finished_at: dateParam(job.lastFinishedAt),
    last_modified_by: lastModifiedBy,
  };
}

/** The columns a run's bookkeeping writes (saveJobState), in a fixed order for a prebuilt statement. */
export const STATE_COLUMNS = [
  'locked_at', 'next_run_at', 'last_run_at', 'progress', 'fail_reason', 'fail_count', 'failed_at', 'last_finished_at', 'last_modified_by',
] as const;
export type StateColumn = typeof STATE_COLUMNS[number];

/** Rows a raw UPDATE changed: mysql2 answers [ResultSetHeader, fields], better-sqlite3 { changes }. */
export function affectedRows(result: unknown): number {
  const header = Array.isArray(result) ? result[0] : result;
  const r = header as { affectedRows?: number; changes?: number } | undefined;
  return Number(r?.affectedRows ?? r?.changes ?? 0);
}
