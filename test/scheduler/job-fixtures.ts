import type { JobParameters } from 'agenda';
import type { Knex } from 'knex';
import { KnexJobRepository } from '../../module/scheduler/knex-backend/index.js';
import { migratedDatabase, type TestDatabase } from '../helpers/databases.js';

export type Handle = Awaited<ReturnType<typeof migratedDatabase>>;

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

/** A migrated database and a connected repository on it. */
export async function openRepository(kind: TestDatabase): Promise<{ handle: Handle; repo: KnexJobRepository }> {
  const handle = await migratedDatabase(kind);
  const repo = new KnexJobRepository({ db: handle.db });
  await repo.connect();
  return { handle, repo };
}

export const at = (iso: string) => new Date(iso);
export const ms = (d: Date | null | undefined) => (d ? d.getTime() : d);
