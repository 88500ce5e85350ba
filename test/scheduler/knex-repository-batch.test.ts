import type { JobParameters } from 'agenda';
import { beforeEach, describe, expect, it } from 'vitest';
import { KnexBackend, KnexJobRepository } from '../../module/scheduler/knex-backend/index.js';
import { HOLD_MS } from '../../module/scheduler/knex-backend/held-jobs.js';
import { DATABASES, type TestDatabase } from '../helpers/databases.js';
import { useDatabase } from '../helpers/db-suite.js';
import { newJob, openRepository } from './job-fixtures.js';

const LIFETIME = 10_000;
const JOBS = 40;

/** Claims during a rush lock several jobs per statement; what Agenda does not take goes back. */
describe.each(DATABASES)('KnexJobRepository claiming in batches ($kind)', (kind: TestDatabase) => {
  const handle = useDatabase(kind);
  let repo: KnexJobRepository;

  beforeEach(async () => {
    repo = await openRepository(handle.db);
    const due = new Date(Date.now() - 1000);
    for (let i = 0; i < JOBS; i++) await repo.saveJob(newJob({ name: 'work', nextRunAt: due, data: { i } }), undefined);
  });

  const claim = (r: KnexJobRepository, by = 'w', now = new Date()) =>
    r.getNextJobToRun('work', now, new Date(now.getTime() - LIFETIME), now, { lastModifiedBy: by });
  const locked = async () => (await handle.db('snapshot_jobs').whereNotNull('locked_at').select('id', 'last_modified_by'));

  it('locks ahead while the worker keeps asking: far fewer statements than jobs, each job handed out once', async () => {
    let updates = 0;
    handle.db.on('query', (q: { sql: string }) => { if (/^update/i.test(q.sql)) updates++; });
    const got: JobParameters[] = [];
    for (let i = 0; i < JOBS; i++) got.push((await claim(repo))!);
    expect(new Set(got.map((j) => String(j._id))).size).toBe(JOBS);
    expect(await claim(repo)).toBeUndefined();
    expect(updates).toBeLessThan(JOBS / 3);
    const rows = await locked();
    expect(rows).toHaveLength(JOBS);
    expect(rows.every((r) => r.last_modified_by === 'w')).toBe(true);
    // What was handed out is what the row says.
    const row = await handle.db('snapshot_jobs').where({ id: String(got[JOBS - 1]!._id) }).first();
    expect(new Date(row.locked_at).getTime()).toBe(new Date(got[JOBS - 1]!.lockedAt!).getTime());
  });

  it('unlocks jobs locked ahead that were not asked for after a moment; another worker then takes them', async () => {
    const mine: string[] = [];
    for (let i = 0; i < 8; i++) mine.push(String((await claim(repo))!._id));
    const heldAhead = (await locked()).length - mine.length;
    expect(heldAhead).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, HOLD_MS + 300));
    expect((await locked()).map((r) => String(r.id)).sort()).toEqual([...mine].sort());
    const other = new KnexJobRepository({ db: handle.db });
    const theirs: string[] = [];
    for (let j = await claim(other, 'v'); j; j = await claim(other, 'v')) theirs.push(String(j._id));
    expect(theirs).toHaveLength(JOBS - mine.length);
    expect(theirs.some((id) => mine.includes(id))).toBe(false);
  });

  it('unlockJobs (Agenda stopping) also returns the jobs locked ahead, at once', async () => {
    const mine: string[] = [];
    for (let i = 0; i < 8; i++) mine.push(String((await claim(repo))!._id));
    expect((await locked()).length).toBeGreaterThan(mine.length);
    await repo.unlockJobs([]);
    expect((await locked()).map((r) => String(r.id)).sort()).toEqual([...mine].sort());
  });

  it('the backend\'s idle() (a stopping module) also returns the jobs locked ahead', async () => {
    const backend = new KnexBackend({ db: handle.db });
    const mine: string[] = [];
    for (let i = 0; i < 8; i++) mine.push(String((await claim(backend.repository))!._id));
    expect((await locked()).length).toBeGreaterThan(mine.length);
    await backend.idle();
    expect((await locked()).map((r) => String(r.id)).sort()).toEqual([...mine].sort());
  });

  it('never hands out a job held ahead once its lock is near expiry; it is claimed afresh with a new lock', async () => {
    const start = new Date();
    for (let i = 0; i < 8; i++) await claim(repo, 'w', start);
    const heldIds = new Set((await locked()).map((r) => String(r.id)));
    // Much later: the locks taken at `start` have run out, so the held ones must not be handed out as they are.
    const later = new Date(start.getTime() + LIFETIME);
    const job = (await claim(repo, 'w', later))!;
    expect(new Date(job.lockedAt!).getTime()).toBe(later.getTime());
    const row = await handle.db('snapshot_jobs').where({ id: String(job._id) }).first();
    expect(new Date(row.locked_at).getTime()).toBe(later.getTime());
    expect(heldIds.size).toBeGreaterThan(8);
  });

  it('fills of one worker running at once (Agenda\'s scan and a notification) never hand out a job twice', async () => {
    // Agenda starts a fill per scan and per notification without waiting for one already running, and
    // both may stamp their locks with the same millisecond: the lock each claim writes must still be its own.
    for (let round = 0; round < 5; round++) {
      const now = new Date();
      const got: string[] = [];
      const fill = async () => {
        for (let j = await claim(repo, 'w', now); j; j = await claim(repo, 'w', now)) got.push(String(j._id));
      };
      await Promise.all([fill(), fill(), fill(), fill()]);
      expect(got.length - new Set(got).size).toBe(0);
      expect(new Set(got).size).toBe(JOBS);
      await handle.db('snapshot_jobs').update({ locked_at: null });
    }
  });
});
