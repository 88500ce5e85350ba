import { computeJobState, type JobParameters, type JobsOverview, type JobsQueryOptions, type JobsResult, type JobWithState } from 'agenda';
import { toBool, toDateOrNull } from '../../db/values.js';
import { dataContains } from './json-contains.js';
import { orderJobs, whereQuery } from './job-filters.js';
import { rowToJob } from './job-row.js';
import type { JobRow, JobTable } from './job-table.js';

function withState(row: JobRow, now: Date): JobWithState {
  const job = rowToJob(row);
  return { ...job, _id: job._id!, state: computeJobState(job, now) };
}

/**
 * JobRepository.queryJobs. States are computed from timestamps (not stored), so a `state` filter, like
 * a `data` containment filter, is applied in JS and paging follows it, as in the reference. Without
 * either, count and page are left to the database, which gives the same result without loading the
 * whole table.
 */
export async function queryJobs(t: JobTable, options: JobsQueryOptions = {}): Promise<JobsResult> {
  const { state, data, sort, skip = 0, limit = 0 } = options;
  const now = new Date();

  if (!state && data === undefined) {
    const counted = await whereQuery(t.db(t.table), options).count({ n: '*' }).first();
    const page = orderJobs(whereQuery(t.db(t.table).select('*'), options), sort);
    if (limit > 0) page.limit(limit).offset(Math.max(skip, 0));
    else if (skip > 0) page.offset(skip);
    const rows: JobRow[] = await page;
    return { jobs: rows.map((r) => withState(r, now)), total: Number(counted?.n ?? 0) };
  }

  const rows: JobRow[] = await orderJobs(whereQuery(t.db(t.table).select('*'), options), sort);
  let jobs = rows
    .filter((r) => data === undefined || dataContains(r.data, data))
    .map((r) => withState(r, now))
    .filter((j) => !state || (state === 'paused' ? j.disabled === true : j.state === state));
  const total = jobs.length;
  if (limit > 0) jobs = jobs.slice(skip, skip + limit);
  else if (skip > 0) jobs = jobs.slice(skip);
  return { jobs, total };
}

/** Only the columns computeJobState reads, so the overview never loads job data. */
const STATE_COLUMNS = ['name', 'locked_at', 'last_finished_at', 'failed_at', 'next_run_at', 'repeat_interval', 'disabled'];

/**
 * JobRepository.getJobsOverview: per name (ordered by name), how many jobs are in each computed state;
 * disabled jobs count under their state and under `paused` as well, as in the reference.
 */
export async function getJobsOverview(t: JobTable): Promise<JobsOverview[]> {
  const now = new Date();
  const rows: JobRow[] = await t.db(t.table).select(STATE_COLUMNS).orderBy('name');
  const byName = new Map<string, JobsOverview>();
  for (const row of rows) {
    const name = String(row.name);
    let o = byName.get(name);
    if (!o) {
      o = { name, total: 0, running: 0, scheduled: 0, queued: 0, completed: 0, failed: 0, repeating: 0, paused: 0 };
      byName.set(name, o);
    }
    const job = {
      lockedAt: toDateOrNull(row.locked_at) ?? undefined,
      lastFinishedAt: toDateOrNull(row.last_finished_at) ?? undefined,
      failedAt: toDateOrNull(row.failed_at) ?? undefined,
      nextRunAt: toDateOrNull(row.next_run_at),
      repeatInterval: row.repeat_interval === null ? undefined : String(row.repeat_interval),
    } as JobParameters;
    o.total++;
    o[computeJobState(job, now)]++;
    if (toBool(row.disabled)) o.paused++;
  }
  return [...byName.values()];
}

/**
 * getJobsOverview's figures computed by the database (the same states as computeJobState, as one
 * CASE): the health page gets a handful of grouped rows instead of reading every job into Node,
 * ten thousand of them with one job per schedule.
 */
export async function jobsSummary(t: JobTable, now = new Date()): Promise<JobsOverview[]> {
  const state = t.db.raw(`CASE
    WHEN locked_at IS NOT NULL THEN 'running'
    WHEN failed_at IS NOT NULL AND (last_finished_at IS NULL OR failed_at >= last_finished_at) THEN 'failed'
    WHEN repeat_interval IS NOT NULL AND repeat_interval <> '' THEN 'repeating'
    WHEN next_run_at > ? THEN 'scheduled'
    WHEN next_run_at IS NOT NULL THEN 'queued'
    ELSE 'completed' END`, [now]);
  const rows: { name: string; state: keyof JobsOverview; disabled: unknown; n: unknown }[] = await t.db
    .from(t.db(t.table).select('name', 'disabled', t.db.raw('? as ??', [state, 'state'])).as('j'))
    .select('name', 'state', 'disabled').count({ n: '*' }).groupBy('name', 'state', 'disabled').orderBy('name');
  const byName = new Map<string, JobsOverview>();
  for (const r of rows) {
    const name = String(r.name);
    let o = byName.get(name);
    if (!o) byName.set(name, o = { name, total: 0, running: 0, scheduled: 0, queued: 0, completed: 0, failed: 0, repeating: 0, paused: 0 });
    const n = Number(r.n);
    o.total += n;
    (o[r.state] as number) += n;
    if (toBool(r.disabled)) o.paused += n;
  }
  return [...byName.values()];
}

/** The `limit` enabled jobs due soonest, straight off the next_run_at index (no count of the table). */
export async function soonestJobs(t: JobTable, limit: number): Promise<JobParameters[]> {
  const rows: JobRow[] = await t.db(t.table).whereNotNull('next_run_at').where({ disabled: false }).orderBy('next_run_at').limit(limit);
  return rows.map(rowToJob);
}
