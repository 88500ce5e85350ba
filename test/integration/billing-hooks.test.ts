import supertest from 'supertest';
import { describe, expect, it } from 'vitest';
import { AuditRepo } from '../../module/db/audit-repo.js';
import { LimitsRepo } from '../../module/db/limits-repo.js';
import { OperationsRepo } from '../../module/db/operations-repo.js';
import { SchedulesRepo } from '../../module/db/schedules-repo.js';
import { SnapshotsRepo } from '../../module/db/snapshots-repo.js';
import type { ActionContext } from '../../module/index.js';
import { SCHEDULE_JOB } from '../../module/scheduler/agenda-scheduler.js';
import { DATABASES, type TestDatabase } from '../helpers/databases.js';
import { useDatabase, useModule } from '../helpers/db-suite.js';
import { appFor } from '../helpers/http-app.js';
import { makeService } from '../helpers/module-fixture.js';
import { waitFor } from '../helpers/wait-for.js';

// What lifecycle.test.ts does not cover: deliveries repeated (one after another and at once) cause
// no second notification or second effect, every hook is audited, bad input is refused, and the
// scheduler's jobs follow the schedules a billing event changed.

const CTX: ActionContext = { actor: { type: 'customer', id: 'alice' } };
const GiB = 1024 ** 3;
const SERVICE = makeService(); // svc-1, 'web-01', plan 'basic', 20 GiB

describe.each(DATABASES)('billing hooks: repeats, audit, input ($kind)', (kind: TestDatabase) => {
  const fx = useModule(kind);

  const hooks = () => fx.mod.hooks;
  const audit = (action: string) => new AuditRepo(fx.db).list({ serviceId: SERVICE.id, action });
  const notes = (type: string) => fx.notifications.filter((n) => n.type === type);

  async function activeSnapshots(n: number) {
    await fx.mod.start();
    for (let i = 0; i < n; i++) await fx.mod.snapshots.create(SERVICE, { name: `snap ${i + 1}` }, CTX);
    await waitFor(async () => (await new SnapshotsRepo(fx.db).listForService(SERVICE.id)).filter((s) => s.status === 'active').length === n, 5_000, 'active');
    await waitFor(async () => (await new OperationsRepo(fx.db).pendingForService(SERVICE.id)).length === 0, 2_000, 'queue empty');
    fx.notifications.length = 0;
  }

  it('a refused growth asked twice is audited twice but mailed once; another question is mailed again', async () => {
    await activeSnapshots(2);
    const ask = { newPlanId: 'large', newDiskBytes: 40 * GiB };
    const first = await hooks().beforePlanChange(SERVICE.id, ask, { locale: 'ko' });
    const second = await hooks().beforePlanChange(SERVICE.id, ask, { locale: 'ja' });
    expect(first).toMatchObject({ allowed: false, reason: 'snapshots_exist', snapshotCount: 2 });
    expect(second).toMatchObject({ allowed: false, reason: 'snapshots_exist', snapshotCount: 2 });
    expect(first.message).toContain('스냅샷');
    expect(second.message).toContain('スナップショット');
    expect(notes('storage_expansion_refused')).toHaveLength(1);
    const rows = (await audit('billing.before_plan_change')).reverse();
    expect(rows.map((a) => [a.result, a.code, a.details?.repeated ?? false])).toEqual([['refused', 'snapshots_exist', false], ['refused', 'snapshots_exist', true]]);

    await hooks().beforePlanChange(SERVICE.id, { newPlanId: 'huge', newDiskBytes: 80 * GiB });
    expect(notes('storage_expansion_refused')).toHaveLength(2);
    // An allowed question in between does not make the refusal new again.
    await hooks().beforePlanChange(SERVICE.id, { newPlanId: 'same-disk' });
    await hooks().beforePlanChange(SERVICE.id, { newPlanId: 'huge', newDiskBytes: 80 * GiB });
    expect(notes('storage_expansion_refused')).toHaveLength(3);
  });

  it('refuses bad plan-change input and unknown services with typed errors', async () => {
    await expect(hooks().beforePlanChange(SERVICE.id, { newPlanId: 'x', newDiskBytes: -1 }))
      .rejects.toMatchObject({ code: 'validation_failed', fields: { newDiskBytes: { code: 'field_invalid' } } });
    await expect(hooks().beforePlanChange(SERVICE.id, { newPlanId: '  ', newDiskBytes: 1 }))
      .rejects.toMatchObject({ code: 'validation_failed', fields: { newPlanId: { code: 'field_invalid' } } });
    await expect(hooks().beforePlanChange(SERVICE.id, { newPlanId: 'x', newDiskBytes: 1.5 })).rejects.toMatchObject({ code: 'validation_failed' });
    for (const call of [
      () => hooks().beforePlanChange('nope', { newPlanId: 'x' }), () => hooks().afterPlanChange('nope'),
      () => hooks().serviceSuspended('nope'), () => hooks().serviceUnsuspended('nope'), () => hooks().serviceTerminated('nope'),
      () => hooks().canExpandStorage('nope'), () => hooks().canExpandStorage('../etc'),
    ]) await expect(call()).rejects.toMatchObject({ code: 'service_not_found', status: 404 });
    expect(await new AuditRepo(fx.db).list({})).toEqual([]);
  });

  it('canExpandStorage answers from the snapshots and is audited', async () => {
    expect(await hooks().canExpandStorage(SERVICE.id)).toBe(true);
    await activeSnapshots(1);
    expect(await hooks().storageExpansion(SERVICE.id)).toEqual({ canExpand: false, snapshotCount: 1 });
    const rows = (await audit('billing.can_expand_storage')).reverse();
    expect(rows.map((a) => [a.result, a.actorType, a.details?.snapshotCount])).toEqual([['ok', 'billing', 0], ['refused', 'billing', 1]]);
  });

  it('a plan change delivered twice, or twice at once, notifies once; one without effect notifies nobody', async () => {
    await activeSnapshots(3);
    await new LimitsRepo(fx.db).set('small', { maxSnapshots: 1, maxKeep: 2, memoryAllowed: false, schedulesAllowed: true, maxSchedules: 1, cloneAllowed: true });
    fx.services.set(SERVICE.id, { ...SERVICE, planId: 'small' });
    const both = await Promise.all([hooks().afterPlanChange(SERVICE.id), hooks().afterPlanChange(SERVICE.id)]);
    expect(both.map((r) => r.over)).toEqual([2, 2]);
    await hooks().afterPlanChange(SERVICE.id);
    expect(notes('plan_clamped')).toHaveLength(1);
    expect(notes('plan_clamped')[0]).toMatchObject({ params: { over: 2, schedules: 0 } });
    const rows = (await audit('billing.plan_changed')).reverse();
    expect(rows).toHaveLength(3);
    expect(rows.map((a) => a.details?.previousPlanId)).toEqual(['basic', 'small', 'small']);
    expect(await new SnapshotsRepo(fx.db).listForService(SERVICE.id)).toHaveLength(3);

    // A roomier plan: nothing clamped, nothing over, nothing to tell.
    await new LimitsRepo(fx.db).set('big', { maxSnapshots: 10, maxKeep: 10, memoryAllowed: true, schedulesAllowed: true, maxSchedules: 5, cloneAllowed: true });
    fx.services.set(SERVICE.id, { ...SERVICE, planId: 'big' });
    expect(await hooks().afterPlanChange(SERVICE.id)).toMatchObject({ planId: 'big', adjustments: [], over: 0 });
    expect(notes('plan_clamped')).toHaveLength(1);
  });

  it('suspended: the customer is refused and schedules pause; unsuspended: both resume', async () => {
    await new LimitsRepo(fx.db).set(SERVICE.planId, { maxSnapshots: 5, maxSchedules: 2, maxKeep: 3, memoryAllowed: true, schedulesAllowed: true, cloneAllowed: true });
    const schedule = await fx.mod.schedules.create(SERVICE, { name: 'Nightly', days: [1], hour: 3, minute: 0, timezone: 'UTC', keep: 2 }, CTX);
    const api = () => supertest(appFor(fx.mod)).post(`/api/v1/services/${SERVICE.id}/snapshots`).set('x-test-actor', 'alice').send({ name: 'manual' });

    await Promise.all([hooks().serviceSuspended(SERVICE.id), hooks().serviceSuspended(SERVICE.id)]);
    const changed = (await audit('billing.suspended')).map((a) => a.details?.changed).sort();
    expect(changed).toEqual([false, true]);
    const refused = await api();
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('service_suspended');
    expect(await fx.mod.runSchedule(schedule.id)).toBe('paused');
    expect(await new SnapshotsRepo(fx.db).listForService(SERVICE.id)).toEqual([]);
    expect(await new SchedulesRepo(fx.db).get(schedule.id)).toMatchObject({ enabled: true });

    await hooks().serviceUnsuspended(SERVICE.id);
    expect((await api()).status).toBe(202);
    expect(await fx.mod.runSchedule(schedule.id)).toBe('started');
    expect(await new SnapshotsRepo(fx.db).listForService(SERVICE.id)).toHaveLength(2);
  });

  it('two terminations at once: one applies, the other changes nothing', async () => {
    await activeSnapshots(2);
    await fx.mod.stop();
    const results = await Promise.all([hooks().serviceTerminated(SERVICE.id), hooks().serviceTerminated(SERVICE.id)]);
    expect(results.map((r) => r.changed).sort()).toEqual([false, true]);
    expect(results.map((r) => r.deleting).sort()).toEqual([0, 2]);
    const deletes = (await new OperationsRepo(fx.db).pendingForService(SERVICE.id)).filter((o) => o.kind === 'delete');
    expect(deletes).toHaveLength(2);
    expect(await audit('billing.terminated')).toHaveLength(2);
  });
});

describe.each(DATABASES)('billing hooks and the job scheduler ($kind)', (kind: TestDatabase) => {
  const handle = useDatabase(kind);

  it('schedules a plan change disables lose their jobs; termination removes the rest', async () => {
    const fx = await handle.module({ config: { scheduler: { processEveryMs: 1000 } } });
    await new LimitsRepo(handle.db).set(SERVICE.planId, { maxSnapshots: 5, maxSchedules: 3, maxKeep: 5, memoryAllowed: true, schedulesAllowed: true, cloneAllowed: true });
    await fx.mod.start();
    const jobs = async () => (await handle.db('snapshot_jobs').where({ name: SCHEDULE_JOB })).length;
    const body = { days: [1], hour: 3, minute: 0, timezone: 'UTC', keep: 2 };
    const older = await fx.mod.schedules.create(SERVICE, { ...body, name: 'A' }, CTX);
    const newer = await fx.mod.schedules.create(SERVICE, { ...body, name: 'B' }, CTX);
    expect(await jobs()).toBe(2);

    await new LimitsRepo(handle.db).set('one', { maxSnapshots: 5, maxSchedules: 1, maxKeep: 5, memoryAllowed: true, schedulesAllowed: true, cloneAllowed: true });
    fx.services.set(SERVICE.id, { ...SERVICE, planId: 'one' });
    await fx.mod.hooks.afterPlanChange(SERVICE.id);
    expect(await new SchedulesRepo(handle.db).get(newer.id)).toMatchObject({ enabled: false, disabledReason: 'plan_schedule_limit' });
    expect(await jobs()).toBe(1);
    const next = await fx.mod.schedules.list(fx.services.get(SERVICE.id)!);
    expect(next.find((x) => x.schedule.id === older.id)?.nextRun).not.toBeNull();
    expect(next.find((x) => x.schedule.id === newer.id)?.nextRun).toBeNull();

    await fx.mod.hooks.serviceTerminated(SERVICE.id);
    expect(await jobs()).toBe(0);
  });
});
