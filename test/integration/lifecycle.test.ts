import type { Knex } from 'knex';
import { beforeEach, describe, expect, it } from 'vitest';
import { AuditRepo } from '../../module/db/audit-repo.js';
import { LimitsRepo } from '../../module/db/limits-repo.js';
import { OperationsRepo } from '../../module/db/operations-repo.js';
import { SchedulesRepo, type NewSchedule } from '../../module/db/schedules-repo.js';
import { insertedId } from '../../module/db/values.js';
import { ServicesRepo } from '../../module/db/services-repo.js';
import { SnapshotsRepo } from '../../module/db/snapshots-repo.js';
import type { ActionContext } from '../../module/index.js';
import { QuotaExceededError } from '../../module/domain/errors.js';
import type { Snapshot } from '../../module/domain/types.js';
import type { SimulatedDriver } from '../../module/drivers/simulated/simulated-driver.js';
import { DATABASES, type TestDatabase } from '../helpers/databases.js';
import { type ModuleFixture, useDatabase } from '../helpers/db-suite.js';
import { makeService } from '../helpers/module-fixture.js';
import { waitFor } from '../helpers/wait-for.js';

const CTX: ActionContext = { actor: { type: 'customer', id: 'alice' } };
const GiB = 1024 ** 3;
const SERVICE = makeService(); // svc-1, 'web-01', plan 'basic', 20 GiB

const schedule = (over: Partial<NewSchedule> = {}): NewSchedule => ({
  serviceId: SERVICE.id, name: 'weekly', enabled: true, days: [0], hour: 3, minute: 0, timezone: 'Asia/Seoul',
  keep: 3, includeMemory: false, ...over,
});

/**
 * Writes a schedule row directly. SchedulesRepo.insert is broken on both databases (it passes
 * `serviceId` through the patch-column map, producing a column named "undefined"; see
 * test/db/schedules-repo.test.ts), so the lifecycle rules are tested on rows written here instead.
 */
async function insertSchedule(db: Knex, s: NewSchedule): Promise<number> {
  const now = new Date();
  return insertedId(await db('snapshot_schedules').insert({
    service_id: s.serviceId, name: s.name, enabled: s.enabled, days: s.days.join(','), hour: s.hour, minute: s.minute,
    timezone: s.timezone, keep: s.keep, include_memory: s.includeMemory, created_at: now, updated_at: now,
  }));
}

describe.each(DATABASES)('billing lifecycle hooks ($kind)', (kind: TestDatabase) => {
  const handle = useDatabase(kind);
  let fx: ModuleFixture;
  let snapshots: SnapshotsRepo;
  let schedules: SchedulesRepo;
  let operations: OperationsRepo;

  beforeEach(async () => {
    snapshots = new SnapshotsRepo(handle.db);
    schedules = new SchedulesRepo(handle.db);
    operations = new OperationsRepo(handle.db);
    fx = await handle.module();
  });

  const sim = () => fx.driver as SimulatedDriver;
  const hooks = () => fx.mod.hooks;
  const rowsOf = () => snapshots.listForService(SERVICE.id);
  const opsOf = async () => (await operations.list({ serviceId: SERVICE.id, limit: 500 })).sort((a, b) => a.id - b.id);

  /** Creates snapshots through the runner and waits until all are active (the runner keeps running). */
  async function activeSnapshots(n: number): Promise<Snapshot[]> {
    await fx.mod.start();
    const out: Snapshot[] = [];
    for (let i = 0; i < n; i++) out.push(await fx.mod.snapshots.create(SERVICE, { name: `snap ${i + 1}` }, CTX));
    await waitFor(async () => (await rowsOf()).filter((s) => s.status === 'active').length === n, 5_000, `${n} active`);
    await waitFor(async () => (await operations.pendingForService(SERVICE.id)).length === 0, 2_000, 'queue empty');
    return out;
  }

  describe('storage expansion', () => {
    it('refuses a disk that grows while snapshots exist, with reason, count and a message', async () => {
      await activeSnapshots(2);
      const decision = await hooks().beforePlanChange(SERVICE.id, { newPlanId: 'large', newDiskBytes: 40 * GiB });
      expect(decision).toMatchObject({ allowed: false, reason: 'snapshots_exist', snapshotCount: 2 });
      expect(typeof decision.message).toBe('string');
      expect(decision.message!.trim()).not.toBe('');

      const note = fx.notifications.find((n) => n.type === 'storage_expansion_refused');
      expect(note).toBeDefined();
      expect(note).toMatchObject({ serviceId: SERVICE.id, recipientId: SERVICE.ownerId, params: { count: 2 } });
      expect(note!.subject.trim()).not.toBe('');
      expect(await hooks().canExpandStorage(SERVICE.id)).toBe(false);

      const audit = await new AuditRepo(handle.db).list({ serviceId: SERVICE.id, action: 'billing.before_plan_change' });
      expect(audit.map((a) => [a.result, a.code, a.actorType])).toEqual([['refused', 'snapshots_exist', 'billing']]);
      // Asking changes nothing.
      expect((await rowsOf()).map((s) => s.status)).toEqual(['active', 'active']);
    });

    it('allows growth without snapshots, and same-size or shrinking changes with them', async () => {
      const grow = await hooks().beforePlanChange(SERVICE.id, { newPlanId: 'large', newDiskBytes: 40 * GiB });
      expect(grow).toMatchObject({ allowed: true, snapshotCount: 0, message: null });
      expect(grow.reason).toBeUndefined();
      expect(await hooks().canExpandStorage(SERVICE.id)).toBe(true);

      await activeSnapshots(1);
      expect(await hooks().beforePlanChange(SERVICE.id, { newPlanId: 'same', newDiskBytes: SERVICE.diskBytes }))
        .toMatchObject({ allowed: true, snapshotCount: 1, message: null });
      expect(await hooks().beforePlanChange(SERVICE.id, { newPlanId: 'smaller', newDiskBytes: 10 * GiB }))
        .toMatchObject({ allowed: true, snapshotCount: 1 });
      expect(await hooks().beforePlanChange(SERVICE.id, { newPlanId: 'no-disk-info' })).toMatchObject({ allowed: true });
      expect(fx.notifications.filter((n) => n.type === 'storage_expansion_refused')).toEqual([]);
      expect(await hooks().canExpandStorage(SERVICE.id)).toBe(false);
      // Growth by one byte is growth.
      expect(await hooks().beforePlanChange(SERVICE.id, { newPlanId: 'tiny-bit', newDiskBytes: SERVICE.diskBytes + 1 }))
        .toMatchObject({ allowed: false, reason: 'snapshots_exist', snapshotCount: 1 });
    });

    it('a snapshot still being created blocks expansion; a failed one does not', async () => {
      // Runner not started: the snapshot stays 'creating' but already occupies storage.
      const s = await fx.mod.snapshots.create(SERVICE, { name: 'in flight' }, CTX);
      expect(await hooks().canExpandStorage(SERVICE.id)).toBe(false);
      expect((await hooks().beforePlanChange(SERVICE.id, { newPlanId: 'large', newDiskBytes: 40 * GiB })).allowed).toBe(false);
      await snapshots.update(s.id, { status: 'failed', errorCode: 'driver_rejected' });
      expect(await hooks().canExpandStorage(SERVICE.id)).toBe(true);
      expect(await hooks().beforePlanChange(SERVICE.id, { newPlanId: 'large', newDiskBytes: 40 * GiB }))
        .toMatchObject({ allowed: true, snapshotCount: 0 });
    });

    it('once the snapshots are deleted the disk may grow', async () => {
      const [a, b] = await activeSnapshots(2);
      for (const s of [a!, b!]) await fx.mod.snapshots.delete(SERVICE, s.id, { confirm: true }, CTX);
      await waitFor(async () => (await rowsOf()).length === 0, 5_000, 'snapshots deleted');
      expect(await hooks().canExpandStorage(SERVICE.id)).toBe(true);
      expect((await hooks().beforePlanChange(SERVICE.id, { newPlanId: 'large', newDiskBytes: 40 * GiB })).allowed).toBe(true);
    });
  });

  describe('plan change (after)', () => {
    it('applies the smaller plan at once without deleting anything; schedules are clamped and disabled', async () => {
      const existing = await activeSnapshots(3);
      const older = await insertSchedule(handle.db, schedule({ name: 'sunday', keep: 5, includeMemory: true }));
      const newer = await insertSchedule(handle.db, schedule({ name: 'wednesday', days: [3], keep: 5, includeMemory: true }));
      const opsBefore = (await opsOf()).length;

      await new LimitsRepo(handle.db).set('small', { maxSnapshots: 1, maxKeep: 2, memoryAllowed: false, schedulesAllowed: true, maxSchedules: 1, cloneAllowed: true });
      fx.services.set(SERVICE.id, { ...SERVICE, planId: 'small' });
      const result = await hooks().afterPlanChange(SERVICE.id);

      expect(result.planId).toBe('small');
      expect(result.over).toBe(2);
      expect(result.adjustments).toHaveLength(2);

      // Nothing deleted: the three snapshots stay, no delete was queued, the hypervisor still has them.
      const rows = await rowsOf();
      expect(rows.map((s) => s.id).sort((x, y) => x - y)).toEqual(existing.map((s) => s.id));
      expect(rows.every((s) => s.status === 'active')).toBe(true);
      const ops = await opsOf();
      expect(ops).toHaveLength(opsBefore);
      expect(ops.some((o) => o.kind === 'delete')).toBe(false);
      expect(await sim().list(SERVICE.target)).toHaveLength(3);

      // Schedules: keep clamped, memory off, the newer one disabled (not deleted) beyond the limit.
      const olderRow = (await schedules.get(older))!;
      const newerRow = (await schedules.get(newer))!;
      expect(olderRow).toMatchObject({ keep: 2, includeMemory: false, enabled: true, disabledReason: null });
      expect(newerRow).toMatchObject({ keep: 2, includeMemory: false, enabled: false, disabledReason: 'plan_schedule_limit' });
      expect(await schedules.listForService(SERVICE.id)).toHaveLength(2);

      expect((await new ServicesRepo(handle.db).get(SERVICE.id))!.planId).toBe('small');
      const note = fx.notifications.find((n) => n.type === 'plan_clamped');
      expect(note).toMatchObject({ params: { schedules: 2, over: 2 } });

      // Over the limit: no new snapshots, and the refusal says by how much.
      // The panel now reports the new plan for the service; the module is asked with that record.
      const current = fx.services.get(SERVICE.id)!;
      const refused = fx.mod.snapshots.create(current, { name: 'one more' }, CTX);
      await expect(refused).rejects.toBeInstanceOf(QuotaExceededError);
      await expect(refused).rejects.toMatchObject({ code: 'snapshot_limit_reached', params: { limit: 1, used: 3, over: 2 } });
      // Memory is no longer in the plan either.
      await expect(fx.mod.snapshots.create(current, { name: 'ram', includeMemory: true }, CTX))
        .rejects.toMatchObject({ code: 'validation_failed', fields: { includeMemory: { code: 'memory_not_in_plan' } } });
      expect(await rowsOf()).toHaveLength(3);

      // Delivered twice: nothing further to adjust.
      const again = await hooks().afterPlanChange(SERVICE.id);
      expect(again).toMatchObject({ planId: 'small', adjustments: [], over: 2 });
      expect((await schedules.get(newer))!.enabled).toBe(false);
    });

    it('a plan without schedules disables every schedule; an upgrade lets creates through again', async () => {
      await activeSnapshots(3);
      const id = await insertSchedule(handle.db, schedule());
      await new LimitsRepo(handle.db).set('none', { maxSnapshots: 2, maxKeep: 3, memoryAllowed: true, schedulesAllowed: false, maxSchedules: 0, cloneAllowed: true });
      fx.services.set(SERVICE.id, { ...SERVICE, planId: 'none' });
      expect((await hooks().afterPlanChange(SERVICE.id)).over).toBe(1);
      expect(await schedules.get(id)).toMatchObject({ enabled: false, disabledReason: 'plan_no_schedules', keep: 3 });

      await new LimitsRepo(handle.db).set('big', { maxSnapshots: 10, maxKeep: 10, memoryAllowed: true, schedulesAllowed: true, maxSchedules: 5, cloneAllowed: true });
      await expect(fx.mod.snapshots.create({ ...SERVICE, planId: 'none' }, { name: 'still over' }, CTX))
        .rejects.toMatchObject({ code: 'snapshot_limit_reached', params: { limit: 2, over: 1 } });
      fx.services.set(SERVICE.id, { ...SERVICE, planId: 'big' });
      expect((await hooks().afterPlanChange(SERVICE.id)).over).toBe(0);
      const s = await fx.mod.snapshots.create(fx.services.get(SERVICE.id)!, { name: 'room again' }, CTX);
      expect(s.status).toBe('creating');
    });
  });

  describe('suspend / unsuspend', () => {
    it('stores the flag, is idempotent, and deletes nothing', async () => {
      const [s1] = await activeSnapshots(2);
      await snapshots.update(s1!.id, { pinned: true });
      const sched = await insertSchedule(handle.db, schedule());
      const opsBefore = (await opsOf()).length;
      const services = new ServicesRepo(handle.db);

      expect(await hooks().serviceSuspended(SERVICE.id)).toEqual({ changed: true });
      expect((await services.get(SERVICE.id))!.suspended).toBe(true);
      expect(await hooks().serviceSuspended(SERVICE.id)).toEqual({ changed: false });
      expect((await services.get(SERVICE.id))!.suspended).toBe(true);

      expect((await rowsOf()).map((s) => s.status)).toEqual(['active', 'active']);
      expect(await schedules.get(sched)).not.toBeNull();
      expect(await opsOf()).toHaveLength(opsBefore);
      expect(await sim().list(SERVICE.target)).toHaveLength(2);

      expect(await hooks().serviceUnsuspended(SERVICE.id)).toEqual({ changed: true });
      expect((await services.get(SERVICE.id))!.suspended).toBe(false);
      expect(await hooks().serviceUnsuspended(SERVICE.id)).toEqual({ changed: false });
      expect(await rowsOf()).toHaveLength(2);

      const audit = await new AuditRepo(handle.db).list({ serviceId: SERVICE.id });
      const billing = audit.filter((a) => a.action.startsWith('billing.')).reverse();
      expect(billing.map((a) => [a.action, a.details?.changed])).toEqual([
        ['billing.suspended', true], ['billing.suspended', false], ['billing.unsuspended', true], ['billing.unsuspended', false],
      ]);
    });

    it('suspending a service the module has never seen records it', async () => {
      expect(await new ServicesRepo(handle.db).get(SERVICE.id)).toBeNull();
      expect(await hooks().serviceSuspended(SERVICE.id)).toEqual({ changed: true });
      expect(await new ServicesRepo(handle.db).get(SERVICE.id)).toMatchObject({ suspended: true, terminated: false, planId: 'basic' });
    });
  });

  describe('terminate', () => {
    it('deletes every snapshot on the hypervisor (pinned too), removes schedules, and is idempotent', async () => {
      const [pinned, plain] = await activeSnapshots(2);
      await fx.mod.snapshots.setPinned(SERVICE, pinned!.id, true, CTX);
      await insertSchedule(handle.db, schedule());
      expect(await sim().list(SERVICE.target)).toHaveLength(2);
      // Stopped so the hook's own effect can be seen before the hypervisor work runs.
      await fx.mod.stop();

      const result = await hooks().serviceTerminated(SERVICE.id);
      expect(result).toEqual({ changed: true, deleting: 2 });
      const rows = await rowsOf();
      expect(rows.map((s) => s.status)).toEqual(['deleting', 'deleting']);
      expect(rows.every((s) => !s.pinned)).toBe(true);
      expect(await schedules.listForService(SERVICE.id)).toEqual([]);
      const queued = await operations.pendingForService(SERVICE.id);
      expect(queued.map((o) => [o.kind, o.status, o.origin]).sort()).toEqual([['delete', 'queued', 'billing'], ['delete', 'queued', 'billing']]);
      expect(new Set(queued.map((o) => o.snapshotId))).toEqual(new Set([pinned!.id, plain!.id]));
      expect((await new ServicesRepo(handle.db).get(SERVICE.id))!.terminated).toBe(true);

      await fx.mod.start();
      await waitFor(async () => (await rowsOf()).length === 0, 5_000, 'all rows gone');
      expect(await sim().list(SERVICE.target)).toEqual([]);
      await waitFor(async () => (await operations.pendingForService(SERVICE.id)).length === 0, 2_000, 'queue empty');
      const opCount = (await opsOf()).length;
      expect((await opsOf()).filter((o) => o.kind === 'delete').every((o) => o.status === 'succeeded')).toBe(true);

      // Delivered again: nothing changes, nothing new is queued.
      expect(await hooks().serviceTerminated(SERVICE.id)).toEqual({ changed: false, deleting: 0 });
      expect(await opsOf()).toHaveLength(opCount);

      // The audit log keeps the history: both deliveries, and each snapshot's deletion.
      const audit = new AuditRepo(handle.db);
      const terminated = await audit.list({ serviceId: SERVICE.id, action: 'billing.terminated' });
      expect(terminated).toHaveLength(2);
      expect(terminated.every((a) => a.result === 'ok' && a.actorType === 'billing')).toBe(true);
      expect(terminated.map((a) => a.details?.changed).sort()).toEqual([false, true]);
      const deleted = await audit.list({ serviceId: SERVICE.id, action: 'operation.delete' });
      expect(deleted.map((a) => a.snapshotId).sort()).toEqual([pinned!.id, plain!.id].sort((x, y) => x - y));
      expect(deleted.every((a) => a.result === 'ok' && a.toStatus === 'deleted')).toBe(true);
      expect(await audit.list({ serviceId: SERVICE.id, action: 'snapshot.create' })).toHaveLength(2);
    });

    it('a create still queued is cancelled and leaves nothing behind', async () => {
      const s = await fx.mod.snapshots.create(SERVICE, { name: 'never ran' }, CTX);
      expect(await hooks().serviceTerminated(SERVICE.id)).toEqual({ changed: true, deleting: 0 });
      expect(await snapshots.get(s.id)).toBeNull();
      const [op] = await opsOf();
      expect(op).toMatchObject({ kind: 'create', status: 'failed', errorCode: 'service_terminated' });

      await fx.mod.start();
      await new Promise((r) => setTimeout(r, 100));
      expect(await sim().list(SERVICE.target)).toEqual([]);
      expect(await opsOf()).toHaveLength(1);
    });
  });
});
