import { beforeEach, describe, expect, it } from 'vitest';
import { ClonesRepo } from '../../module/db/clones-repo.js';
import { AuditRepo } from '../../module/db/audit-repo.js';
import { LimitsRepo } from '../../module/db/limits-repo.js';
import { OperationsRepo } from '../../module/db/operations-repo.js';
import { SchedulesRepo } from '../../module/db/schedules-repo.js';
import { ServicesRepo } from '../../module/db/services-repo.js';
import { SnapshotsRepo } from '../../module/db/snapshots-repo.js';
import { runInTransaction } from '../../module/db/transaction.js';
import type { DomainDeps } from '../../module/domain/deps.js';
import { LimitsService } from '../../module/domain/limits-service.js';
import { rotateOut } from '../../module/domain/snapshot-records.js';
import { SnapshotService } from '../../module/domain/snapshot-service.js';
import { SimulatedDriver } from '../../module/drivers/simulated/simulated-driver.js';
import { DATABASES, type TestDatabase } from '../helpers/databases.js';
import { useDatabase } from '../helpers/db-suite.js';
import { makeService } from '../helpers/module-fixture.js';

const SERVICE = makeService();
const CTX = { actor: { type: 'customer' as const, id: 'alice' } };

/** What a create reads under the service's lock, and what it does with it. */
describe.each(DATABASES)('a create under the service lock ($kind)', (kind: TestDatabase) => {
  const handle = useDatabase(kind);
  let deps: DomainDeps;
  let woken: string[];

  beforeEach(async () => {
    woken = [];
    const repos = {
      services: new ServicesRepo(handle.db), limits: new LimitsRepo(handle.db), snapshots: new SnapshotsRepo(handle.db),
      operations: new OperationsRepo(handle.db), schedules: new SchedulesRepo(handle.db), audit: new AuditRepo(handle.db), clones: new ClonesRepo(handle.db),
    };
    deps = {
      repos, transaction: (fn) => runInTransaction(handle.db, fn),
      limits: new LimitsService(repos.limits, repos.services, { maxSnapshots: 10, maxSchedules: 2, maxKeep: 3, memoryAllowed: true, schedulesAllowed: true, cloneAllowed: true }),
      driver: () => new SimulatedDriver({}), notifier: { notify: async () => undefined },
      wake: (id, queuedBefore) => { woken.push(`${id ?? '*'}${queuedBefore ? ' (counted)' : ''}`); }, namePrefix: 'ps-',
    };
  });

  const snapshot = async (status: string, serviceId = SERVICE.id) => {
    await new ServicesRepo(handle.db).ensure(serviceId, 'basic');
    return new SnapshotsRepo(handle.db).insert({
      serviceId, name: `${status} one`, description: null, includeMemory: false, status: status as 'active', hvName: `ps-${status}-${Math.random()}`,
      origin: 'manual', scheduleId: null, createdBy: 'alice',
    });
  };
  const operation = (status: string, serviceId = SERVICE.id) => new OperationsRepo(handle.db).insert({
    serviceId, snapshotId: null, kind: 'delete', target: SERVICE.target, origin: 'customer', requestedBy: 'alice',
  }).then(async (id) => { await handle.db('snapshot_operations').where({ id }).update({ status }); return id; });

  it('locks the service and reads occupying snapshots and queued operations in one statement', async () => {
    await snapshot('active');
    await snapshot('deleting');
    await snapshot('failed');
    await snapshot('creating');
    await snapshot('active', 'svc-other');
    await operation('queued');
    await operation('running');
    await operation('succeeded');
    await operation('queued', 'svc-other');
    const repo = new SnapshotsRepo(handle.db);
    const statements: string[] = [];
    const count = (q: { sql: string }) => statements.push(q.sql);
    const seen = await handle.db.transaction(async (trx) => {
      handle.db.on('query', count);
      const got = await repo.lockForCreate(trx, SERVICE.id);
      handle.db.off('query', count);
      return got;
    });
    // A failed snapshot takes no storage; running and finished operations are not queued.
    expect(seen).toEqual({ occupying: 3, queuedOperations: 1, suspended: false, terminated: false, clonePending: false });
    expect(statements.filter((q) => q.startsWith('select'))).toHaveLength(1);
    if (kind.kind === 'mysql') expect(statements.find((q) => q.startsWith('select'))).toMatch(/for update$/);
    // A service without a state row has nothing to lock yet.
    expect(await handle.db.transaction((trx) => repo.lockForCreate(trx, 'svc-none'))).toBeNull();
  });

  it('a scheduled create at the limit rotates its own oldest unpinned snapshot in the same transaction, never a pinned one', async () => {
    const service = new SnapshotService(deps);
    const full = { maxSnapshots: 3, maxSchedules: 2, maxKeep: 3, memoryAllowed: true, schedulesAllowed: true, cloneAllowed: true };
    const scheduled = { origin: 'schedule' as const, scheduleId: 7, limits: full };
    const oldest = await service.create(SERVICE, { name: 'oldest' }, CTX, scheduled);
    const pinned = await service.create(SERVICE, { name: 'pinned' }, CTX, scheduled);
    const newer = await service.create(SERVICE, { name: 'newer' }, CTX, scheduled);
    await handle.db('snapshot_snapshots').update({ status: 'active' });
    await handle.db('snapshot_snapshots').where({ id: pinned.id }).update({ pinned: true });
    await handle.db('snapshot_snapshots').where({ id: oldest.id }).update({ created_at: new Date(Date.now() - 60_000) });
    await handle.db('snapshot_operations').update({ status: 'succeeded' });

    const next = await service.create(SERVICE, { name: 'next' }, CTX, scheduled);
    const status = async (id: number) => (await handle.db('snapshot_snapshots').where({ id }).first()).status;
    expect(await status(oldest.id)).toBe('deleting');
    expect(await status(pinned.id)).toBe('active');
    expect(await status(newer.id)).toBe('active');
    // The delete runs before the create that needs its slot.
    const ops = await handle.db('snapshot_operations').whereNot({ status: 'succeeded' }).orderBy('id').select('kind', 'snapshot_id');
    expect(ops.map((o) => [o.kind, Number(o.snapshot_id)])).toEqual([['delete', oldest.id], ['create', next.id]]);
    const actions = (await handle.db('snapshot_audit_events').orderBy('id').select('action')).map((e) => e.action);
    expect(actions.slice(-2)).toEqual(['snapshot.rotate', 'snapshot.create']);

    // Once that delete is done, the oldest unpinned one (newer) goes next; the pinned one, older, stays.
    await handle.db('snapshot_snapshots').where({ id: oldest.id }).delete();
    await handle.db('snapshot_snapshots').where({ id: next.id }).update({ status: 'active' });
    await service.create(SERVICE, { name: 'after' }, CTX, scheduled);
    expect(await status(newer.id)).toBe('deleting');
    expect(await status(pinned.id)).toBe('active');

    // A manual create at the limit rotates nothing and is refused.
    await handle.db('snapshot_snapshots').update({ status: 'active' }).whereNot({ status: 'deleting' });
    await expect(service.create(SERVICE, { name: 'manual' }, CTX, { limits: full })).rejects.toMatchObject({ code: 'snapshot_limit_reached' });
    expect(await status(next.id)).toBe('active');
  });

  it('never rotates out a snapshot pinned after it was read, nor one no longer active', async () => {
    const service = new SnapshotService(deps);
    const kept = await service.create(SERVICE, { name: 'pinned meanwhile' }, CTX);
    const gone = await service.create(SERVICE, { name: 'already deleting' }, CTX);
    const old = await service.create(SERVICE, { name: 'old' }, CTX);
    await handle.db('snapshot_snapshots').update({ status: 'active' });
    await handle.db('snapshot_operations').update({ status: 'succeeded' });
    // What retention read: all three active and unpinned. Then one is pinned, one starts deleting.
    const read = await Promise.all([kept, gone, old].map(async (s) => (await new SnapshotsRepo(handle.db).get(s.id))!));
    await handle.db('snapshot_snapshots').where({ id: kept.id }).update({ pinned: true });
    await handle.db('snapshot_snapshots').where({ id: gone.id }).update({ status: 'deleting' });
    const rotated = await handle.db.transaction((trx) => rotateOut(deps, trx, SERVICE, read, CTX));
    expect(rotated.map((e) => e.snapshotId)).toEqual([old.id]);
    const rows = await handle.db('snapshot_snapshots').orderBy('id').select('id', 'status', 'pinned');
    expect(rows.map((r) => [Number(r.id), r.status])).toEqual([[kept.id, 'active'], [gone.id, 'deleting'], [old.id, 'deleting']]);
    expect((await handle.db('snapshot_operations').where({ status: 'queued', kind: 'delete' }).select('snapshot_id')).map((o) => Number(o.snapshot_id))).toEqual([old.id]);
  });

  it('a scheduled create with nothing of its own to rotate is refused and deletes nothing', async () => {
    const service = new SnapshotService(deps);
    const full = { maxSnapshots: 2, maxSchedules: 2, maxKeep: 3, memoryAllowed: true, schedulesAllowed: true, cloneAllowed: true };
    await service.create(SERVICE, { name: 'manual one' }, CTX, { limits: full });
    await service.create(SERVICE, { name: 'other schedule' }, CTX, { origin: 'schedule', scheduleId: 8, limits: full });
    await handle.db('snapshot_snapshots').update({ status: 'active' });
    await expect(service.create(SERVICE, { name: 'mine' }, CTX, { origin: 'schedule', scheduleId: 7, limits: full }))
      .rejects.toMatchObject({ code: 'snapshot_limit_reached', params: { limit: 2, used: 2 } });
    expect((await handle.db('snapshot_snapshots').select('status')).map((r) => r.status)).toEqual(['active', 'active']);
    // The scheduled run records its own refusal; no snapshot.create refusal besides it.
    expect(await handle.db('snapshot_audit_events').where({ result: 'refused' }).count({ n: '*' }).first()).toMatchObject({ n: 0 });
  });

  it('wakes the runner for every create, saying whether the service had an operation queued (its job then claims it)', async () => {
    const service = new SnapshotService(deps);
    const counted = `${SERVICE.id} (counted)`;
    await service.create(SERVICE, { name: 'first' }, CTX);
    expect(woken).toEqual([SERVICE.id]);
    // The first create's operation is still queued: the job that claims it claims this one after it;
    // the runner only counts it (a node's freed slot goes to the service with the most work left).
    await service.create(SERVICE, { name: 'second' }, CTX);
    expect(woken).toEqual([SERVICE.id, counted]);
    // A running one is no such promise: its job may find nothing left before this create commits.
    await handle.db('snapshot_operations').update({ status: 'running' });
    await service.create(SERVICE, { name: 'third' }, CTX);
    expect(woken).toEqual([SERVICE.id, counted, SERVICE.id]);
    await handle.db('snapshot_operations').update({ status: 'succeeded' });
    await service.create(SERVICE, { name: 'fourth' }, CTX);
    expect(woken).toEqual([SERVICE.id, counted, SERVICE.id, SERVICE.id]);
  });

  it('commits what a caller writes alongside with the snapshot, its operation and both audit events, or none of them', async () => {
    const service = new SnapshotService(deps);
    const created = await service.create(SERVICE, { name: 'with outcome' }, CTX, {
      alongside: async (s, trx) => {
        await trx('snapshot_services').where({ service_id: SERVICE.id }).update({ owner_id: `for-${s.id}` });
        return [{ actor: { type: 'schedule', id: '7' }, serviceId: SERVICE.id, action: 'schedule.run', result: 'ok', details: { snapshotId: s.id } }];
      },
    });
    expect((await handle.db('snapshot_services').where({ service_id: SERVICE.id }).first()).owner_id).toBe(`for-${created.id}`);
    const events = await handle.db('snapshot_audit_events').orderBy('id').select('action', 'snapshot_id');
    expect(events.map((e) => e.action)).toEqual(['snapshot.create', 'schedule.run']);
    expect(Number(events[0].snapshot_id)).toBe(created.id);

    await expect(service.create(SERVICE, { name: 'rolled back' }, CTX, {
      alongside: async () => { throw new Error('outcome not written'); },
    })).rejects.toThrow('outcome not written');
    expect(Number((await handle.db('snapshot_snapshots').where({ name: 'rolled back' }).count({ n: '*' }).first())!.n)).toBe(0);
    expect(Number((await handle.db('snapshot_operations').count({ n: '*' }).first())!.n)).toBe(1);
    expect((await handle.db('snapshot_audit_events').orderBy('id').select('action')).map((e) => e.action)).toEqual(['snapshot.create', 'schedule.run']);
  });
});
