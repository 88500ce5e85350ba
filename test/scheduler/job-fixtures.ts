import type { JobParameters } from 'agenda';
import type { Knex } from 'knex';
import { KnexJobRepository } from '../../module/scheduler/knex-backend/index.js';

/** A plain job as Job.toJson(true) would hand it to saveJob. */
export function newJob(overrides: Partial<JobParameters> & { name: string }): JobParameters {
  return { priority: 0, nextRunAt: new Date(), type: 'normal', data: {}, ...overrides };
}

/** Rows in the jobs table, optionally of one name. */
export async function countJobs(db: Knex, name?: string): Promise<number> {
  const q = db('snapshot_jobs');
  if (name) q.where({ name });
  const row = await q.count({ n: '*' }).first();
  return Number(row!.n);
}

/** A connected repository on `db` (a migrated database). */
export async function openRepository(db: Knex): Promise<KnexJobRepository> {
  const repo = new KnexJobRepository({ db });
  await repo.connect();
  return repo;
}

export const at = (iso: string) => new Date(iso);
export const ms = (d: Date | null | undefined) => (d ? d.getTime() : d);
