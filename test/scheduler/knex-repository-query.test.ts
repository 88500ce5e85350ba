import type { JobParameters } from 'agenda';
import { beforeEach, describe, expect, it } from 'vitest';
import type { KnexJobRepository } from '../../module/scheduler/knex-backend/index.js';
import { DATABASES, type TestDatabase } from '../helpers/databases.js';
import { useDatabase } from '../helpers/db-suite.js';
import { countJobs, newJob, openRepository } from './job-fixtures.js';

const HOUR = 3_600_000;

describe.each(DATABASES)('KnexJobRepository queries ($kind)', (kind: TestDatabase) => {
  const handle = useDatabase(kind);
  let repo: KnexJobRepository;

  beforeEach(async () => {
    repo = await openRepository(handle.db);
  });

  /** One job in each computed state (plus a disabled one), named after it. */
  async function seedStates(): Promise<Record<string, JobParameters>> {
    const now = Date.now();
    const save = (j: JobParameters) => repo.saveJob(j, undefined);
    const state = async (j: JobParameters, s: Partial<JobParameters>) => {
      await repo.saveJobState({ ...j, ...s }, undefined);
      return (await repo.getJobById(j._id!))!;
    };
    const jobs: Record<string, JobParameters> = {};
    jobs.scheduled = await save(newJob({ name: 'scheduled', nextRunAt: new Date(now + HOUR), priority: 5, data: { tag: 'a', deep: { n: 1, list: [1, 2] } } }));
    jobs.queued = await save(newJob({ name: 'queued', nextRunAt: new Date(now - HOUR), data: { tag: 'b' } }));
    jobs.running = await state(await save(newJob({ name: 'running', nextRunAt: new Date(now - 2 * HOUR) })), { lockedAt: new Date(now), lastRunAt: new Date(now) });
    jobs.failed = await state(await save(newJob({ name: 'failed', nextRunAt: null })), {
      nextRunAt: null, lastRunAt: new Date(now - 3 * HOUR), failedAt: new Date(now - 3 * HOUR), lastFinishedAt: new Date(now - 3 * HOUR), failCount: 1, failReason: 'boom',
    });
    jobs.completed = await state(await save(newJob({ name: 'completed', nextRunAt: null })), { nextRunAt: null, lastRunAt: new Date(now - 4 * HOUR), lastFinishedAt: new Date(now - 4 * HOUR) });
    jobs.repeating = await save(newJob({ name: 'repeating', type: 'single', repeatInterval: '1 hour', nextRunAt: new Date(now + 2 * HOUR), data: { tag: 'a' } }));
    jobs.paused = await save(newJob({ name: 'paused', disabled: true, nextRunAt: new Date(now + 3 * HOUR), priority: -5 }));
    return jobs;
  }

  it('queryJobs computes each state and filters on it (paused = disabled)', async () => {
    await seedStates();
    const { jobs, total } = await repo.queryJobs();
    expect(total).toBe(7);
    expect(Object.fromEntries(jobs.map((j) => [j.name, j.state]))).toEqual({
      scheduled: 'scheduled', queued: 'queued', running: 'running', failed: 'failed', completed: 'completed',
      repeating: 'repeating', paused: 'scheduled',
    });
    for (const s of ['scheduled', 'queued', 'running', 'failed', 'completed', 'repeating'] as const) {
      const r = await repo.queryJobs({ state: s });
      expect(r.jobs.map((j) => j.name), s).toEqual(s === 'scheduled' ? ['paused', 'scheduled'] : [s]);
    }
    expect((await repo.queryJobs({ state: 'paused' })).jobs.map((j) => j.name)).toEqual(['paused']);
    expect((await repo.queryJobs({ includeDisabled: false })).total).toBe(6);
  });

  it('queryJobs filters by name(s), id(s), search pattern and partial data', async () => {
    const jobs = await seedStates();
    const names = async (o: Parameters<KnexJobRepository['queryJobs']>[0]) => (await repo.queryJobs(o)).jobs.map((j) => j.name).sort();
    expect(await names({ name: 'queued' })).toEqual(['queued']);
    expect(await names({ names: ['queued', 'failed'] })).toEqual(['failed', 'queued']);
    expect(await names({ id: jobs.running!._id })).toEqual(['running']);
    expect(await names({ ids: [jobs.running!._id!, jobs.paused!._id!] })).toEqual(['paused', 'running']);
    expect(await names({ search: 'EAT' })).toEqual(['repeating']); // any case
    expect(await names({ search: 'u_u' })).toEqual(['queued']); // ILIKE wildcard, as in Postgres
    expect(await names({ data: { tag: 'a' } })).toEqual(['repeating', 'scheduled']);
    expect(await names({ data: { deep: { list: [2] } } })).toEqual(['scheduled']);
    expect(await names({ data: { deep: { list: [3] } } })).toEqual([]);
    expect(await names({ data: { tag: 'a' }, state: 'repeating' })).toEqual(['repeating']);
  });

  it('queryJobs sorts (nulls last), pages with skip/limit and reports the total before paging', async () => {
    await seedStates();
    const order = async (o: Parameters<KnexJobRepository['queryJobs']>[0]) => (await repo.queryJobs(o)).jobs.map((j) => j.name);
    // Default: nextRunAt desc, then lastRunAt desc, nulls last for both.
    expect(await order({})).toEqual(['paused', 'repeating', 'scheduled', 'queued', 'running', 'failed', 'completed']);
    const asc = await order({ sort: { nextRunAt: 'asc' } });
    expect(asc.slice(0, 5)).toEqual(['running', 'queued', 'scheduled', 'repeating', 'paused']);
    expect(asc.slice(5).sort()).toEqual(['completed', 'failed']); // both null: tied, in any order
    expect(await order({ sort: { priority: 'desc', name: 'asc' } })).toEqual(['scheduled', 'completed', 'failed', 'queued', 'repeating', 'running', 'paused']);

    const page = await repo.queryJobs({ sort: { name: 'asc' }, skip: 2, limit: 3 });
    expect([page.total, page.jobs.map((j) => j.name)]).toEqual([7, ['paused', 'queued', 'repeating']]);
    const rest = await repo.queryJobs({ sort: { name: 'asc' }, skip: 5 });
    expect([rest.total, rest.jobs.map((j) => j.name)]).toEqual([7, ['running', 'scheduled']]);
    const statePage = await repo.queryJobs({ state: 'scheduled', sort: { name: 'asc' }, skip: 1, limit: 5 });
    expect([statePage.total, statePage.jobs.map((j) => j.name)]).toEqual([2, ['scheduled']]);
  });

  it('getJobsOverview counts states per name, counting disabled jobs as paused too', async () => {
    await seedStates();
    await repo.saveJob(newJob({ name: 'queued', nextRunAt: new Date(Date.now() - 1000), disabled: true }), undefined);
    const overview = await repo.getJobsOverview();
    expect(overview.map((o) => o.name)).toEqual(['completed', 'failed', 'paused', 'queued', 'repeating', 'running', 'scheduled']);
    const zero = { running: 0, scheduled: 0, queued: 0, completed: 0, failed: 0, repeating: 0, paused: 0 };
    expect(overview.find((o) => o.name === 'queued')).toEqual({ ...zero, name: 'queued', total: 2, queued: 2, paused: 1 });
    expect(overview.find((o) => o.name === 'paused')).toEqual({ ...zero, name: 'paused', total: 1, scheduled: 1, paused: 1 });
    expect(overview.find((o) => o.name === 'running')).toEqual({ ...zero, name: 'running', total: 1, running: 1 });
    expect(await repo.getDistinctJobNames()).toEqual(overview.map((o) => o.name));
  });

  it('jobsSummary gives getJobsOverview\'s counts from the database, and soonestJobs the enabled jobs due first', async () => {
    const jobs = await seedStates();
    await repo.saveJob(newJob({ name: 'queued', nextRunAt: new Date(Date.now() - 1000), disabled: true }), undefined);
    expect(await repo.jobsSummary()).toEqual(await repo.getJobsOverview());
    const soonest = await repo.soonestJobs(2);
    const expected = (await repo.queryJobs({ includeDisabled: false, sort: { nextRunAt: 'asc' } })).jobs.filter((j) => j.nextRunAt).slice(0, 2);
    expect(soonest.map((j) => String(j._id))).toEqual(expected.map((j) => String(j._id)));
    expect(soonest.map((j) => j.name)).toContain(jobs.running!.name);
  });

  it('removeJobs by id, ids, name, names, notNames and data; no criteria removes nothing', async () => {
    const mk = (name: string, data: unknown = {}) => repo.saveJob(newJob({ name, data }), undefined);
    const [a, b, c] = [await mk('a'), await mk('b'), await mk('c')];
    await mk('d', { user: { id: 1, roles: ['x', 'y'] } });
    await mk('d', { user: { id: 2 } });
    await mk('e', null);
    expect(await repo.removeJobs({})).toBe(0);
    expect(await repo.removeJobs({ ids: [] })).toBe(0);
    expect(await repo.removeJobs({ id: a._id })).toBe(1);
    expect(await repo.removeJobs({ ids: [b._id!, c._id!, 'no-such-id'] })).toBe(2);
    expect(await repo.removeJobs({ data: { user: { roles: ['y'] } } })).toBe(1);
    expect(await repo.removeJobs({ name: 'd', data: { user: { id: 3 } } })).toBe(0);
    await mk('f');
    expect(await repo.removeJobs({ notNames: ['d', 'e'] })).toBe(1);
    expect(await repo.removeJobs({ names: ['d', 'e'] })).toBe(2);
    await mk('g');
    expect(await repo.removeJobs({ name: 'g' })).toBe(1);
    expect(await countJobs(handle.db)).toBe(0);
  });

  it('disableJobs / enableJobs take the same filters and count matched jobs', async () => {
    const x = await repo.saveJob(newJob({ name: 'x', data: { k: 1 } }), undefined);
    await repo.saveJob(newJob({ name: 'x', data: { k: 2 } }), undefined);
    await repo.saveJob(newJob({ name: 'y' }), undefined);
    expect(await repo.disableJobs({})).toBe(0);
    expect(await repo.disableJobs({ name: 'x' })).toBe(2);
    expect(await repo.disableJobs({ name: 'x' })).toBe(2); // already disabled still counts, like Postgres rowCount
    expect((await repo.getJobById(x._id!))!.disabled).toBe(true);
    expect(await repo.enableJobs({ name: 'x', data: { k: 1 } })).toBe(1);
    expect((await repo.getJobById(x._id!))!.disabled).toBe(false);
    expect((await repo.queryJobs({ state: 'paused' })).jobs.map((j) => j.data)).toEqual([{ k: 2 }]);
  });

  it('getQueueSize counts jobs whose nextRunAt has passed; purgeAllJobs removes everything', async () => {
    await seedStates();
    // queued and running (nextRunAt in the past); future, null and disabled-future ones are not counted.
    expect(await repo.getQueueSize()).toBe(2);
    expect(await repo.purgeAllJobs()).toBe(7);
    expect(await countJobs(handle.db)).toBe(0);
    expect(await repo.getQueueSize()).toBe(0);
  });
});
