import type { JobParameters } from 'agenda';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { KnexJobRepository } from '../../module/scheduler/knex-backend/index.js';
import { DATABASES, type TestDatabase } from '../helpers/databases.js';
import { useDatabase } from '../helpers/db-suite.js';
import { at, countJobs, ms, newJob, openRepository } from './job-fixtures.js';

const DATA = {
  text: '한국어 데이터 — 日本語 🚀 👨‍👩‍👧',
  int: 42, float: 1.25, negative: -7, big: 2 ** 40, yes: true, no: false, nothing: null,
  list: [1, 'two', null, { deep: [true, false, []] }],
  nested: { a: { b: { c: [{ d: '한국어' }] } } },
  empty: {},
};

describe.each(DATABASES)('KnexJobRepository saveJob ($kind)', (kind: TestDatabase) => {
  const handle = useDatabase(kind);
  let repo: KnexJobRepository;

  beforeEach(async () => {
    repo = await openRepository(handle.db);
  });

  afterEach(async () => {
    vi.useRealTimers();
  });

  it('round-trips every field type: millisecond Dates, JSON data, booleans, numbers, string _id', async () => {
    const saved = await repo.saveJob(newJob({
      name: 'round-trip', priority: 10, nextRunAt: at('2030-01-02T03:04:05.678Z'), data: DATA,
      repeatInterval: 5000, repeatTimezone: 'Asia/Seoul', repeatAt: '3:30pm', disabled: true, fork: true,
      startDate: at('2030-01-01T00:00:00.001Z'), endDate: at('2031-12-31T23:59:59.999Z'), skipDays: [0, 6],
    }), { lastModifiedBy: 'worker-1' });
    expect(typeof saved._id).toBe('string');

    const state: JobParameters = {
      ...saved, lockedAt: at('2030-01-02T03:04:06.001Z'), lastRunAt: at('2030-01-02T03:04:06.002Z'),
      lastFinishedAt: at('2030-01-02T03:04:07.999Z'), failedAt: at('2030-01-02T03:04:07.998Z'), failCount: 2,
      failReason: 'disk full 디스크', progress: 42.5,
    };
    await repo.saveJobState(state, { lastModifiedBy: 'worker-2' });

    const back = (await repo.getJobById(saved._id!))!;
    expect(back).toEqual({
      _id: saved._id, name: 'round-trip', priority: 10, nextRunAt: at('2030-01-02T03:04:05.678Z'), type: 'normal',
      lockedAt: state.lockedAt, lastRunAt: state.lastRunAt, lastFinishedAt: state.lastFinishedAt, failedAt: state.failedAt,
      failCount: 2, failReason: 'disk full 디스크', progress: 42.5, repeatInterval: 5000, repeatTimezone: 'Asia/Seoul',
      repeatAt: '3:30pm', data: DATA, disabled: true, fork: true, lastModifiedBy: 'worker-2',
      debounceStartedAt: undefined, startDate: at('2030-01-01T00:00:00.001Z'), endDate: at('2031-12-31T23:59:59.999Z'),
      skipDays: [0, 6],
    });
    for (const k of ['nextRunAt', 'lockedAt', 'lastRunAt', 'lastFinishedAt', 'failedAt', 'startDate', 'endDate'] as const) {
      expect(back[k], k).toBeInstanceOf(Date);
    }
    expect(typeof back.priority).toBe('number');
    expect(typeof back.failCount).toBe('number');
    expect(typeof back.repeatInterval).toBe('number');
    expect(typeof back.disabled).toBe('boolean');
    expect(typeof back.fork).toBe('boolean');
  });

  it('absent optionals read back as undefined; no data as null; string intervals stay strings', async () => {
    const a = await repo.saveJob(newJob({ name: 'bare', data: undefined, nextRunAt: null, repeatInterval: '5 minutes' }), undefined);
    expect(a).toMatchObject({ data: null, nextRunAt: null, repeatInterval: '5 minutes', disabled: false, fork: false });
    for (const k of ['lockedAt', 'lastRunAt', 'failCount', 'failReason', 'progress', 'lastModifiedBy', 'skipDays', 'startDate'] as const) {
      expect(a[k], k).toBeUndefined();
    }
    for (const data of [null, 'text', 0, false, [1, [2, null]]]) {
      const j = await repo.saveJob(newJob({ name: 'scalar', data }), undefined);
      expect((await repo.getJobById(j._id!))!.data).toEqual(data);
    }
  });

  it('saveJob with _id rewrites the definition, clears failure fields Job.save() omits, and returns a gone job unchanged', async () => {
    const j = await repo.saveJob(newJob({ name: 'by-id', data: { v: 1 } }), undefined);
    await repo.saveJobState({ ...j, failCount: 3, failReason: 'x', failedAt: new Date(), lastRunAt: at('2024-01-01T00:00:00.123Z') }, undefined);
    const updated = await repo.saveJob({ ...j, data: { v: 2 }, priority: 5 }, { lastModifiedBy: 'me' });
    expect(updated).toMatchObject({ _id: j._id, data: { v: 2 }, priority: 5, lastModifiedBy: 'me', failCount: undefined, failReason: undefined });
    expect(ms(updated.lastRunAt)).toBe(at('2024-01-01T00:00:00.123Z').getTime());

    await repo.removeJobs({ id: j._id });
    const ghost = { ...j, data: { v: 3 } };
    expect(await repo.saveJob(ghost, undefined)).toBe(ghost);
    expect(await countJobs(handle.db)).toBe(0);
  });

  it('single: one row per name; a due nextRunAt never replaces a stored one, a future one does', async () => {
    const future1 = new Date(Date.now() + 60_000);
    const a = await repo.saveJob(newJob({ name: 'every', type: 'single', nextRunAt: future1, repeatInterval: '1 minute', data: { v: 1 } }), undefined);
    const lastRunAt = at('2024-05-06T07:08:09.123Z');
    await repo.saveJobState({ ...a, lastRunAt, lockedAt: undefined }, undefined);

    const future2 = new Date(Date.now() + 120_000);
    const b = await repo.saveJob(newJob({ name: 'every', type: 'single', nextRunAt: future2, repeatInterval: '2 minutes', data: { v: 2 } }), { lastModifiedBy: 'b' });
    expect(b).toMatchObject({ _id: a._id, repeatInterval: '2 minutes', data: { v: 2 }, lastModifiedBy: 'b' });
    expect(ms(b.nextRunAt)).toBe(future2.getTime());
    expect(ms(b.lastRunAt)).toBe(lastRunAt.getTime()); // run history survives re-registration

    const c = await repo.saveJob(newJob({ name: 'every', type: 'single', nextRunAt: new Date(Date.now() - 1000), repeatInterval: '2 minutes' }), undefined);
    expect(ms(c.nextRunAt)).toBe(future2.getTime());

    await repo.saveJobState({ ...c, nextRunAt: null }, undefined);
    const due = new Date(Date.now() - 5);
    const d = await repo.saveJob(newJob({ name: 'every', type: 'single', nextRunAt: due, repeatInterval: '2 minutes' }), undefined);
    expect(ms(d.nextRunAt)).toBe(due.getTime());
    expect(await countJobs(handle.db, 'every')).toBe(1);

    // A normal job of the same name is a different job.
    await repo.saveJob(newJob({ name: 'every' }), undefined);
    expect(await countJobs(handle.db, 'every')).toBe(2);
  });

  it('unique + insertOnly returns the existing job unchanged; without insertOnly the match is updated', async () => {
    const save = (userId: unknown, v: string, insertOnly = true) => repo.saveJob(newJob({
      name: 'welcome', data: { userId, v }, unique: { 'data.userId': userId }, uniqueOpts: { insertOnly },
    }), undefined);
    const first = await save(7, 'a');
    const second = await save(7, 'b');
    expect(second).toEqual(first);
    // Postgres compares data->>'userId' as text: 7 and '7' are the same key there too.
    expect((await save('7', 'c'))._id).toBe(first._id);
    expect(await countJobs(handle.db)).toBe(1);

    const other = await save(8, 'a');
    expect(other._id).not.toBe(first._id);

    const updated = await save(7, 'd', false);
    expect(updated).toMatchObject({ _id: first._id, data: { userId: 7, v: 'd' } });
    expect(await countJobs(handle.db)).toBe(2);

    // Key order does not matter; the job name is part of the key.
    const ab = await repo.saveJob(newJob({ name: 'pair', unique: { 'data.a': 1, 'data.b': 2 } }), undefined);
    const ba = await repo.saveJob(newJob({ name: 'pair', unique: { 'data.b': 2, 'data.a': 1 } }), undefined);
    expect(ba._id).toBe(ab._id);
    const elsewhere = await repo.saveJob(newJob({ name: 'pair-2', unique: { 'data.a': 1, 'data.b': 2 } }), undefined);
    expect(elsewhere._id).not.toBe(ab._id);

    await expect(repo.saveJob(newJob({ name: 'bad', unique: { 'evil; DROP': 1 } }), undefined)).rejects.toThrow(/Invalid unique constraint field/);
  });

  it('unique + insertOnly: saves racing on one key all get the one row; a new job costs one statement, an existing one two', async () => {
    const save = (v: number) => repo.saveJob(newJob({
      name: 'wake', data: { serviceId: 's-1', v }, unique: { 'data.serviceId': 's-1' }, uniqueOpts: { insertOnly: true },
    }), undefined);
    const statements: string[] = [];
    const count = (q: { sql: string }) => statements.push(q.sql);
    handle.db.on('query', count);
    const first = await save(0);
    handle.db.off('query', count);
    expect(statements).toHaveLength(1);
    expect(first.data).toEqual({ serviceId: 's-1', v: 0 });
    // What the save returns without reading is what a read finds.
    expect(await repo.getJobById(String(first._id))).toEqual(first);
    handle.db.on('query', count);
    expect((await save(1))._id).toBe(first._id);
    handle.db.off('query', count);
    expect(statements).toHaveLength(3);

    const raced = await Promise.all(Array.from({ length: 8 }, (_, i) => save(i + 1)));
    expect(new Set(raced.map((j) => String(j._id)))).toEqual(new Set([String(first._id)]));
    // The first save's definition stands: an insert-only save never rewrites the row it finds.
    expect(raced.every((j) => (j.data as { v: number }).v === 0)).toBe(true);
    expect(await countJobs(handle.db, 'wake')).toBe(1);

    // Gone (the job ran and removed itself): the next save creates it again.
    await repo.removeJobs({ id: first._id });
    const again = await save(9);
    expect(again._id).not.toBe(first._id);
    expect(again.data).toEqual({ serviceId: 's-1', v: 9 });
  });

  it('debounce trailing pushes nextRunAt on each save within the window; maxWait forces a run and resets the window', async () => {
    const t0 = at('2030-06-01T00:00:00.000Z').getTime();
    vi.useFakeTimers({ toFake: ['Date'] });
    const save = async (offset: number, v: number) => {
      vi.setSystemTime(t0 + offset);
      return repo.saveJob(newJob({
        name: 'reindex', nextRunAt: new Date(), data: { entity: 'products', v }, unique: { 'data.entity': 'products' },
        uniqueOpts: { debounce: { delay: 1000, maxWait: 3000, strategy: 'trailing' } },
      }), undefined);
    };
    const a = await save(0, 1);
    expect([ms(a.nextRunAt), ms(a.debounceStartedAt)]).toEqual([t0 + 1000, t0]);
    const b = await save(500, 2);
    expect([b._id, ms(b.nextRunAt), ms(b.debounceStartedAt), b.data]).toEqual([a._id, t0 + 1500, t0, { entity: 'products', v: 2 }]);
    const c = await save(2000, 3);
    expect([ms(c.nextRunAt), ms(c.debounceStartedAt)]).toEqual([t0 + 3000, t0]);
    const d = await save(3000, 4); // maxWait reached: run now, window closed
    expect([ms(d.nextRunAt), d.debounceStartedAt]).toEqual([t0 + 3000, undefined]);
    const e = await save(3100, 5); // a new window opens
    expect([ms(e.nextRunAt), ms(e.debounceStartedAt)]).toEqual([t0 + 4100, t0 + 3100]);
    expect(await countJobs(handle.db)).toBe(1);
  });

  it('debounce leading runs at the first save and later saves only update data', async () => {
    const t0 = at('2030-06-01T00:00:00.000Z').getTime();
    vi.useFakeTimers({ toFake: ['Date'] });
    const save = async (offset: number, v: number) => {
      vi.setSystemTime(t0 + offset);
      return repo.saveJob(newJob({
        name: 'notify', nextRunAt: new Date(), data: { channel: '#ops', v }, unique: { 'data.channel': '#ops' },
        uniqueOpts: { debounce: { delay: 60_000, strategy: 'leading' } },
      }), undefined);
    };
    const a = await save(0, 1);
    expect([ms(a.nextRunAt), ms(a.debounceStartedAt)]).toEqual([t0, t0]);
    const b = await save(10_000, 2);
    expect([b._id, ms(b.nextRunAt), ms(b.debounceStartedAt), b.data]).toEqual([a._id, t0, t0, { channel: '#ops', v: 2 }]);
  });
});
