import type { JobParameters } from 'agenda';
import type { Knex } from 'knex';
import { isMysql } from '../../db/values.js';
import { retryingDbErrors } from './db-retry.js';
import { dateParam, rowToJob } from './job-row.js';
import type { JobRow, JobTable } from './job-table.js';

/** The reference's claim order: next_run_at ASC NULLS LAST, priority DESC, spelt for MySQL and SQLite. */
const CLAIM_ORDER = '(next_run_at IS NULL), next_run_at ASC, priority DESC';

/**
 * Due and unlocked, or locked longer ago than the lock lifetime (a crashed or stalled worker); the
 * expired branch does not look at next_run_at, exactly like the reference.
 */
function claimable(q: Knex.QueryBuilder, name: string, nextScanAt: Date, lockDeadline: Date): Knex.QueryBuilder {
  return q
    .where('name', name)
    .where('disabled', false)
    .where((w) => w
      .where((due) => due.whereNull('locked_at').where('next_run_at', '<=', nextScanAt))
      .orWhere('locked_at', '<=', lockDeadline));
}

/** Candidates read (without locks) per MySQL claim; more only matters with many competing workers. */
const PREFETCH = 8;

/**
 * MySQL/MariaDB. The claim order needs a filesort (priority DESC against an ascending index), and a
 * locking read with a filesort locks every candidate row, so a second worker's SKIP LOCKED would find
 * nothing at all. Instead the candidates are read in claim order without locks, then locked one at a
 * time by primary key with the claim conditions re-checked (a locking read sees the latest committed
 * row); the first one not held by another worker is taken. Only if all of them were taken meanwhile
 * does the full locking read run. READ COMMITTED avoids gap locks (which would block inserting new
 * jobs) and releases rows whose re-check failed.
 */
async function claimMysql(t: JobTable, name: string, nextScanAt: Date, lockDeadline: Date, lockedAt: Date, by: string | null): Promise<JobRow | undefined> {
  return t.db.transaction(async (trx) => {
    const take = async (row: JobRow | undefined) => {
      if (!row) return undefined;
      await trx(t.table).where('id', row.id as string).update({ locked_at: lockedAt, last_modified_by: by });
      return { ...row, locked_at: lockedAt, last_modified_by: by };
    };
    const candidates: { id: string }[] = await claimable(trx(t.table).select('id'), name, nextScanAt, lockDeadline)
      .orderByRaw(CLAIM_ORDER)
      .limit(PREFETCH);
    if (candidates.length === 0) return undefined;
    for (const { id } of candidates) {
      const row: JobRow | undefined = await claimable(trx(t.table).select('*').where('id', id), name, nextScanAt, lockDeadline)
        .first()
        .forUpdate()
        .skipLocked();
      if (row) return take(row);
    }
    return take(await claimable(trx(t.table).select('*'), name, nextScanAt, lockDeadline)
      .orderByRaw(CLAIM_ORDER)
      .first()
      .forUpdate()
      .skipLocked());
  }, { isolationLevel: 'read committed' });
}

/**
 * SQLite: one UPDATE whose WHERE picks the row; the database write lock makes it atomic across
 * connections and processes, and RETURNING reads the claimed row back in the same statement.
 */
async function claimSqlite(t: JobTable, name: string, nextScanAt: Date, lockDeadline: Date, lockedAt: Date, by: string | null): Promise<JobRow | undefined> {
  const pick = claimable(t.db(t.table).select('id'), name, nextScanAt, lockDeadline).orderByRaw(CLAIM_ORDER).limit(1);
  const rows: JobRow[] = await t.db(t.table).where('id', pick).update({ locked_at: lockedAt, last_modified_by: by }, '*');
  return rows[0];
}

/** JobRepository.getNextJobToRun: find and lock one job of `name` atomically. */
export async function claimNextJob(
  t: JobTable, name: string, nextScanAt: Date, lockDeadline: Date, now: Date | undefined, by: string | null,
): Promise<JobParameters | undefined> {
  const lockedAt = now ?? new Date();
  const claim = isMysql(t.db) ? claimMysql : claimSqlite;
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
