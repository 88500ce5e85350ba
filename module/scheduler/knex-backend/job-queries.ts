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

/** computeJobState of a row read with STATE_COLUMNS. */
function stateOf(row: JobRow, now: Date) {
  return computeJobState({
    lockedAt: toDateOrNull(row.locked_at) ?? undefined,
    lastFinishedAt: toDateOrNull(row.last_finished_at) ?? undefined,
    failedAt: toDateOrNull(row.failed_at) ?? undefined,
    nextRunAt: toDateOrNull(row.next_run_at),
    repeatInterval: row.repeat_interval === null ? undefined : String(row.repeat_interval),
  } as JobParameters, now);
}

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
    o.total++;
    o[stateOf(row, now)]++;
    if (toBool(row.disabled)) o.paused++;
  }
  return [...byName.values()];
}

/**
 * getJobsOverview's figures without reading every job: a repeating job that is neither locked nor
 * failed is `repeating`, which is nearly all of them (one per schedule). So the totals come from the
 * claim index (name, disabled, …) alone, and only the exceptions are read and judged by
 * computeJobState: locked or failed jobs (locked_at, failed_at indexes) and one-off jobs (no repeat
 * interval, repeat_interval index). Ten thousand schedule jobs cost an index count, not a table scan.
 */
export async function jobsSummary(t: JobTable, now = new Date()): Promise<JobsOverview[]> {
  const q = () => t.db(t.table);
  const columns = ['id', ...STATE_COLUMNS];
  const [totals, oneOff, locked, failed] = await Promise.all([
    q().select('name', 'disabled').count({ n: '*' }).groupBy('name', 'disabled') as Promise<{ name: string; disabled: unknown; n: unknown }[]>,
    q().where((w) => w.whereNull('repeat_interval').orWhere('repeat_interval', '')).select(columns) as Promise<JobRow[]>,
    q().whereNotNull('locked_at').select(columns) as Promise<JobRow[]>,
    q().whereNotNull('failed_at').select(columns) as Promise<JobRow[]>,
  ]);
  const byName = new Map<string, JobsOverview>();
  const of = (name: string) => {
    let o = byName.get(name);
    if (!o) byName.set(name, o = { name, total: 0, running: 0, scheduled: 0, queued: 0, completed: 0, failed: 0, repeating: 0, paused: 0 });
    return o;
  };
  for (const r of totals) {
    const o = of(String(r.name));
    o.total += Number(r.n);
    // Every job counts as repeating until it is found among the exceptions below.
    o.repeating += Number(r.n);
    if (toBool(r.disabled)) o.paused += Number(r.n);
  }
  const seen = new Set<string>();
  for (const row of [...oneOff, ...locked, ...failed]) {
    if (seen.has(String(row.id))) continue;
    seen.add(String(row.id));
    const o = of(String(row.name));
    o.repeating -= 1;
    o[stateOf(row, now)]++;
  }
  return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The `limit` enabled jobs due soonest, straight off the next_run_at index (no count of the table). */
export async function soonestJobs(t: JobTable, limit: number): Promise<JobParameters[]> {
  const rows: JobRow[] = await t.db(t.table).whereNotNull('next_run_at').where({ disabled: false }).orderBy('next_run_at').limit(limit);
  return rows.map(rowToJob);
}
