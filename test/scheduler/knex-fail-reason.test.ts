import { setTimeout as sleep } from 'node:timers/promises';
import { runInNewContext } from 'node:vm';
import { Agenda } from 'agenda';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KnexBackend, type KnexJobRepository } from '../../module/scheduler/knex-backend/index.js';
import { DATABASES, type TestDatabase } from '../helpers/databases.js';
import { useDatabase } from '../helpers/db-suite.js';
import { waitFor } from '../helpers/wait-for.js';
import { newJob, openRepository } from './job-fixtures.js';

const REASON = { code: 'E_QUOTA', detail: { used: 3, of: 2 }, note: '한국어 日本語' };

describe.each(DATABASES)('KnexJobRepository: failures that are not Errors ($kind)', (kind: TestDatabase) => {
  const handle = useDatabase(kind);
  let repo: KnexJobRepository;
  let agenda: Agenda | undefined;

  beforeEach(async () => {
    repo = await openRepository(handle.db);
    agenda = undefined;
  });

  afterEach(async () => {
    await agenda?.stop();
  });

  it('a processor rejecting a plain object: recorded as JSON, unlocked, not run again when the lock would expire', async () => {
    agenda = new Agenda({ backend: new KnexBackend({ db: handle.db }), processEvery: 50, name: 'worker-a' });
    let runs = 0;
    agenda.define('rejects', async () => {
      runs++;
      throw REASON;
    }, { lockLifetime: 300 });
    await agenda.start();
    const job = await agenda.now('rejects');
    const stored = await waitFor(async () => {
      const j = await repo.getJobById(job.attrs._id!);
      return j?.failCount === 1 ? j : undefined;
    }, 5000, 'failure recorded');
    expect(JSON.parse(stored.failReason!)).toEqual(REASON);
    expect(stored).toMatchObject({ lockedAt: undefined, nextRunAt: null, lastModifiedBy: 'worker-a' });
    await sleep(900); // three lock lifetimes: a job left locked would have been claimed again
    expect(runs).toBe(1);
    expect((await repo.queryJobs({ id: job.attrs._id })).jobs[0]!.state).toBe('failed');
  });

  it('saveJobState writes an object, a foreign Error, a number and a circular object as readable text', async () => {
    const saved = await repo.saveJob(newJob({ name: 'state' }), undefined);
    const circular: Record<string, unknown> = { step: 'copy' };
    circular.self = circular;
    const cases: [unknown, (text: string) => void][] = [
      [REASON, (t) => expect(JSON.parse(t)).toEqual(REASON)],
      [runInNewContext('new TypeError("from another realm")'), (t) => expect(t).toBe('from another realm')],
      [42, (t) => expect(t).toBe('42')],
      [circular, (t) => expect(t).toMatch(/step: 'copy'.*Circular/)],
    ];
    for (const [failReason, check] of cases) {
      await repo.saveJobState({ ...saved, lockedAt: new Date(), failReason: failReason as string, failCount: 1, failedAt: new Date() }, undefined);
      await repo.saveJobState({ ...saved, lockedAt: undefined, failReason: failReason as string, failCount: 1, failedAt: new Date() }, undefined);
      const back = (await repo.getJobById(saved._id!))!;
      expect(back.lockedAt).toBeUndefined();
      check(back.failReason!);
    }
  });

  it('saveJob by id and a progress that is not a number bind readable values too', async () => {
    const saved = await repo.saveJob(newJob({ name: 'by-id' }), undefined);
    const back = await repo.saveJob({ ...saved, failReason: REASON as unknown as string, failCount: 1 }, undefined);
    expect(JSON.parse(back.failReason!)).toEqual(REASON);
    await repo.saveJobState({ ...saved, progress: { done: 1 } as unknown as number }, undefined);
    expect((await repo.getJobById(saved._id!))!.progress).toBeUndefined();
    await repo.saveJobState({ ...saved, progress: Number.NaN }, undefined);
    expect((await repo.getJobById(saved._id!))!.progress).toBeUndefined();
  });

  it('a reason too long for a TEXT column is shortened rather than refused', async () => {
    const saved = await repo.saveJob(newJob({ name: 'long' }), undefined);
    await repo.saveJobState({ ...saved, lockedAt: undefined, failReason: '한'.repeat(40_000), failCount: 1 }, undefined);
    const back = (await repo.getJobById(saved._id!))!;
    expect(back.failReason!.startsWith('한한한')).toBe(true);
    expect(Buffer.byteLength(back.failReason!)).toBeLessThanOrEqual(65_535);
  });
});
