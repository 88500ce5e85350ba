import supertest from 'supertest';
import { describe, expect, it } from 'vitest';
import { SCHEDULE_JOB } from '../../module/scheduler/agenda-scheduler.js';
import { DATABASES } from '../helpers/databases.js';
import { useDatabase } from '../helpers/db-suite.js';
import { appFor } from '../helpers/http-app.js';

describe.each(DATABASES)('a web-only process (scheduler off) beside a scheduler process ($kind)', (kind) => {
  const handle = useDatabase(kind);

  it('writes schedule changes to the shared job store and shows their next execution; the other process runs them', async () => {
    // Two module instances on one database, as two panel processes.
    const web = await handle.module({ config: { scheduler: { enabled: false } } });
    const worker = await handle.module({ config: { scheduler: { enabled: true, processEveryMs: 100, reconcileEveryMs: 0 } } });
    await web.mod.start();
    await worker.mod.start();
    const api = supertest(appFor(web.mod));
    // Today's occurrence is this very minute, so once made due it runs rather than counting as missed.
    const now = new Date();
    const created = await api.post('/api/v1/services/svc-1/schedules').set('x-test-actor', 'alice')
      .send({ name: 'From web', days: [0, 1, 2, 3, 4, 5, 6], hour: now.getUTCHours(), minute: now.getUTCMinutes(), timezone: 'UTC', keep: 2 });
    expect(created.status).toBe(201);
    const jobs = () => handle.db('snapshot_jobs').where({ name: SCHEDULE_JOB });
    const [job] = await jobs();
    expect(created.body.schedule.nextRunAt).toBe(new Date(job.next_run_at).toISOString());
    // Made due: the worker process runs it (the web process never claims jobs).
    await jobs().update({ next_run_at: new Date(Date.now() - 1000) });
    await expect.poll(async () => (await handle.db('snapshot_snapshots').where({ schedule_id: created.body.schedule.id })).length, { timeout: 10_000 }).toBe(1);
    const [ran] = await jobs();
    expect(ran.last_modified_by).toMatch(/^snapshots-/);
    // Disabling from the web process removes the job for every process.
    await api.patch(`/api/v1/services/svc-1/schedules/${created.body.schedule.id}`).set('x-test-actor', 'alice').send({ enabled: false });
    expect(await jobs()).toHaveLength(0);
  });
});
