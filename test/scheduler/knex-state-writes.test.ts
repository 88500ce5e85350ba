import type { JobParameters } from 'agenda';
import { beforeEach, describe, expect, it } from 'vitest';
import type { KnexJobRepository } from '../../module/scheduler/knex-backend/index.js';
import { DATABASES, type TestDatabase } from '../helpers/databases.js';
import { useDatabase } from '../helpers/db-suite.js';
import { ms, newJob, openRepository } from './job-fixtures.js';

/** Runs that end together write their jobs' states in one statement, each row with its own values. */
describe.each(DATABASES)('KnexJobRepository state writes of one turn ($kind)', (kind: TestDatabase) => {
  const handle = useDatabase(kind);
  let repo: KnexJobRepository;
  let jobs: JobParameters[];

  beforeEach(async () => {
    repo = await openRepository(handle.db);
    jobs = [];
    for (let i = 0; i < 5; i++) jobs.push(await repo.saveJob(newJob({ name: 'work', data: { i } }), undefined));
  });

  const updates = () => {
    const seen: string[] = [];
    handle.db.on('query', (q: { sql: string }) => { if (/^update/i.test(q.sql)) seen.push(q.sql); });
    return seen;
  };
  const row = (id: unknown) => handle.db('snapshot_jobs').where({ id: String(id) }).first();

  it('writes the states saved in one turn in one statement, each job its own', async () => {
    const seen = updates();
    const base = Date.UTC(2030, 0, 1);
    await Promise.all(jobs.map((j, i) => repo.saveJobState({
      ...j, lockedAt: undefined, nextRunAt: new Date(base + i * 60_000), lastRunAt: new Date(base - i), lastFinishedAt: new Date(base + i),
      failCount: i, failReason: i === 2 ? 'boom' : undefined,
    }, { lastModifiedBy: `w${i}` })));
    expect(seen).toHaveLength(1);
    for (const [i, j] of jobs.entries()) {
      const r = await row(j._id);
      expect(ms(new Date(r.next_run_at))).toBe(base + i * 60_000);
      expect(ms(new Date(r.last_run_at))).toBe(base - i);
      expect(ms(new Date(r.last_finished_at))).toBe(base + i);
      expect(Number(r.fail_count)).toBe(i);
      expect(r.fail_reason).toBe(i === 2 ? 'boom' : null);
      expect(r.last_modified_by).toBe(`w${i}`);
      expect(r.locked_at).toBeNull();
    }
  });

  it('a job gone (or renamed) fails its own write only; the others are written', async () => {
    await handle.db('snapshot_jobs').where({ id: String(jobs[1]!._id) }).delete();
    const next = new Date(Date.UTC(2031, 0, 1));
    const results = await Promise.allSettled(jobs.map((j, i) => repo.saveJobState({ ...j, name: i === 3 ? 'other' : j.name, nextRunAt: next }, undefined)));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'rejected', 'fulfilled']);
    for (const i of [0, 2, 4]) expect(ms(new Date((await row(jobs[i]!._id)).next_run_at))).toBe(next.getTime());
    expect(ms(new Date((await row(jobs[3]!._id)).next_run_at))).not.toBe(next.getTime());
  });

  it('the state of a job this store removed by id fails at once, and the others of its turn still go in one statement', async () => {
    await repo.removeJobs({ id: jobs[2]!._id });
    const seen = updates();
    const next = new Date(Date.UTC(2034, 0, 1));
    const results = await Promise.allSettled(jobs.map((j) => repo.saveJobState({ ...j, nextRunAt: next }, undefined)));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect(seen).toHaveLength(1);
    for (const i of [0, 1, 3, 4]) expect(ms(new Date((await row(jobs[i]!._id)).next_run_at))).toBe(next.getTime());
  });

  it('the same job saved twice in one turn ends with the later state', async () => {
    const [j] = jobs;
    const first = new Date(Date.UTC(2032, 0, 1));
    const second = new Date(Date.UTC(2033, 0, 1));
    await Promise.all([
      repo.saveJobState({ ...j!, nextRunAt: first }, undefined),
      repo.saveJobState({ ...jobs[1]!, nextRunAt: first }, undefined),
      repo.saveJobState({ ...j!, nextRunAt: second }, undefined),
    ]);
    expect(ms(new Date((await row(j!._id)).next_run_at))).toBe(second.getTime());
    expect(ms(new Date((await row(jobs[1]!._id)).next_run_at))).toBe(first.getTime());
  });
});
