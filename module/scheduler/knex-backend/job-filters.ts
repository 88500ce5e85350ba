import type { JobsQueryOptions, JobsSort, RemoveJobsOptions } from 'agenda';
import type { Knex } from 'knex';
import { dataContains } from './json-contains.js';
import { chunks, type JobTable } from './job-table.js';

/**
 * The id/ids and name/names/notNames part of RemoveJobsOptions, with the reference's precedence (id
 * over ids; name over names over notNames). Returns whether any condition was added.
 */
export function whereTargets(q: Knex.QueryBuilder, options: RemoveJobsOptions): boolean {
  let any = false;
  if (options.id) {
    q.where('id', String(options.id));
    any = true;
  } else if (options.ids && options.ids.length > 0) {
    q.whereIn('id', options.ids.map(String));
    any = true;
  }
  if (options.name) {
    q.where('name', options.name);
    any = true;
  } else if (options.names && options.names.length > 0) {
    q.whereIn('name', options.names);
    any = true;
  } else if (options.notNames && options.notNames.length > 0) {
    q.whereNotIn('name', options.notNames);
    any = true;
  }
  return any;
}

/** The SQL-expressible filters of queryJobs; `state` and `data` are applied in JS afterwards. */
export function whereQuery(q: Knex.QueryBuilder, options: JobsQueryOptions): Knex.QueryBuilder {
  const { name, names, id, ids, search, includeDisabled = true } = options;
  if (name) q.where('name', name);
  else if (names && names.length > 0) q.whereIn('name', names);
  if (id) q.where('id', id);
  else if (ids && ids.length > 0) q.whereIn('id', ids);
  if (search) {
    // ILIKE in the reference: a LIKE pattern (% and _ stay wildcards, backslash escapes), any case.
    // An explicit ESCAPE because SQLite has no default escape character.
    q.whereRaw('LOWER(??) LIKE ? ESCAPE ?', ['name', `%${search.toLowerCase()}%`, '\\']);
  }
  if (!includeDisabled) q.where('disabled', false);
  return q;
}

const SORTABLE: [keyof JobsSort, string, boolean][] = [
  // [option, column, nullable]; the reference's fixed order, whatever order the caller's keys are in.
  ['nextRunAt', 'next_run_at', true],
  ['lastRunAt', 'last_run_at', true],
  ['lastFinishedAt', 'last_finished_at', true],
  ['priority', 'priority', false],
  ['name', 'name', false],
];

/**
 * ORDER BY of queryJobs. Neither MariaDB nor MySQL has NULLS LAST; `(col IS NULL)` first gives the same
 * order on both databases. `sort.data` is ignored, as in the reference.
 */
export function orderJobs(q: Knex.QueryBuilder, sort: JobsSort | undefined): Knex.QueryBuilder {
  const parts = SORTABLE.filter(([key]) => sort?.[key] !== undefined);
  const effective: [string, 'asc' | 'desc', boolean][] = parts.length > 0
    ? parts.map(([key, column, nullable]) => [column, sort![key] === 'asc' ? 'asc' : 'desc', nullable])
    : [['next_run_at', 'desc', true], ['last_run_at', 'desc', true]];
  for (const [column, dir, nullable] of effective) {
    if (nullable) q.orderByRaw('(?? IS NULL)', [column]);
    q.orderBy(column, dir);
  }
  return q;
}

/**
 * Applies `apply` (a delete or an update) to the jobs RemoveJobsOptions select. A `data` filter is a
 * JSON containment test, so those rows are picked in JS and then addressed by id. No criteria at all
 * selects nothing, as in the reference.
 */
export async function forMatchingJobs(t: JobTable, options: RemoveJobsOptions, apply: (q: Knex.QueryBuilder) => Promise<number>): Promise<number> {
  const q = t.db(t.table);
  const targeted = whereTargets(q, options);
  if (options.data === undefined) return targeted ? apply(q) : 0;
  const rows: { id: string; data: unknown }[] = await q.select('id', 'data');
  const ids = rows.filter((r) => dataContains(r.data, options.data)).map((r) => r.id);
  let n = 0;
  for (const part of chunks(ids)) n += await apply(t.db(t.table).whereIn('id', part));
  return n;
}
