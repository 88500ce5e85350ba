import type { JobParameters } from 'agenda';
import type { Knex } from 'knex';
import { PreparedQuery, type Params } from '../../db/prepared-query.js';
import { retryingDbErrors } from './db-retry.js';
import type { HeldJobs } from './held-jobs.js';
import { dateParam, rowToJob } from './job-row.js';
import type { JobRow, JobTable } from './job-table.js';

/** Enabled jobs of `name`: the equality prefix of the claim index. */
function ofName(q: Knex.QueryBuilder, name: string): Knex.QueryBuilder {
  return q.where('name', name).where('disabled', false);
}

/** How many candidates one query reads; the following claims of the same scan use them up first. */
const PREFETCH = 16;

type Candidate = JobRow & { src: number };

/** How long candidates read for one claim serve the next claims of the same worker. */
const CANDIDATES_FRESH_MS = 250;

/**
 * Candidates read by a recent claim: while a worker fills its queue it claims several jobs in a row
 * (Agenda moves nextScanAt and the lock deadline with every call), and each would otherwise read the
 * same index range again. Every claim still re-checks its row in the claiming UPDATE; a job saved
 * meanwhile waits at most CANDIDATES_FRESH_MS longer for its turn.
 */
export class CandidateCache {
  private readonly byName = new Map<string, { at: number; rows: Candidate[] }>();
  /** candidates()'s statement, compiled once: a rush reads candidates hundreds of times. */
  readonly query: PreparedQuery<'name' | 'nextScanAt' | 'lockDeadline'>;

  constructor(t: JobTable) {
    this.query = new PreparedQuery(t.db, (param) => candidatesQuery(t, param));
  }

  /** Up to `n` candidates, in claim order. */
  take(name: string, n = 1): Candidate[] {
    const entry = this.byName.get(name);
    if (!entry || Date.now() - entry.at > CANDIDATES_FRESH_MS) return [];
    return entry.rows.splice(0, n);
  }

  put(name: string, rows: Candidate[]): void {
    this.byName.set(name, { at: Date.now(), rows });
  }
}

/**
 * Claim candidates in the reference's order — next_run_at ascending, then priority descending — read
 * straight off the claim index (claim_rank is -priority), never sorted: with ten thousand jobs due in
 * the same minute, a sort per claim would make the rush quadratic. Jobs whose lock expired (a crashed
 * worker) come first. One round trip: two index-driven selects under UNION ALL, each in a derived
 * table because SQLite allows no ORDER BY/LIMIT on the arms of a compound select. Candidates tied with
 * the first are shuffled, so competing workers rarely reach for the same row.
 */
function candidatesQuery(t: JobTable, param: Params<'name' | 'nextScanAt' | 'lockDeadline'>): Knex.QueryBuilder {
  const expired = ofName(t.db(t.table).select('*', t.db.raw('0 as src')), param('name'))
    .where('locked_at', '<=', param('lockDeadline')).orderBy('next_run_at').limit(PREFETCH);
  const due = ofName(t.db(t.table).select('*', t.db.raw('1 as src')), param('name'))
    .whereNull('locked_at').where('next_run_at', '<=', param('nextScanAt'))
    .orderBy([{ column: 'next_run_at' }, { column: 'claim_rank' }]).limit(PREFETCH);
  return t.db.select('*').from(expired.as('e')).unionAll(t.db.select('*').from(due.as('d')));
}

async function candidates(cache: CandidateCache, name: string, nextScanAt: Date, lockDeadline: Date): Promise<Candidate[]> {
  const rows = await cache.query.rows({ name, nextScanAt, lockDeadline }) as Candidate[];
  if (rows.some((r) => Number(r.src) === 0)) return rows.filter((r) => Number(r.src) === 0);
  // UNION ALL promises no order; a few rows are left to put back in claim order.
  const at = (r: Candidate) => dateParam(r.next_run_at as Date)?.getTime() ?? Infinity;
  rows.sort((a, b) => at(a) - at(b) || Number(a.claim_rank) - Number(b.claim_rank));
  const first = rows[0];
  if (!first) return [];
  const key = (r: Candidate) => `${at(r)}|${r.claim_rank}`;
  const tied = rows.filter((r) => key(r) === key(first));
  const rest = rows.slice(tied.length);
  for (let i = tied.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [tied[i], tied[j]] = [tied[j]!, tied[i]!];
  }
  return [...tied, ...rest];
}

/** Still claimable now: re-checked by the claiming UPDATE itself, which sees the latest committed row. */
function claimable(q: Knex.QueryBuilder, name: string, nextScanAt: Date, lockDeadline: Date): Knex.QueryBuilder {
  return ofName(q, name).where((w) => w
    .where((due) => due.whereNull('locked_at').where('next_run_at', '<=', nextScanAt))
    .orWhere('locked_at', '<=', lockDeadline));
}

/** `column = value`, with NULL matching NULL (knex's where() would otherwise compare with = NULL). */
function same(q: Knex.QueryBuilder, column: string, value: unknown): Knex.QueryBuilder {
  return value === null || value === undefined ? q.whereNull(column) : q.where(column, value as Knex.Value);
}

/** The candidate as read, still the same row: neither redefined (revision) nor run (last run) since. */
function unchanged(q: Knex.QueryBuilder, c: Candidate): Knex.QueryBuilder {
  q.where('id', c.id as string);
  // Not next_run_at: an equality on it makes InnoDB lock through that index before the primary
  // key, the reverse of saveJobState's order, and the two then deadlock under load.
  same(q, 'revision', c.revision);
  return same(q, 'last_run_at', c.last_run_at);
}

/**
 * The claim's next_run_at: a job whose lock expired in the middle of a run (it started after the last
 * finished one: its worker died) is due again at once. Agenda moves a repeating job's next run ahead
 * before running it, and the reference then only releases such a job, so the run the crash cut short
 * would be skipped until the next interval (a scheduled snapshot missed for a week). Its handler runs
 * again instead and must tolerate that (a scheduled run checks whether its occurrence was recorded).
 */
function nextRunOnClaim(t: JobTable, lockDeadline: Date): Knex.Raw {
  return t.db.raw('CASE WHEN ?? <= ? AND ?? IS NOT NULL AND (?? IS NULL OR ?? < ??) THEN ?? ELSE ?? END', [
    'locked_at', lockDeadline, 'last_run_at', 'last_finished_at', 'last_finished_at', 'last_run_at', 'last_run_at', 'next_run_at',
  ]);
}

/**
 * Locks what it can of `batch` in one UPDATE that re-checks the claim conditions and that each row
 * is the one read: atomic on both databases (row locks on MySQL/MariaDB, the write lock on SQLite),
 * with no transaction to hold. Returns the candidates locked. When only some were (another worker
 * was faster), a read of this worker's own lock time and name tells which.
 */
async function lockBatch(t: JobTable, batch: Candidate[], name: string, nextScanAt: Date, lockDeadline: Date, lockedAt: Date, by: string): Promise<Candidate[]> {
  const update = claimable(t.db(t.table), name, nextScanAt, lockDeadline)
    .where((any) => { for (const c of batch) any.orWhere((one) => unchanged(one, c)); });
  // next_run_at first: MySQL's SET sees the columns it already assigned (locked_at would be the new one).
  const n = Number(await update.update({ next_run_at: nextRunOnClaim(t, lockDeadline), locked_at: lockedAt, last_modified_by: by }));
  if (n === batch.length) return batch;
  if (n === 0) return [];
  const mine = new Set((await t.db(t.table).whereIn('id', batch.map((c) => c.id as string))
    .where({ locked_at: lockedAt, last_modified_by: by }).select('id')).map((r: JobRow) => String(r.id)));
  return batch.filter((c) => mine.has(String(c.id)));
}

/** The rows of `claimed` as they now are, in the same order. */
async function reread(t: JobTable, claimed: Candidate[]): Promise<JobRow[]> {
  const rows: JobRow[] = await t.db(t.table).whereIn('id', claimed.map((c) => c.id as string));
  const byId = new Map(rows.map((r) => [String(r.id), r]));
  return claimed.map((c) => byId.get(String(c.id))).filter((r): r is JobRow => r !== undefined);
}

/**
 * Claims one job: one held ahead by an earlier batch, or the next candidates locked in one statement
 * (marked with the worker's name, or the store's own token when Agenda has none; see HeldJobs). The first UPDATE that
 * changes a row wins it; the candidate read is then the row, with its new lock.
 */
async function claim(t: JobTable, cache: CandidateCache, held: HeldJobs, name: string, nextScanAt: Date, lockDeadline: Date, now: Date | undefined, by: string | null): Promise<JobRow | undefined> {
  const ready = held.take(name, lockDeadline);
  if (ready) return ready;
  const mark = by ?? held.token;
  const size = held.batchSize(name);
  for (let fresh = false; ;) {
    let batch = cache.take(name, size);
    if (!batch.length) {
      if (fresh) return undefined; // a fresh list, used up without a claim: nothing is claimable
      cache.put(name, await candidates(cache, name, nextScanAt, lockDeadline));
      fresh = true;
      batch = cache.take(name, size);
      if (!batch.length) return undefined;
    }
    const lockedAt = held.stamp(now);
    const claimed = await lockBatch(t, batch, name, nextScanAt, lockDeadline, lockedAt, mark);
    // A dead worker's job may have been made due again by the claim (rare): read what it wrote.
    const locked = claimed.some((c) => Number(c.src) === 0)
      ? await reread(t, claimed)
      : claimed.map(({ src: _src, ...row }) => ({ ...row, locked_at: lockedAt, last_modified_by: mark }));
    const [first, ...rest] = locked;
    if (!first) continue;
    held.hold(name, rest, lockedAt, mark);
    return first;
  }
}

/** JobRepository.getNextJobToRun: find and lock one job of `name` atomically. */
export async function claimNextJob(
  t: JobTable, cache: CandidateCache, held: HeldJobs, name: string, nextScanAt: Date, lockDeadline: Date, now: Date | undefined, by: string | null,
): Promise<JobParameters | undefined> {
  const row = await retryingDbErrors(() => claim(t, cache, held, name, nextScanAt, lockDeadline, now, by));
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
