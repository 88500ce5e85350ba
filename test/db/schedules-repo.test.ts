import { beforeEach, describe, expect, it } from 'vitest';
import { SchedulesRepo, type NewSchedule } from '../../module/db/schedules-repo.js';
import { insertedId } from '../../module/db/values.js';
import { DATABASES, type TestDatabase } from '../helpers/databases.js';
import { useDatabase } from '../helpers/db-suite.js';

const NEW: NewSchedule = {
  serviceId: 'svc-1', name: '주간 백업 週次', enabled: true, days: [0, 3, 6], hour: 3, minute: 30, timezone: 'Asia/Seoul',
  keep: 3, includeMemory: true,
};

describe.each(DATABASES)('SchedulesRepo ($kind)', (kind: TestDatabase) => {
  const handle = useDatabase(kind);
  let repo: SchedulesRepo;

  beforeEach(async () => {
    repo = new SchedulesRepo(handle.db);
  });

  // The service id is not a patchable field, yet insert must store it.
  it('insert stores a new schedule and get reads it back', async () => {
    const id = await repo.insert(NEW);
    expect(await repo.get(id)).toMatchObject({
      id, serviceId: 'svc-1', name: NEW.name, enabled: true, disabledReason: null, days: [0, 3, 6], hour: 3, minute: 30,
      timezone: 'Asia/Seoul', keep: 3, includeMemory: true, lastRunAt: null, lastResult: null,
    });
  });

  it('update, listForService and removeForService work on stored rows', async () => {
    const now = new Date();
    const row = (serviceId: string, name: string) => ({
      service_id: serviceId, name, enabled: true, days: '1', hour: 2, minute: 0, timezone: 'UTC', keep: 2,
      include_memory: false, created_at: now, updated_at: now,
    });
    const a = insertedId(await handle.db('snapshot_schedules').insert(row('svc-1', 'a')));
    const b = insertedId(await handle.db('snapshot_schedules').insert(row('svc-1', 'b')));
    const other = insertedId(await handle.db('snapshot_schedules').insert(row('svc-2', 'c')));

    const lastRunAt = new Date('2024-03-04T05:06:07.089Z');
    await repo.update(a, { enabled: false, disabledReason: 'plan_schedule_limit', days: [2, 4], keep: 7, lastRunAt, lastResult: 'ok' });
    expect(await repo.get(a)).toMatchObject({
      enabled: false, disabledReason: 'plan_schedule_limit', days: [2, 4], keep: 7, lastResult: 'ok', name: 'a',
    });
    expect((await repo.get(a))!.lastRunAt!.getTime()).toBe(lastRunAt.getTime());

    expect((await repo.listForService('svc-1')).map((s) => s.id)).toEqual([a, b]);
    expect(await repo.removeForService('svc-1')).toBe(2);
    expect(await repo.listForService('svc-1')).toEqual([]);
    expect((await repo.listForService('svc-2')).map((s) => s.id)).toEqual([other]);
  });
});
