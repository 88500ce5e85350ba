import { describe, expect, it } from 'vitest';
import type { PanelService } from '../../module/domain/types.js';
import { SCHEDULE_JOB } from '../../module/scheduler/agenda-scheduler.js';
import { DATABASES } from '../helpers/databases.js';
import { type ModuleFixture, useDatabase } from '../helpers/db-suite.js';
import { makeService } from '../helpers/module-fixture.js';
import { waitFor } from '../helpers/wait-for.js';

const PER_SERVICE = 10;

describe.each(DATABASES)('each scheduled run fires exactly once with two workers ($kind)', (kind) => {
  // MariaDB carries the full 1,000; SQLite (one writer at a time) a smaller set of the same shape.
  const runs = kind.kind === 'mysql' ? 1000 : 200;
  const handle = useDatabase(kind);

  it(`${runs} due runs → exactly ${runs} snapshots`, { timeout: 240_000 }, async () => {
    const second = await handle.secondHandle();
    const fixtures: ModuleFixture[] = [];
    const services: PanelService[] = Array.from({ length: runs / PER_SERVICE }, (_, i) =>
      makeService({ id: `svc-${i}`, target: { driver: 'simulated', node: `node${i % 10}`, vmId: String(i) } }));
    const config = {
      defaultLimits: { maxSnapshots: PER_SERVICE * 2, maxSchedules: PER_SERVICE, maxKeep: 5, memoryAllowed: true, schedulesAllowed: true },
      scheduler: { processEveryMs: 100, concurrency: 10 },
    };
    for (const db of [handle.db, second]) fixtures.push(await handle.module({ services, config, operations: { perNodeConcurrency: 4 } }, db));
    const [a, b] = fixtures as [typeof fixtures[0], typeof fixtures[0]];

    // Every schedule's occurrence is this very minute, so each job is due and within the grace window.
    const now = new Date();
    const ids: number[] = [];
    for (const s of services) {
      for (let k = 0; k < PER_SERVICE; k++) {
        const schedule = await a.mod.schedules.create(s, {
          name: `s${k}`, days: [now.getUTCDay()], hour: now.getUTCHours(), minute: now.getUTCMinutes(), timezone: 'UTC', keep: 5,
        }, { actor: { type: 'admin', id: 'root' } });
        ids.push(schedule.id);
      }
    }
    // Both workers start (each re-syncs the jobs: upserts, not duplicates), then everything is due.
    await Promise.all([a.mod.start(), b.mod.start()]);
    expect(Number((await handle.db('snapshot_jobs').where({ name: SCHEDULE_JOB }).count({ n: '*' }).first())!.n)).toBe(runs);
    await handle.db('snapshot_jobs').where({ name: SCHEDULE_JOB }).update({ next_run_at: new Date(Date.now() - 1000) });

    const count = async () => Number((await handle.db('snapshot_snapshots').count({ n: '*' }).first())!.n);
    await waitFor(async () => (await count()) >= runs, 200_000, `${runs} scheduled snapshots`);
    // Give a duplicate the chance to show up before counting for good.
    await new Promise((r) => setTimeout(r, 1500));
    expect(await count()).toBe(runs);
    const perSchedule: { schedule_id: number; n: number }[] = await handle.db('snapshot_snapshots').select('schedule_id').count({ n: '*' }).groupBy('schedule_id');
    expect(perSchedule).toHaveLength(runs);
    expect(perSchedule.every((r) => Number(r.n) === 1)).toBe(true);
    expect(new Set(perSchedule.map((r) => Number(r.schedule_id)))).toEqual(new Set(ids));
    // Agenda stamps each job with the worker that last ran it. On MariaDB both workers share the load;
    // SQLite has one writer at a time, so one worker may well take every job there.
    const workers = (await handle.db('snapshot_jobs').where({ name: SCHEDULE_JOB }).distinct('last_modified_by')).filter((w) => w.last_modified_by);
    if (kind.kind === 'mysql') expect(workers).toHaveLength(2);
    else expect(workers.length).toBeGreaterThanOrEqual(1);
    // The reconcile pass is one job shared by both workers, not one each.
    expect(await handle.db('snapshot_jobs').where({ name: 'snapshot-reconcile' })).toHaveLength(1);
    const started = await handle.db('snapshot_audit_events').where({ action: 'schedule.run', result: 'ok' }).count({ n: '*' }).first();
    expect(Number(started!.n)).toBe(runs);
  });
});
