import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { Schedule } from '../../module/domain/types.js';
import { AgendaScheduler, SCHEDULE_JOB, scheduleJobKey } from '../../module/scheduler/agenda-scheduler.js';
import { KnexBackend } from '../../module/scheduler/knex-backend/index.js';
import { uniqueKey } from '../../module/scheduler/knex-backend/unique-key.js';
import { DATABASES } from '../helpers/databases.js';
import { useDatabase } from '../helpers/db-suite.js';
import { countJobs } from './job-fixtures.js';

const OTHER_SCHEDULES = 2_000;
const BASE = Date.parse('2030-01-07T00:00:00.000Z');

function schedule(id: number, over: Partial<Schedule> = {}): Schedule {
  const now = new Date();
  return {
    id, serviceId: 'svc-1', name: `s${id}`, enabled: true, disabledReason: null, days: [1], hour: 4, minute: 30, timezone: 'Asia/Seoul',
    keep: 2, includeMemory: false, lastRunAt: null, lastResult: null, lastError: null, createdAt: now, updatedAt: now, ...over,
  };
}

describe.each(DATABASES)('schedule next runs and removal read only the schedules asked for ($kind)', (kind) => {
  const handle = useDatabase(kind);

  it('answers from the unique-key index among thousands of jobs, and removes exactly one job', async () => {
    const { db } = handle;
    const backend = new KnexBackend({ db });
    await backend.connect();
    const scheduler = new AgendaScheduler({
      backend, logger: pino({ level: 'silent' }), graceMs: 60_000, processEveryMs: 60_000, concurrency: 1, lockLifetimeMs: 60_000, workerName: 'test',
      run: async () => 'started', missed: async () => undefined,
    });
    // Thousands of schedule jobs (each due a minute after the previous) plus jobs of another name.
    const rows = Array.from({ length: OTHER_SCHEDULES }, (_, i) => ({
      id: randomUUID(), name: SCHEDULE_JOB, next_run_at: new Date(BASE + (i + 1) * 60_000), repeat_interval: '30 4 * * 1',
      repeat_timezone: 'UTC', data: JSON.stringify({ scheduleId: i + 1 }), unique_key: uniqueKey(SCHEDULE_JOB, scheduleJobKey(i + 1)),
    }));
    rows.push(...Array.from({ length: 300 }, (_, i) => ({ ...rows[i]!, id: randomUUID(), name: 'other-job', unique_key: `other-${i}` })));
    await db.batchInsert('snapshot_jobs', rows, 200);
    // Real schedules saved the way the domain saves them.
    await scheduler.sync(schedule(5001));
    await scheduler.sync(schedule(5002, { enabled: false }));
    await scheduler.sync(schedule(5003));
    await db('snapshot_jobs').where({ unique_key: uniqueKey(SCHEDULE_JOB, scheduleJobKey(5003)) }).update({ disabled: true });

    let rowsRead = 0;
    const count = (response: unknown, q: { sql?: string }) => {
      if (/^select/i.test(q.sql ?? '') && q.sql!.includes('snapshot_jobs') && Array.isArray(response)) rowsRead += response.length;
    };
    db.on('query-response', count);
    const next = await scheduler.nextRuns([1500, 5001, 5002, 5003, 9999, 7]);
    db.off('query-response', count);

    expect(next.get(1500)?.toISOString()).toBe(new Date(BASE + 1500 * 60_000).toISOString());
    expect(next.get(7)?.toISOString()).toBe(new Date(BASE + 7 * 60_000).toISOString());
    // 5001 runs on a Monday at 04:30 in Seoul.
    const seoul = new Intl.DateTimeFormat('en-US', { timeZone: 'Asia/Seoul', weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
      .format(next.get(5001)!);
    expect(seoul).toBe('Mon 04:30');
    expect(next.get(5002)).toBeNull(); // disabled schedule: no job
    expect(next.get(5003)).toBeNull(); // job paused in the store
    expect(next.get(9999)).toBeNull(); // unknown
    expect([...next.keys()]).toEqual([1500, 5001, 5002, 5003, 9999, 7]);
    // Only the matching jobs came back from the database, not the table.
    expect(rowsRead).toBe(4);

    expect(await scheduler.nextRuns([])).toEqual(new Map());
    const before = await countJobs(db);
    await scheduler.remove(1500);
    expect(await countJobs(db)).toBe(before - 1);
    expect((await scheduler.nextRuns([1500])).get(1500)).toBeNull();
    expect((await scheduler.nextRuns([1499])).get(1499)?.toISOString()).toBe(new Date(BASE + 1499 * 60_000).toISOString());
    await scheduler.remove(424242); // nothing to remove is fine
    expect(await countJobs(db)).toBe(before - 1);
  });

  it('looks up more schedules than one IN list holds', async () => {
    const backend = new KnexBackend({ db: handle.db });
    await backend.connect();
    const rows = Array.from({ length: 1_200 }, (_, i) => ({
      id: randomUUID(), name: SCHEDULE_JOB, next_run_at: new Date(BASE + i * 1000), data: JSON.stringify({ scheduleId: i }),
      unique_key: uniqueKey(SCHEDULE_JOB, scheduleJobKey(i)),
    }));
    await handle.db.batchInsert('snapshot_jobs', rows, 200);
    const ids = Array.from({ length: 1_200 }, (_, i) => i).reverse();
    const found = await backend.repository.findUnique(SCHEDULE_JOB, ids.map(scheduleJobKey));
    expect(found.map((j) => j?.nextRunAt?.getTime())).toEqual(ids.map((i) => BASE + i * 1000));
    expect(await backend.repository.findUnique('other-name', [scheduleJobKey(3)])).toEqual([null]);
  });
});
