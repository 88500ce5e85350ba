import { beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_PLAN, LimitsRepo } from '../../module/db/limits-repo.js';
import { OperationsRepo } from '../../module/db/operations-repo.js';
import { SchedulesRepo } from '../../module/db/schedules-repo.js';
import { ServicesRepo } from '../../module/db/services-repo.js';
import { SnapshotsRepo } from '../../module/db/snapshots-repo.js';
import type { PlanLimits } from '../../module/domain/limits.js';
import { DATABASES } from '../helpers/databases.js';
import { useDatabase } from '../helpers/db-suite.js';

const LIMITS: PlanLimits = { maxSnapshots: 4, maxSchedules: 2, maxKeep: 3, memoryAllowed: true, schedulesAllowed: true, cloneAllowed: true };
const TARGET = { driver: 'simulated', node: 'n1', vmId: '1' };

describe.each(DATABASES)('the Snapshots page\'s one query ($kind)', (kind) => {
  const handle = useDatabase(kind);
  let snapshots: SnapshotsRepo;
  let services: ServicesRepo;
  let operations: OperationsRepo;

  beforeEach(async () => {
    snapshots = new SnapshotsRepo(handle.db);
    services = new ServicesRepo(handle.db);
    operations = new OperationsRepo(handle.db);
  });

  const snapshot = (serviceId: string, name: string, scheduleId: number | null = null) => snapshots.insert({
    serviceId, name, description: null, hvName: `hv-${name}`, status: 'active', includeMemory: false,
    origin: scheduleId ? 'schedule' : 'manual', scheduleId, createdBy: null,
  });
  const operation = async (serviceId: string, snapshotId: number | null, status: 'queued' | 'running' | 'succeeded') => {
    const id = await operations.insert({ serviceId, snapshotId, kind: 'create', target: TARGET, origin: 'customer', requestedBy: null });
    if (status !== 'queued') await handle.db('snapshot_operations').where({ id }).update({ status });
  };

  /** What the page read before, in three queries. */
  async function separately(serviceId: string, planId: string) {
    const { state, plans } = await services.getWithPlanLimits(serviceId, planId);
    const pending = await operations.pendingForService(serviceId);
    return {
      state, plans, snapshots: await snapshots.listForService(serviceId), pendingCount: pending.length,
      running: new Set(pending.filter((o) => o.status === 'running').map((o) => o.snapshotId)),
      queued: new Set(pending.filter((o) => o.status === 'queued').map((o) => o.snapshotId)),
    };
  }

  it('reads what the state, limits, snapshot and queue queries read, and the names of the schedules', async () => {
    const empty = await snapshots.listPage('svc', 'gold');
    expect(empty).toMatchObject({ state: null, snapshots: [], pendingCount: 0 });
    expect(empty.plans.size).toBe(0);

    await services.ensure('svc', 'gold');
    await services.update('svc', { suspended: true });
    await new LimitsRepo(handle.db).set(DEFAULT_PLAN, LIMITS);
    await new LimitsRepo(handle.db).set('gold', { ...LIMITS, maxSnapshots: 9 });
    const schedules = new SchedulesRepo(handle.db);
    const weekly = await schedules.insert({ serviceId: 'svc', name: 'Weekly <1>', enabled: true, days: [1], hour: 3, minute: 0, timezone: 'UTC', keep: 2, includeMemory: false });
    const other = await schedules.insert({ serviceId: 'svc-2', name: 'Not theirs', enabled: true, days: [1], hour: 3, minute: 0, timezone: 'UTC', keep: 2, includeMemory: false });
    const a = await snapshot('svc', 'a', weekly);
    const b = await snapshot('svc', 'b', other);
    const c = await snapshot('svc', 'c');
    await snapshot('svc-2', 'elsewhere');
    await operation('svc', a.id, 'running');
    await operation('svc', a.id, 'queued');
    await operation('svc', b.id, 'queued');
    await operation('svc', c.id, 'succeeded');
    await operation('svc', null, 'queued');
    await operation('svc-2', c.id, 'running');

    const page = await snapshots.listPage('svc', 'gold');
    const before = await separately('svc', 'gold');
    expect(page.state).toEqual(before.state);
    expect(page.state).toMatchObject({ suspended: true, planId: 'gold' });
    expect(page.plans).toEqual(before.plans);
    expect([...page.plans.keys()].sort()).toEqual([DEFAULT_PLAN, 'gold']);
    expect(page.snapshots).toEqual(before.snapshots);
    expect(page.snapshots.map((s) => s.name)).toEqual(['c', 'b', 'a']);
    expect(page.pendingCount).toBe(before.pendingCount);
    expect(page.pendingCount).toBe(4);
    expect([...page.running]).toEqual([a.id]);
    expect([...page.queued].sort()).toEqual([a.id, b.id].sort());
    // A schedule of another service, even one a snapshot points at, is no name of theirs.
    expect([...page.scheduleNames]).toEqual([[weekly, 'Weekly <1>']]);
  });
});
