import { randomUUID } from 'node:crypto';
import type { JobParameters, UniqueOpts } from 'agenda';
import { retryingDbErrors } from './db-retry.js';
import { debounceAgain, debounceFirst, type DebounceTiming } from './debounce.js';
import { dateParam, definitionColumns, rowToJob } from './job-row.js';
import type { JobRow, JobTable } from './job-table.js';
import { failReasonParam, modifiedByParam } from './text-param.js';
import { singleKey, uniqueKey } from './unique-key.js';

type Props = Omit<JobParameters, '_id' | 'unique' | 'uniqueOpts'>;

const DUPLICATE = new Set(['ER_DUP_ENTRY', 'SQLITE_CONSTRAINT_UNIQUE', 'SQLITE_CONSTRAINT_PRIMARYKEY']);
const isDuplicateKey = (err: unknown) => DUPLICATE.has((err as { code?: string } | null)?.code ?? '');

/** A lost insert race or a row removed under us are retried this often before giving up. */
const UNIQUE_ATTEMPTS = 3;

async function readBy(t: JobTable, where: Record<string, string>): Promise<JobRow | undefined> {
  return t.db(t.table).where(where).first();
}

/**
 * Inserts a new job and returns it as stored, without reading it back: every column of a new row is
 * what the insert wrote or NULL, and rowToJob reads the written values as it reads the row's.
 */
async function insertJob(t: JobTable, props: Props, by: string | null, extra: Partial<DebounceTiming> & { unique_key?: string }): Promise<JobParameters> {
  const row = { id: randomUUID(), name: props.name, ...definitionColumns(props, by), ...extra };
  await t.db(t.table).insert(row);
  return rowToJob(row);
}

/**
 * An existing job (it has an _id): the reference rewrites the definition and the failure fields
 * (Job.save() omits the latter, so they are cleared) only where id and name still match, and hands the
 * caller's object back unchanged when the row is gone.
 */
async function updateById(t: JobTable, job: JobParameters, id: string, props: Props, by: string | null): Promise<JobParameters> {
  const single = singleKey(props.name);
  await t.db(t.table).where({ id, name: props.name }).update({
    ...definitionColumns(props, by),
    fail_reason: failReasonParam(props.failReason),
    fail_count: props.failCount ?? null,
    failed_at: dateParam(props.failedAt),
    // Keep unique_key in step with `type`, which this path may change: a row turned 'single' must take
    // the name's single slot, one turned 'normal' must give it up.
    unique_key: props.type === 'single'
      ? single
      : t.db.raw('CASE WHEN ?? = ? THEN NULL ELSE ?? END', ['unique_key', single, 'unique_key']),
  });
  const row = await readBy(t, { id, name: props.name });
  return row ? rowToJob(row) : job;
}

/**
 * type 'single' (every()): one row per name. Insert, or update the definition of the existing row; a
 * nextRunAt that is already due only fills an empty next_run_at, so re-registering a recurring job at
 * start-up does not make it run again. type, lock and run history of the existing row are kept.
 */
async function upsertSingle(t: JobTable, props: Props, by: string | null): Promise<JobParameters> {
  const key = singleKey(props.name);
  const { type: _type, ...merge } = definitionColumns(props, by);
  const protect = merge.next_run_at !== null && merge.next_run_at.getTime() <= Date.now();
  await retryingDbErrors(async () => t.db(t.table)
    .insert({ id: randomUUID(), name: props.name, ...definitionColumns(props, by), unique_key: key })
    .onConflict('unique_key')
    .merge({
      ...merge,
      // Unqualified, the column is the existing row's value in both ON DUPLICATE KEY UPDATE (MySQL) and
      // ON CONFLICT DO UPDATE (SQLite).
      next_run_at: protect ? t.db.raw('COALESCE(??, ?)', ['next_run_at', merge.next_run_at]) : merge.next_run_at,
    }));
  return rowToJob((await readBy(t, { unique_key: key }))!);
}

/**
 * `.unique(query, { insertOnly: true })`: the row as it now is, ours or the one that was there, which
 * stays untouched. A new job is one statement (the insert; see insertJob), an existing one two (the
 * insert the unique index refuses, then the read): the operations runner's wake after every queued
 * snapshot is this call, and its service usually has no job yet. Only a duplicate of unique_key is
 * taken for "already there" (the id is random); any other error still fails the save.
 */
async function insertOnly(t: JobTable, props: Props, by: string | null, key: string): Promise<JobParameters> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await insertJob(t, props, by, { unique_key: key });
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
    }
    const row = await readBy(t, { unique_key: key });
    if (row) return rowToJob(row);
    // Removed between the two statements (it ran and went): save it again, as a first save would.
    if (attempt >= UNIQUE_ATTEMPTS) throw new Error(`could not save unique job "${props.name}": it kept changing concurrently`);
  }
}

/**
 * `.unique(query)`: insertOnly returns the existing job untouched; otherwise the existing row takes the
 * new definition, with debounce deciding nextRunAt. The unique index turns a concurrent first save
 * into a duplicate-key error, after which the existing-row path runs.
 */
async function saveUnique(t: JobTable, props: Props, unique: Record<string, unknown>, opts: UniqueOpts | undefined, by: string | null): Promise<JobParameters> {
  const key = uniqueKey(props.name, unique);
  const debounce = opts?.debounce;
  if (opts?.insertOnly && !debounce) return insertOnly(t, props, by, key);
  for (let attempt = 1; ; attempt++) {
    const now = new Date();
    const row = await readBy(t, { unique_key: key });
    if (row) {
      const existing = rowToJob(row);
      const timing: DebounceTiming = debounce
        ? debounceAgain(debounce, existing, now)
        : { next_run_at: dateParam(props.nextRunAt), debounce_started_at: null };
      const n = await t.db(t.table).where({ id: existing._id }).update({ ...definitionColumns(props, by), ...timing });
      const after = n > 0 ? await readBy(t, { id: existing._id! }) : undefined;
      if (after) return rowToJob(after);
    } else {
      const timing = debounce ? debounceFirst(debounce, dateParam(props.nextRunAt), now) : {};
      try {
        return await insertJob(t, props, by, { ...timing, unique_key: key });
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
      }
    }
    if (attempt >= UNIQUE_ATTEMPTS) throw new Error(`could not save unique job "${props.name}": it kept changing concurrently`);
  }
}

/** JobRepository.saveJob: the reference's branches in its order (by id, single, unique, plain insert). */
export async function saveJob(t: JobTable, job: JobParameters, lastModifiedBy: string | undefined): Promise<JobParameters> {
  const { _id, unique, uniqueOpts, ...props } = job;
  const by = modifiedByParam(lastModifiedBy);
  if (_id) return updateById(t, job, String(_id), props, by);
  if (props.type === 'single') return upsertSingle(t, props, by);
  if (unique) return saveUnique(t, props, unique, uniqueOpts, by);
  return insertJob(t, props, by, {});
}

/** Rows per upsert statement: well under SQLite's and MySQL's placeholder limits at ~20 columns a row. */
const UPSERT_ROWS = 200;

/**
 * `.unique(query)` saves of many jobs (no debounce, no insertOnly) in multi-row upserts, with the same
 * outcome per job as saveUnique: a new row, or the existing row's definition and next run replaced
 * (its lock and run history kept). Settling each on the unique index in the statement itself makes a
 * start-up sync of ten thousand schedules a few dozen statements instead of three round trips a job.
 */
export async function upsertUniqueJobs(t: JobTable, jobs: { job: JobParameters; unique: Record<string, unknown> }[], lastModifiedBy: string | undefined): Promise<void> {
  const by = modifiedByParam(lastModifiedBy);
  const rows = jobs.map(({ job, unique }) => {
    const { _id: _ignored, unique: _u, uniqueOpts: _o, ...props } = job;
    return { id: randomUUID(), name: props.name, ...definitionColumns(props, by), debounce_started_at: null, unique_key: uniqueKey(props.name, unique) };
  });
  if (!rows.length) return;
  const replaced = Object.keys(rows[0]!).filter((c) => c !== 'id' && c !== 'unique_key');
  for (let i = 0; i < rows.length; i += UPSERT_ROWS) {
    const part = rows.slice(i, i + UPSERT_ROWS);
    await retryingDbErrors(() => t.db(t.table).insert(part).onConflict('unique_key').merge(replaced));
  }
}
