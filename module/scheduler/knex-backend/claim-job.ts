import type { JobParameters } from 'agenda';
import type { Knex } from 'knex';
import { isMysql } from '../../db/values.js';
import { retryingDbErrors } from './db-retry.js';
import { dateParam, rowToJob } from './job-row.js';
import type { JobRow, JobTable } from './job-table.js';

/** Enabled jobs of `name`: the equality prefix of the claim index. */
function ofName(q: Knex.QueryBuilder, name: string): Knex.QueryBuilder {
  return q.where('name', name).where('disabled', false);
}

/** How many candidates one claim looks at; more only matters with many competing workers. */
const PREFETCH = 8;
/**
 * Claim candidates in the reference's order — next_run_at ascending, then priority descending — read
 * straight off the claim index (claim_rank is -priority), never sorted: with ten thousand jobs due in
 * the same minute, a sort per claim would make the rush quadratic. Jobs whose lock expired (a crashed
 * worker) come first. One round trip: two index-driven selects under UNION ALL, each in a derived
 * table because SQLite allows no ORDER BY/LIMIT on the arms of a compound select. Candidates tied with
 * the first are shuffled, so competing workers rarely reach for the same row.
 */
async function candidates(t: JobTable, name: string, nextScanAt: Date, lockDeadline: Date): Promise<string[]> {
  const expired = ofName(t.db(t.table).select('id', 'next_run_at', 'claim_rank', t.db.raw('0 as src')), name)
    .where('locked_at', '<=', lockDeadline).orderBy('next_run_at').limit(PREFETCH);
  const due = ofName(t.db(t.table).select('id', 'next_run_at', 'claim_rank', t.db.raw('1 as src')), name)
    .whereNull('locked_at').where('next_run_at', '<=', nextScanAt)
    .orderBy([{ column: 'next_run_at' }, { column: 'claim_rank' }]).limit(PREFETCH);
  const rows: { id: string; next_run_at: unknown; claim_rank: number; src: number }[] = await t.db
    .select('*').from(expired.as('e')).unionAll(t.db.select('*').from(due.as('d')));
  if (rows.some((r) => Number(r.src) === 0)) return rows.filter((r) => Number(r.src) === 0).map((r) => String(r.id));
  // UNION ALL promises no order; at most eight rows are left to put back in claim order.
  const at = (r: (typeof rows)[number]) => dateParam(r.next_run_at as Date)?.getTime() ?? Infinity;
  rows.sort((a, b) => at(a) - at(b) || Number(a.claim_rank) - Number(b.claim_rank));
  const first = rows[0];
  if (!first) return [];
  const key = (r: (typeof rows)[number]) => `${at(r)}|${r.claim_rank}`;
  const tied = rows.filter((r) => key(r) === key(first));
  const rest = rows.slice(tied.length);
  for (let i = tied.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [tied[i], tied[j]] = [tied[j]!, tied[i]!];
  }
  return [...tied, ...rest].map((r) => String(r.id));
}

/** Still claimable now: re-checked by the claiming UPDATE itself, which sees the latest committed row. */
function claimable(q: Knex.QueryBuilder, name: string, nextScanAt: Date, lockDeadline: Date): Knex.QueryBuilder {
  return ofName(q, name).where((w) => w
    .where((due) => due.whereNull('locked_at').where('next_run_at', '<=', nextScanAt))
    .orWhere('locked_at', '<=', lockDeadline));
}

/**
 * Each candidate is claimed by one UPDATE that re-checks the claim conditions: atomic on both
 * databases (a row lock on MySQL/MariaDB, the write lock on SQLite), with no transaction to hold. The
 * first UPDATE that changes a row wins; SQLite reads it back with RETURNING, MySQL by primary key.
 */
async function claim(t: JobTable, name: string, nextScanAt: Date, lockDeadline: Date, lockedAt: Date, by: string | null): Promise<JobRow | undefined> {
  const mysql = isMysql(t.db);
  for (const id of await candidates(t, name, nextScanAt, lockDeadline)) {
    const update = claimable(t.db(t.table).where('id', id), name, nextScanAt, lockDeadline);
    if (!mysql) {
      const rows: JobRow[] = await update.update({ locked_at: lockedAt, last_modified_by: by }, '*');
      if (rows[0]) return rows[0];
      continue;
    }
    const n = Number(await update.update({ locked_at: lockedAt, last_modified_by: by }));
    if (n === 1) return t.db(t.table).where('id', id).first();
  }
  return undefined;
}

/** JobRepository.getNextJobToRun: find and lock one job of `name` atomically. */
export async function claimNextJob(
  t: JobTable, name: string, nextScanAt: Date, lockDeadline: Date, now: Date | undefined, by: string | null,
): Promise<JobParameters | undefined> {
  const lockedAt = now ?? new Date();
  const row = await retryingDbErrors(() => claim(t, name, nextScanAt, lockDeadline, lockedAt, by));
  return row ? rowToJob(row) : undefined;
}

/**
 * JobRepository.lockJob: lock this very job only if it is still unlocked, enabled and due at the
 * nextRunAt the caller saw (a changed nextRunAt means someone rescheduled or ran it meanwhile).
 */
export async function lockJob(t: JobTable, job: JobParameters, by: string | null): Promise<JobParameters | undefined> {
  const nextRunAt = dateParam(job.nextRunAt);
  // `next_run_at = NULL` is never true in the reference; knex would turn it into IS NULL.
  if (!job._id || !nextRunAt) return undefined;
  const id = String(job._id);
  const n = await t.db(t.table)
    .where({ id, name: job.name })
    .whereNull('locked_at')
    .where('next_run_at', nextRunAt)
    .where('disabled', false)
    .update({ locked_at: new Date(), last_modified_by: by });
  if (n !== 1) return undefined;
  const row: JobRow | undefined = await t.db(t.table).where({ id }).first();
  return row ? rowToJob(row) : undefined;
}
