import { setTimeout as sleep } from 'node:timers/promises';
import { beforeEach, describe, expect, it } from 'vitest';
import { AuditRepo } from '../../module/db/audit-repo.js';
import { OperationsRepo } from '../../module/db/operations-repo.js';
import { SnapshotsRepo } from '../../module/db/snapshots-repo.js';
import type { ActionContext } from '../../module/index.js';
import { ValidationError } from '../../module/domain/errors.js';
import type { Operation, Snapshot } from '../../module/domain/types.js';
import { SimulatedDriver } from '../../module/drivers/simulated/simulated-driver.js';
import { DATABASES, type TestDatabase } from '../helpers/databases.js';
import { type ModuleFixture, useDatabase } from '../helpers/db-suite.js';
import { makeService } from '../helpers/module-fixture.js';
import { waitFor } from '../helpers/wait-for.js';

const CTX: ActionContext = { actor: { type: 'customer', id: 'alice' } };
const SERVICE = makeService();
const OTHER = makeService({ id: 'svc-2', name: 'web-02', ownerId: 'bob', target: { driver: 'simulated', node: 'node1', vmId: '102' } });

describe.each(DATABASES)('operation runner ($kind)', (kind: TestDatabase) => {
  const handle = useDatabase(kind);
  let fx: ModuleFixture | undefined;
  let snapshots: SnapshotsRepo;
  let operations: OperationsRepo;

  beforeEach(async () => {
    snapshots = new SnapshotsRepo(handle.db);
    operations = new OperationsRepo(handle.db);
    fx = undefined;
  });

  const sim = () => fx!.driver as SimulatedDriver;
  const status = async (id: number) => (await snapshots.get(id))?.status ?? 'gone';
  const untilStatus = (id: number, want: string, ms = 5_000) =>
    waitFor(async () => ((await status(id)) === want ? true : undefined), ms, `snapshot ${id} ${want}`);
  const opsOf = async (snapshotId: number): Promise<Operation[]> =>
    (await operations.list({ limit: 500 })).filter((o) => o.snapshotId === snapshotId).sort((a, b) => a.id - b.id);
  const untilOpEnds = (snapshotId: number, kind: Operation['kind']) => waitFor(async () => {
    const op = (await opsOf(snapshotId)).find((o) => o.kind === kind);
    return op && (op.status === 'succeeded' || op.status === 'failed') ? op : undefined;
  }, 5_000, `${kind} operation of ${snapshotId} finished`);

  async function createActive(name = 'before upgrade'): Promise<Snapshot> {
    const s = await fx!.mod.snapshots.create(SERVICE, { name }, CTX);
    await untilStatus(s.id, 'active');
    await untilOpEnds(s.id, 'create');
    return (await snapshots.get(s.id))!;
  }

  it('stores a task reference while there is something to resume, and with the outcome when the task ended at once', async () => {
    fx = await handle.module({ driver: new SimulatedDriver({ delayMs: { create: [400, 400] } }) });
    await fx.mod.start();
    const slow = await fx.mod.snapshots.create(SERVICE, { name: 'slow' }, CTX);
    // Still running on the hypervisor: a worker taking over must find the task to poll.
    const running = await waitFor(async () => (await opsOf(slow.id)).find((o) => o.status === 'running' && o.driverTask), 5_000, 'task stored while running');
    expect(running.driverTask).toMatch(/create/);
    await untilOpEnds(slow.id, 'create');
    await fx.mod.stop();

    fx = await handle.module();
    const updates: string[] = [];
    const watch = (q: { sql: string }) => { if (/driver_task/.test(q.sql) && q.sql.startsWith('update')) updates.push(q.sql); };
    handle.db.on('query', watch);
    await fx.mod.start();
    const fast = await fx.mod.snapshots.create(SERVICE, { name: 'fast' }, CTX);
    const op = await untilOpEnds(fast.id, 'create');
    handle.db.off('query', watch);
    expect(op).toMatchObject({ status: 'succeeded', driverTask: expect.stringMatching(/create/) });
    // One write: the reference goes with the outcome.
    expect(updates).toHaveLength(1);
    expect(updates[0]).toMatch(/`status` = \?/);
  });

  it('create runs on the hypervisor and ends active, audited and notified', async () => {
    fx = await handle.module();
    await fx.mod.start();
    const created = await fx.mod.snapshots.create(SERVICE, { name: '배포 전', description: 'before deploy' }, CTX);
    expect(created.status).toBe('creating');

    await untilStatus(created.id, 'active');
    const s = (await snapshots.get(created.id))!;
    expect(s.diskBytes).toBeGreaterThan(0);
    expect(s.memoryBytes).toBeNull();
    expect(s.completedAt).toBeInstanceOf(Date);
    expect(s.completedAt!.getTime()).toBeGreaterThanOrEqual(s.createdAt.getTime());
    expect(s.errorCode).toBeNull();

    const [op] = await opsOf(s.id);
    expect(op).toMatchObject({ kind: 'create', status: 'succeeded', attempts: 1, lockedBy: null, errorCode: null });
    expect(op!.driverTask).toMatch(/create/);
    expect(op!.finishedAt).toBeInstanceOf(Date);

    // What the hypervisor holds is the generated name, with the size we recorded.
    const onHv = (await sim().list(SERVICE.target)).filter((x) => x.name === s.hvName);
    expect(onHv).toHaveLength(1);
    expect(onHv[0]!.diskBytes).toBe(s.diskBytes);

    const audit = await waitFor(async () =>
      (await new AuditRepo(handle.db).list({ serviceId: SERVICE.id, action: 'operation.create' })).find((a) => a.snapshotId === s.id), 2_000, 'audit');
    expect(audit).toMatchObject({ result: 'ok', fromStatus: 'creating', toStatus: 'active', actorType: 'customer', actorId: 'alice' });

    // Alice watched it happen: her own snapshot is not mailed back to her (docs/notifications.md).
    await fx.mod.stop({ drain: true });
    expect(fx.notifications.filter((n) => n.type === 'snapshot_created')).toEqual([]);
  });

  it('mails the owner a snapshot someone else took, in a subject and body of their own', async () => {
    fx = await handle.module();
    await fx.mod.start();
    await fx.mod.snapshots.create(SERVICE, { name: '배포 전' }, { actor: { type: 'admin', id: 'root' } });
    const note = await waitFor(() => fx!.notifications.find((n) => n.type === 'snapshot_created'), 5_000, 'notification');
    expect(note).toMatchObject({ serviceId: SERVICE.id, recipientId: 'alice' });
    expect(typeof note.subject).toBe('string');
    expect(note.subject.trim()).not.toBe('');
    expect(typeof note.body).toBe('string');
    expect(note.body.trim()).not.toBe('');
    expect(note.params).toMatchObject({ name: '배포 전', service: SERVICE.name });
  });

  it('includeMemory snapshots record the memory size', async () => {
    fx = await handle.module({ driver: new SimulatedDriver({ vmMemoryBytes: 4 * 1024 ** 3 }) });
    await fx.mod.start();
    const s = await fx.mod.snapshots.create(SERVICE, { name: 'with RAM', includeMemory: true }, CTX);
    await untilStatus(s.id, 'active');
    expect(await snapshots.get(s.id)).toMatchObject({ includeMemory: true, memoryBytes: 4 * 1024 ** 3 });
    expect((await sim().list(SERVICE.target))[0]).toMatchObject({ withMemory: true });
  });

  it('delete is "deleting" at once, then the row and the hypervisor snapshot are gone', async () => {
    fx = await handle.module();
    await fx.mod.start();
    const s = await createActive();
    expect((await sim().list(SERVICE.target)).map((x) => x.name)).toContain(s.hvName);

    // With the runner stopped, the request's own effect is visible: scheduled for removal, queued.
    await fx.mod.stop();
    const returned = await fx.mod.snapshots.delete(SERVICE, s.id, { confirm: true }, CTX);
    expect(returned.status).toBe('deleting');
    expect(await status(s.id)).toBe('deleting');
    const pending = await operations.pendingForService(SERVICE.id);
    expect(pending.map((o) => [o.kind, o.status, o.snapshotId])).toEqual([['delete', 'queued', s.id]]);
    // Still on the hypervisor until the operation runs.
    expect((await sim().list(SERVICE.target)).map((x) => x.name)).toContain(s.hvName);

    await fx.mod.start();
    await untilStatus(s.id, 'gone');
    expect((await sim().list(SERVICE.target)).map((x) => x.name)).not.toContain(s.hvName);
    const op = await untilOpEnds(s.id, 'delete');
    expect(op.status).toBe('succeeded');
    expect(await operations.pendingForService(SERVICE.id)).toEqual([]);
    // Her own delete, seen on the page: not mailed.
    await fx.mod.stop({ drain: true });
    expect(fx.notifications.filter((n) => n.type === 'snapshot_deleted')).toEqual([]);
    const audit = await new AuditRepo(handle.db).list({ serviceId: SERVICE.id, action: 'operation.delete' });
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ result: 'ok', toStatus: 'deleted', snapshotId: s.id });
  });

  it('restore requires the service name typed, then goes restoring → active', async () => {
    fx = await handle.module({ driver: new SimulatedDriver({ delayMs: { restore: [250, 250] } }) });
    await fx.mod.start();
    const s = await createActive('known good');

    let err: unknown;
    try {
      await fx.mod.snapshots.restore(SERVICE, s.id, { typedServiceName: 'web-1' }, CTX);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).fields).toEqual({ typedServiceName: { code: 'service_name_mismatch', params: { expected: SERVICE.name } } });
    expect(await status(s.id)).toBe('active');
    expect((await opsOf(s.id)).map((o) => o.kind)).toEqual(['create']);
    const refused = await new AuditRepo(handle.db).list({ serviceId: SERVICE.id, action: 'snapshot.restore' });
    expect(refused.map((a) => [a.result, a.code])).toEqual([['refused', 'service_name_mismatch']]);

    const r = await fx.mod.snapshots.restore(SERVICE, s.id, { typedServiceName: ` ${SERVICE.name} ` }, CTX);
    expect(r.snapshot.status).toBe('restoring');
    expect(r.safety).toBeNull();
    // The rollback takes 250 ms on the simulated hypervisor: the row shows restoring meanwhile.
    expect(await status(s.id)).toBe('restoring');
    await untilStatus(s.id, 'active');
    const op = await untilOpEnds(s.id, 'restore');
    expect(op).toMatchObject({ status: 'succeeded', attempts: 1, payload: { startAfter: true } });
    await fx.mod.stop({ drain: true });
    expect(fx.notifications.filter((n) => n.type === 'snapshot_restored')).toEqual([]);
    // Restoring does not consume or drop the snapshot.
    expect((await sim().list(SERVICE.target)).map((x) => x.name)).toEqual([s.hvName]);
  });

  it('a restore interrupted after the disks were reverted is reported as such, once, to customer and admin', async () => {
    fx = await handle.module();
    await fx.mod.start();
    const s = await createActive('known good');
    sim().injectFailure({ operation: 'restore', code: 'restore_incomplete' });
    await fx.mod.snapshots.restore(SERVICE, s.id, { typedServiceName: SERVICE.name }, CTX);
    const op = await untilOpEnds(s.id, 'restore');
    // Not transient: a second automatic attempt would load into a VM left stopped for an admin.
    expect(op).toMatchObject({ status: 'failed', errorCode: 'driver_restore_incomplete', attempts: 1 });
    expect(op.errorMessage).toMatch(/left stopped/);
    // The snapshot itself is intact: it can be restored again once the VM was looked at.
    expect(await snapshots.get(s.id)).toMatchObject({ status: 'active', errorCode: 'driver_restore_incomplete' });
    const sent = await waitFor(() => fx!.notifications.find((n) => n.type === 'restore_failed'), 2_000, 'restore_failed notification');
    expect(sent.params).toMatchObject({ code: 'driver_restore_incomplete' });
  });

  it('an injected hypervisor failure ends the snapshot failed with a classified code', async () => {
    fx = await handle.module();
    await fx.mod.start();
    sim().injectFailure({ operation: 'create', code: 'unsupported_storage' });
    const s = await fx.mod.snapshots.create(SERVICE, { name: 'on lvm' }, CTX);
    await untilStatus(s.id, 'failed');

    const failed = (await snapshots.get(s.id))!;
    expect(failed.errorCode).toBe('driver_unsupported_storage');
    expect(failed.errorMessage).toBeTruthy();
    expect(failed.completedAt).toBeNull();
    const op = await untilOpEnds(s.id, 'create');
    expect(op).toMatchObject({ status: 'failed', errorCode: 'driver_unsupported_storage', attempts: 1 });
    expect(await sim().list(SERVICE.target)).toEqual([]);

    const note = await waitFor(() => fx!.notifications.find((n) => n.type === 'snapshot_failed'), 2_000, 'failed notification');
    expect(note.params).toMatchObject({ code: 'driver_unsupported_storage' });
    expect(fx.notifications.some((n) => n.type === 'snapshot_created')).toBe(false);
    const audit = await new AuditRepo(handle.db).list({ serviceId: SERVICE.id, action: 'operation.create' });
    expect(audit.map((a) => [a.result, a.code, a.toStatus])).toEqual([['failed', 'driver_unsupported_storage', 'failed']]);
  });

  it('a transient failure (locked) is retried until it succeeds', async () => {
    fx = await handle.module();
    await fx.mod.start();
    sim().injectFailure({ operation: 'create', code: 'locked', times: 2 });
    const s = await fx.mod.snapshots.create(SERVICE, { name: 'busy vm' }, CTX);
    await untilStatus(s.id, 'active');
    const op = await untilOpEnds(s.id, 'create');
    expect(op).toMatchObject({ status: 'succeeded', attempts: 3, errorCode: null });
    expect((await sim().list(SERVICE.target)).filter((x) => x.name === s.hvName)).toHaveLength(1);
    expect(fx.notifications.filter((n) => n.type === 'snapshot_failed')).toEqual([]);
  });

  it('a transient failure that never clears gives up after maxAttempts', async () => {
    fx = await handle.module({ operations: { maxAttempts: 3 } });
    await fx.mod.start();
    sim().injectFailure({ operation: 'create', code: 'unreachable', times: 10 });
    const s = await fx.mod.snapshots.create(SERVICE, { name: 'node down' }, CTX);
    await untilStatus(s.id, 'failed');
    expect(await untilOpEnds(s.id, 'create')).toMatchObject({ status: 'failed', attempts: 3, errorCode: 'driver_unreachable' });
    expect((await snapshots.get(s.id))!.errorCode).toBe('driver_unreachable');
  });

  it('operations of one service run one at a time, in order, while later ones show as queued', async () => {
    fx = await handle.module({ driver: new SimulatedDriver({ delayMs: { create: [150, 150] } }) });
    await fx.mod.start();
    const created: Snapshot[] = [];
    for (const name of ['one', 'two', 'three']) created.push(await fx.mod.snapshots.create(SERVICE, { name }, CTX));

    let maxRunning = 0;
    let sawQueuedBehindRunning = false;
    const deadline = Date.now() + 5_000;
    for (;;) {
      const rows = await handle.db('snapshot_operations').where({ service_id: SERVICE.id }).select('id', 'status');
      maxRunning = Math.max(maxRunning, rows.filter((r) => r.status === 'running').length);
      const pending = await operations.pendingForService(SERVICE.id);
      const statuses = pending.map((o) => o.status);
      if (statuses.includes('running') && statuses.includes('queued')) {
        sawQueuedBehindRunning = true;
        // Oldest first: whatever runs is ahead of everything queued.
        expect(statuses.indexOf('running')).toBeLessThan(statuses.lastIndexOf('queued'));
      }
      if (rows.every((r) => r.status === 'succeeded' || r.status === 'failed')) break;
      if (Date.now() > deadline) throw new Error(`operations did not finish: ${JSON.stringify(rows)}`);
      await sleep(10);
    }
    expect(maxRunning).toBe(1);
    expect(sawQueuedBehindRunning).toBe(true);

    const ops = (await operations.list({ serviceId: SERVICE.id })).sort((a, b) => a.id - b.id);
    expect(ops.map((o) => o.snapshotId)).toEqual(created.map((s) => s.id));
    // No two ever overlapped on the VM: the simulated hypervisor would have answered "locked".
    expect(ops.map((o) => [o.status, o.attempts])).toEqual([['succeeded', 1], ['succeeded', 1], ['succeeded', 1]]);
    for (let i = 1; i < ops.length; i++) {
      expect(ops[i]!.startedAt!.getTime()).toBeGreaterThanOrEqual(ops[i - 1]!.finishedAt!.getTime());
      expect(ops[i]!.finishedAt!.getTime()).toBeGreaterThan(ops[i - 1]!.finishedAt!.getTime());
    }
    for (const s of created) expect(await status(s.id)).toBe('active');
    expect((await sim().list(SERVICE.target)).map((x) => x.name)).toEqual(created.map((s) => s.hvName));
  });

  it('operations of different services run concurrently', async () => {
    fx = await handle.module({ services: [SERVICE, OTHER], driver: new SimulatedDriver({ delayMs: { create: [300, 300] } }) });
    await fx.mod.start();
    const a = await fx.mod.snapshots.create(SERVICE, { name: 'a' }, CTX);
    const b = await fx.mod.snapshots.create(OTHER, { name: 'b' }, CTX);

    await waitFor(async () => {
      const running = await handle.db('snapshot_operations').where({ status: 'running' }).select('service_id');
      return new Set(running.map((r) => r.service_id)).size === 2;
    }, 2_000, 'both services running at once');

    await untilStatus(a.id, 'active');
    await untilStatus(b.id, 'active');
    expect((await sim().list(SERVICE.target)).map((x) => x.name)).toEqual([a.hvName]);
    expect((await sim().list(OTHER.target)).map((x) => x.name)).toEqual([b.hvName]);
  });

  it('a safety snapshot requested with a restore is taken first', async () => {
    fx = await handle.module({ driver: new SimulatedDriver({ delayMs: { create: [100, 100], restore: [100, 100] } }) });
    await fx.mod.start();
    const s = await createActive('base');
    const { safety } = await fx.mod.snapshots.restore(SERVICE, s.id, { typedServiceName: SERVICE.name, safetySnapshot: true }, CTX);
    expect(safety).not.toBeNull();
    expect(safety!.origin).toBe('safety');
    await untilStatus(s.id, 'active');
    await untilStatus(safety!.id, 'active');
    const safetyOp = await untilOpEnds(safety!.id, 'create');
    const restoreOp = await untilOpEnds(s.id, 'restore');
    expect(safetyOp.id).toBeLessThan(restoreOp.id);
    expect(restoreOp.startedAt!.getTime()).toBeGreaterThanOrEqual(safetyOp.finishedAt!.getTime());
  });
});
