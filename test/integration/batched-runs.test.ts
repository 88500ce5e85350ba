import { describe, expect, it } from 'vitest';
import { LimitsRepo } from '../../module/db/limits-repo.js';
import type { ActionContext } from '../../module/index.js';
import { SCHEDULE_JOB } from '../../module/scheduler/agenda-scheduler.js';
import { DATABASES } from '../helpers/databases.js';
import { useDatabase } from '../helpers/db-suite.js';
import { makeService } from '../helpers/module-fixture.js';
import { waitFor } from '../helpers/wait-for.js';

const CTX: ActionContext = { actor: { type: 'customer', id: 'alice' } };
// Room for everything on `roomy`; `tight` (its own plan) has room for two of its three; `paused` is suspended.
const roomy = makeService({ id: 'svc-roomy', target: { driver: 'simulated', node: 'node1', vmId: '101' } });
const tight = makeService({ id: 'svc-tight', planId: 'tight', target: { driver: 'simulated', node: 'node2', vmId: '102' } });
const paused = makeService({ id: 'svc-paused', target: { driver: 'simulated', node: 'node1', vmId: '103' } });

// Runs falling due together go through ScheduleRunBatcher: the common ones share one transaction, the
// others (limit reached, suspended) take runSchedule's own path; the outcome is what runs one by one give.
describe.each(DATABASES)('scheduled runs due together ($kind)', (kind) => {
  const handle = useDatabase(kind);

  it('create every snapshot with its operation and audit events, refuse what runs alone would refuse, and run each occurrence once', async () => {
    const fx = await handle.module({ services: [roomy, tight, paused], config: { scheduler: { processEveryMs: 100, concurrency: 20 } } });
    const limits = new LimitsRepo(handle.db);
    const plan = { maxSchedules: 5, maxKeep: 5, memoryAllowed: false, schedulesAllowed: true, cloneAllowed: true };
    await limits.set('basic', { ...plan, maxSnapshots: 10 });
    await limits.set('tight', { ...plan, maxSnapshots: 2 });
    const now = new Date();
    const at = { days: [now.getUTCDay()], hour: now.getUTCHours(), minute: now.getUTCMinutes(), timezone: 'UTC', keep: 5 };
    const ids: Record<string, number[]> = {};
    for (const [service, count] of [[roomy, 4], [tight, 3], [paused, 2]] as const) {
      ids[service.id] = [];
      for (let i = 0; i < count; i++) ids[service.id]!.push((await fx.mod.schedules.create(service, { name: `s${i}`, ...at }, CTX)).id);
    }
    await fx.mod.hooks.serviceSuspended(paused.id);
    // Every service has its state row, as after its first snapshot: the common runs may batch.
    for (const s of [roomy, tight]) {
      await handle.db('snapshot_services').insert({ service_id: s.id, plan_id: s.planId, suspended: false, terminated: false, created_at: now, updated_at: now })
        .onConflict('service_id').ignore();
    }
    const statements: string[] = [];
    handle.db.on('query', (q: { sql: string }) => statements.push(q.sql));
    await fx.mod.start();
    await handle.db('snapshot_jobs').where({ name: SCHEDULE_JOB }).update({ next_run_at: new Date(Date.now() - 1000) });
    const all = Object.values(ids).flat();
    await waitFor(async () => (await handle.db('snapshot_schedules').whereIn('id', all).whereNotNull('last_result')).length === all.length, 15_000, 'every run');
    await waitFor(async () => (await handle.db('snapshot_operations').whereIn('status', ['queued', 'running'])).length === 0, 15_000, 'operations');

    // Batched: the snapshots of one transaction are looked up by their hypervisor names.
    expect(statements.some((sql) => /hv_name.? in \(/i.test(sql))).toBe(true);
    const snapshots = await handle.db('snapshot_snapshots').select('service_id', 'schedule_id', 'status', 'created_by', 'origin');
    expect(snapshots.filter((s) => s.service_id === roomy.id)).toHaveLength(4);
    expect(snapshots.filter((s) => s.service_id === tight.id)).toHaveLength(2);
    expect(snapshots.filter((s) => s.service_id === paused.id)).toHaveLength(0);
    expect(snapshots.every((s) => s.status === 'active' && s.origin === 'schedule' && String(s.created_by) === String(s.schedule_id))).toBe(true);
    // One create operation per snapshot, each succeeded.
    const ops = await handle.db('snapshot_operations').select('kind', 'status', 'origin');
    expect(ops).toHaveLength(6);
    expect(ops.every((o) => o.kind === 'create' && o.status === 'succeeded' && o.origin === 'schedule')).toBe(true);
    const runs = await handle.db('snapshot_audit_events').where({ action: 'schedule.run' }).select('service_id', 'result', 'code');
    const outcome = (service: string) => runs.filter((r) => r.service_id === service).map((r) => `${r.result}:${r.code ?? ''}`).sort();
    expect(outcome(roomy.id)).toEqual(['ok:', 'ok:', 'ok:', 'ok:']);
    expect(outcome(tight.id)).toEqual(['ok:', 'ok:', 'refused:snapshot_limit_reached']);
    expect(outcome(paused.id)).toEqual(['refused:paused', 'refused:paused']);
    expect(await handle.db('snapshot_audit_events').where({ action: 'snapshot.create', result: 'ok' })).toHaveLength(6);
    const results = await handle.db('snapshot_schedules').whereIn('id', ids[roomy.id]!).select('last_result');
    expect(results.map((r) => r.last_result)).toEqual(['ok', 'ok', 'ok', 'ok']);

    // The same occurrence again (a worker that outlived its lock): nothing more is created.
    await handle.db('snapshot_jobs').where({ name: SCHEDULE_JOB }).update({ next_run_at: new Date(Date.now() - 1000) });
    await waitFor(async () => (await handle.db('snapshot_jobs').where({ name: SCHEDULE_JOB }).where('next_run_at', '<', new Date())).length === 0, 15_000, 'second pass');
    expect(await handle.db('snapshot_snapshots')).toHaveLength(6);
    expect(await handle.db('snapshot_audit_events').where({ action: 'schedule.run' })).toHaveLength(9);
  });
});
