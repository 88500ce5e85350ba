import type { AgendaBackend, JobParameters } from 'agenda';
import { beforeEach, describe, expect, it } from 'vitest';
import { KnexBackend, KnexJobRepository } from '../../module/scheduler/knex-backend/index.js';
import { DATABASES, type TestDatabase } from '../helpers/databases.js';
import { useDatabase } from '../helpers/db-suite.js';
import { countJobs, ms, newJob, openRepository } from './job-fixtures.js';

const LIFETIME = 10_000;

describe.each(DATABASES)('KnexJobRepository claiming ($kind)', (kind: TestDatabase) => {
  const handle = useDatabase(kind);
  let repo: KnexJobRepository;

  beforeEach(async () => {
    repo = await openRepository(handle.db);
  });

  /** getNextJobToRun as the JobProcessor calls it (with an explicit `now`), scanning `ahead` ms into the future. */
  const claim = (r: KnexJobRepository, name: string, ahead = 0, now = new Date(), worker = 'w') =>
    r.getNextJobToRun(name, new Date(now.getTime() + ahead), new Date(now.getTime() - LIFETIME), now, { lastModifiedBy: worker });

  it('backend: fixed name, not owning the host knex, connect() idempotent, refusing an unmigrated database', async () => {
    const backend: AgendaBackend = new KnexBackend({ db: handle.db });
    expect([backend.name, backend.ownsConnection, backend.notificationChannel]).toEqual(['knex (MySQL/SQLite)', false, undefined]);
    await backend.connect();
    await backend.connect();
    await backend.disconnect();
    expect(await countJobs(handle.db)).toBe(0); // the host's knex still works

    const bare = await kind.create();
    try {
      await expect(new KnexBackend({ db: bare.db }).connect()).rejects.toThrow(/table "snapshot_jobs" does not exist.*migrations/);
      await bare.db.schema.createTable('other_jobs', (t) => {
        t.string('id').primary();
        t.string('name');
      });
      await expect(new KnexBackend({ db: bare.db, tableName: 'other_jobs' }).connect()).rejects.toThrow(/"other_jobs" lacks column\(s\) priority, claim_rank, next_run_at/);
    } finally {
      await bare.destroy();
    }
  });

  it('claims due jobs by nextRunAt, then priority; never disabled, future or freshly locked ones', async () => {
    const now = Date.now();
    const save = (o: Partial<JobParameters>) => repo.saveJob(newJob({ name: 'work', ...o }), undefined);
    const late = await save({ nextRunAt: new Date(now - 2000), priority: 0 });
    const lowEarly = await save({ nextRunAt: new Date(now - 5000), priority: -10 });
    const highEarly = await save({ nextRunAt: new Date(now - 5000), priority: 10 });
    await save({ nextRunAt: new Date(now - 9000), disabled: true });
    await save({ nextRunAt: new Date(now + 60_000) });
    await save({ nextRunAt: null });
    await repo.saveJob(newJob({ name: 'Work', nextRunAt: new Date(now - 9000) }), undefined); // names are case-sensitive

    const got = [await claim(repo, 'work'), await claim(repo, 'work'), await claim(repo, 'work'), await claim(repo, 'work')];
    expect(got.map((j) => j?._id)).toEqual([highEarly._id, lowEarly._id, late._id, undefined]);
    expect(got[0]).toMatchObject({ name: 'work', lastModifiedBy: 'w' });
    expect(got[0]!.lockedAt).toBeInstanceOf(Date);

    // A job due within the scan window is claimed ahead of time.
    expect(await claim(repo, 'work', 61_000)).toBeDefined();
  });

  it('re-claims a job whose lock is older than the lock deadline, even with nextRunAt null (a crashed worker)', async () => {
    const j = await repo.saveJob(newJob({ name: 'stuck', nextRunAt: new Date(Date.now() - 1000) }), undefined);
    const first = (await claim(repo, 'stuck'))!;
    // What Job.run() persists while the handler runs: nextRunAt already recomputed (null for one-off).
    await repo.saveJobState({ ...first, nextRunAt: null, lastRunAt: new Date() }, undefined);
    expect(await claim(repo, 'stuck')).toBeUndefined();
    const later = new Date(first.lockedAt!.getTime() + LIFETIME + 1);
    const again = await claim(repo, 'stuck', 0, later);
    expect(again?._id).toBe(j._id);
    expect(ms(again!.lockedAt)).toBe(later.getTime());
  });

  it('a repeating job whose worker died mid-run is claimed due again; one whose run had finished keeps its next run', async () => {
    const nextWeek = new Date(Date.now() + 7 * 24 * 3600_000);
    const save = async (name: string) => {
      await repo.saveJob(newJob({ name, nextRunAt: new Date(Date.now() - 1000), repeatInterval: '0 3 * * 0' }), undefined);
      return (await claim(repo, name))!;
    };
    // What Job.run() persists before the handler: the next run already moved to next week.
    const cut = await save('cut');
    const startedAt = new Date();
    await repo.saveJobState({ ...cut, nextRunAt: nextWeek, lastRunAt: startedAt }, undefined);
    // The same, but the run finished; only its unlock was lost.
    const done = await save('done');
    await repo.saveJobState({ ...done, nextRunAt: nextWeek, lastRunAt: startedAt, lastFinishedAt: new Date(startedAt.getTime() + 5) }, undefined);

    const later = new Date(done.lockedAt!.getTime() + LIFETIME + 1);
    const again = (await claim(repo, 'cut', 0, later))!;
    expect([again._id, ms(again.nextRunAt), ms(again.lockedAt)]).toEqual([cut._id, startedAt.getTime(), later.getTime()]);
    expect(ms((await repo.getJobById(cut._id!))!.nextRunAt)).toBe(startedAt.getTime());
    const kept = (await claim(repo, 'done', 0, later))!;
    expect([kept._id, ms(kept.nextRunAt)]).toEqual([done._id, nextWeek.getTime()]);
  });

  it('lockJob locks only an unlocked, enabled job whose nextRunAt is unchanged', async () => {
    const j = await repo.saveJob(newJob({ name: 'lock-me', nextRunAt: new Date(Date.now() - 10) }), undefined);
    expect(await repo.lockJob({ ...j, nextRunAt: new Date(j.nextRunAt!.getTime() + 1) }, undefined)).toBeUndefined();
    expect(await repo.lockJob({ ...j, nextRunAt: null }, undefined)).toBeUndefined();
    const locked = await repo.lockJob(j, { lastModifiedBy: 'locker' });
    expect(locked).toMatchObject({ _id: j._id, lastModifiedBy: 'locker' });
    expect(locked!.lockedAt).toBeInstanceOf(Date);
    expect(await repo.lockJob(j, undefined)).toBeUndefined(); // already locked

    const off = await repo.saveJob(newJob({ name: 'lock-me', disabled: true }), undefined);
    expect(await repo.lockJob(off, undefined)).toBeUndefined();
  });

  it('unlockJob leaves a job with null nextRunAt locked; unlockJobs unlocks by id regardless', async () => {
    const a = await repo.saveJob(newJob({ name: 'u', nextRunAt: new Date(Date.now() - 10) }), undefined);
    const b = await repo.saveJob(newJob({ name: 'u', nextRunAt: new Date(Date.now() - 5) }), undefined);
    const ca = (await claim(repo, 'u'))!;
    const cb = (await claim(repo, 'u'))!;
    expect([ca._id, cb._id]).toEqual([a._id, b._id]);
    await repo.saveJobState({ ...cb, nextRunAt: null }, undefined);

    await repo.unlockJob(ca);
    await repo.unlockJob({ ...cb, nextRunAt: null });
    expect((await repo.getJobById(a._id!))!.lockedAt).toBeUndefined();
    expect((await repo.getJobById(b._id!))!.lockedAt).toBeInstanceOf(Date);
    await repo.unlockJobs([b._id!]);
    expect((await repo.getJobById(b._id!))!.lockedAt).toBeUndefined();
    await repo.unlockJobs([]);
  });

  it('saveJobState refuses a job that no longer exists', async () => {
    const j = await repo.saveJob(newJob({ name: 'gone' }), undefined);
    await repo.removeJobs({ id: j._id });
    await expect(repo.saveJobState(j, undefined)).rejects.toThrow(/cannot be updated in the database/);
    await expect(repo.saveJobState(newJob({ name: 'no-id' }), undefined)).rejects.toThrow(/without job ID/);
  });

  it('two connections claiming concurrently never get the same job', async () => {
    const N = 60;
    const past = Date.now() - 1000;
    for (let i = 0; i < N; i++) await repo.saveJob(newJob({ name: 'race', nextRunAt: new Date(past + i) }), undefined);
    const second = await handle.secondHandle();
    const other = new KnexJobRepository({ db: second });
    const claimed: string[] = [];
    // Each process under its own worker name, as the module names them (host, pid and a random part).
    const worker = async (r: KnexJobRepository, name: string) => {
      for (let j = await claim(r, 'race', 0, new Date(), name); j; j = await claim(r, 'race', 0, new Date(), name)) claimed.push(j._id!);
    };
    await Promise.all([worker(repo, 'w1'), worker(repo, 'w1'), worker(other, 'w2'), worker(other, 'w2')]);
    expect(claimed.length).toBe(N);
    expect(new Set(claimed).size).toBe(N);
  });

  it('concurrent first saves of one unique or single job from two connections leave one row each', async () => {
    const second = await handle.secondHandle();
    const other = new KnexJobRepository({ db: second });
    const unique = (r: KnexJobRepository, v: number) => r.saveJob(newJob({ name: 'once', data: { k: 1, v }, unique: { 'data.k': 1 } }), undefined);
    const single = (r: KnexJobRepository, v: number) => r.saveJob(newJob({ name: 'every', type: 'single', repeatInterval: '1 hour', data: { v } }), undefined);
    const saved = await Promise.all([1, 2, 3, 4, 5, 6].flatMap((v) => {
      const r = v % 2 ? repo : other;
      return [unique(r, v), single(r, v)];
    }));
    expect(new Set(saved.map((j) => j._id)).size).toBe(2);
    expect(await countJobs(handle.db, 'once')).toBe(1);
    expect(await countJobs(handle.db, 'every')).toBe(1);
  });
});
