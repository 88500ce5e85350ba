import type {
  JobId, JobParameters, JobRepository, JobRepositoryOptions, JobsOverview, JobsQueryOptions, JobsResult, RemoveJobsOptions,
} from 'agenda';
import { CandidateCache, claimNextJob, lockJob } from './claim-job.js';
import { DeferredStarts } from './deferred-start.js';
import { HeldJobs } from './held-jobs.js';
import { retryingDbErrors } from './db-retry.js';
import { forMatchingJobs } from './job-filters.js';
import { getJobsOverview, jobsSummary, queryJobs, soonestJobs } from './job-queries.js';
import { rowToJob, stateColumns } from './job-row.js';
import { chunks, DEFAULT_TABLE, type JobRow, type JobTable, type KnexBackendOptions } from './job-table.js';
import { saveJob, upsertUniqueJobs } from './save-job.js';
import { StateWrites } from './state-writes.js';
import { modifiedByParam } from './text-param.js';
import { uniqueKey } from './unique-key.js';
import { verifyJobTable } from './verify-table.js';

/**
 * Agenda's JobRepository on the host panel's knex (MySQL/MariaDB or SQLite), following
 * @agendajs/postgres-backend's PostgresJobRepository method by method.
 */
export class KnexJobRepository implements JobRepository {
  private readonly t: JobTable;
  private readonly candidates: CandidateCache;
  private readonly held: HeldJobs;
  private connected = false;
  /** saveJobState's writes, those of one event-loop turn in one statement (see StateWrites). */
  private readonly stateWrites: StateWrites;
  private readonly starts: DeferredStarts;

  constructor(options: KnexBackendOptions) {
    this.t = { db: options.db, table: options.tableName ?? DEFAULT_TABLE };
    this.starts = new DeferredStarts(options.deferRunStartMs ?? 0);
    this.held = new HeldJobs(this.t);
    this.candidates = new CandidateCache(this.t);
    this.stateWrites = new StateWrites(this.t);
  }

  private get q() {
    return this.t.db(this.t.table);
  }

  /**
   * Checks the table is there with the expected columns; creating it is the module's migrations' job,
   * not Agenda's start-up (the host decides when schema changes run). Safe to call any number of times.
   */
  async connect(): Promise<void> {
    if (this.connected) return;
    await verifyJobTable(this.t);
    this.connected = true;
  }

  queryJobs(options?: JobsQueryOptions): Promise<JobsResult> {
    return queryJobs(this.t, options);
  }

  getJobsOverview(): Promise<JobsOverview[]> {
    return getJobsOverview(this.t);
  }

  /** getJobsOverview's counts, computed by the database (see jobsSummary). */
  jobsSummary(): Promise<JobsOverview[]> {
    return jobsSummary(this.t);
  }

  /** The enabled jobs due soonest, for a page that lists next runs. */
  soonestJobs(limit: number): Promise<JobParameters[]> {
    return soonestJobs(this.t, limit);
  }

  async getDistinctJobNames(): Promise<string[]> {
    const rows: { name: string }[] = await this.q.distinct('name').orderBy('name');
    return rows.map((r) => String(r.name));
  }

  async getJobById(id: string): Promise<JobParameters | null> {
    const row: JobRow | undefined = await this.q.where({ id: String(id) }).first();
    return row ? rowToJob(row) : null;
  }

  /** Jobs whose nextRunAt has passed, locked and disabled ones included (the reference counts them too). */
  async getQueueSize(): Promise<number> {
    const row = await this.q.where('next_run_at', '<', new Date()).count({ n: '*' }).first();
    return Number(row?.n ?? 0);
  }

  async removeJobs(options: RemoveJobsOptions): Promise<number> {
    const n = await forMatchingJobs(this.t, options, (q) => q.delete());
    // A job removed by its id (Job.remove()) is gone for good: Agenda's state write after it need not be sent.
    if (options.id && n > 0) this.stateWrites.removed(String(options.id));
    return n;
  }

  async saveJob<DATA = unknown>(job: JobParameters<DATA>, options: JobRepositoryOptions | undefined): Promise<JobParameters<DATA>> {
    return (await saveJob(this.t, job as JobParameters, options?.lastModifiedBy)) as JobParameters<DATA>;
  }

  /**
   * The processor's bookkeeping after claim, run and finish; the job must still exist under its name.
   * Agenda ignores a failure here, which would leave the job locked with its old next run (skipped
   * until the lock expires, then run again): an InnoDB deadlock victim is retried instead.
   */
  async saveJobState(job: JobParameters, options: JobRepositoryOptions | undefined): Promise<void> {
    if (!job._id) throw new Error('Cannot save job state without job ID');
    const id = String(job._id);
    const state = stateColumns(job, modifiedByParam(options?.lastModifiedBy));
    const write = async () => {
      if (!(await this.stateWrites.write({ id, name: job.name, state }))) {
        throw new Error(`job ${job._id} (name: ${job.name}) cannot be updated in the database, maybe it does not exist anymore?`);
      }
    };
    if (DeferredStarts.isRunStart(job) && this.starts.defer(id, write)) return;
    await this.starts.supersede(id);
    await write();
  }

  lockJob(job: JobParameters, options: JobRepositoryOptions | undefined): Promise<JobParameters | undefined> {
    return retryingDbErrors(() => lockJob(this.t, job, modifiedByParam(options?.lastModifiedBy)));
  }

  /**
   * Leaves a job whose nextRunAt is null (one that is being processed) locked, like the reference.
   * Agenda calls this without awaiting it, so a deadlock victim would stay locked: retried here.
   */
  async unlockJob(job: JobParameters): Promise<void> {
    if (!job._id) return;
    await retryingDbErrors(() => this.q.where({ id: String(job._id) }).whereNotNull('next_run_at').update({ locked_at: null }), 5);
  }

  /** Agenda unlocks the jobs in its queue when it stops: the ones locked ahead for it go too. */
  async unlockJobs(jobIds: (JobId | string)[]): Promise<void> {
    await this.held.releaseAll();
    for (const part of chunks(jobIds.map(String))) {
      await retryingDbErrors(() => this.t.db(this.t.table).whereIn('id', part).update({ locked_at: null }), 5);
    }
  }

  getNextJobToRun(
    jobName: string, nextScanAt: Date, lockDeadline: Date, now: Date | undefined, options: JobRepositoryOptions | undefined,
  ): Promise<JobParameters | undefined> {
    return claimNextJob(this.t, this.candidates, this.held, jobName, nextScanAt, lockDeadline, now, modifiedByParam(options?.lastModifiedBy));
  }

  disableJobs(options: RemoveJobsOptions): Promise<number> {
    return forMatchingJobs(this.t, options, (q) => q.update({ disabled: true }));
  }

  enableJobs(options: RemoveJobsOptions): Promise<number> {
    return forMatchingJobs(this.t, options, (q) => q.update({ disabled: false }));
  }

  /**
   * The jobs saved under `name` with `.unique(query)`, one per query (null where there is none), read
   * through the unique_key index: the cost follows the queries asked for, not the size of the table.
   */
  async findUnique(name: string, queries: Record<string, unknown>[]): Promise<(JobParameters | null)[]> {
    const keys = queries.map((q) => uniqueKey(name, q));
    const byKey = new Map<string, JobParameters>();
    for (const part of chunks([...new Set(keys)])) {
      const rows: JobRow[] = await this.t.db(this.t.table).whereIn('unique_key', part).where({ name });
      for (const row of rows) byKey.set(String(row.unique_key), rowToJob(row));
    }
    return keys.map((k) => byKey.get(k) ?? null);
  }

  /**
   * Saves many jobs made with `.unique(query)` (no debounce) at once: each ends as `saveJob` would
   * leave it, written by a few multi-row upserts instead of a read and a write per job.
   */
  saveUniqueMany(jobs: { job: JobParameters; unique: Record<string, unknown> }[], lastModifiedBy?: string): Promise<void> {
    return upsertUniqueJobs(this.t, jobs, lastModifiedBy);
  }

  /** Removes the job saved under `name` with `.unique(query)`, by its index; returns how many went. */
  async removeUnique(name: string, query: Record<string, unknown>): Promise<number> {
    return this.q.where({ unique_key: uniqueKey(name, query), name }).delete();
  }

  async purgeAllJobs(): Promise<number> {
    return this.q.delete();
  }

  /** Jobs locked ahead go back; resolves once their unlock is done (KnexBackend.idle). */
  async releaseHeld(): Promise<void> {
    await this.starts.flush();
    await this.held.releaseAll();
    await this.held.idle();
  }
}
