import { beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_PLAN, LimitsRepo } from '../../module/db/limits-repo.js';
import { ServicesRepo } from '../../module/db/services-repo.js';
import { SnapshotsRepo } from '../../module/db/snapshots-repo.js';
import { LimitsService } from '../../module/domain/limits-service.js';
import type { PlanLimits } from '../../module/domain/limits.js';
import { DATABASES } from '../helpers/databases.js';
import { useDatabase } from '../helpers/db-suite.js';

const CONFIG: PlanLimits = { maxSnapshots: 3, maxSchedules: 1, maxKeep: 3, memoryAllowed: false, schedulesAllowed: false, cloneAllowed: true };

describe.each(DATABASES)('plan limits resolve override → plan row → default row → config ($kind)', (kind) => {
  const handle = useDatabase(kind);
  let limits: LimitsRepo;
  let service: LimitsService;

  beforeEach(async () => {
    limits = new LimitsRepo(handle.db);
    const services = new ServicesRepo(handle.db);
    service = new LimitsService(limits, services, CONFIG);
    await services.ensure('svc', 'gold');
  });

  it('each layer wins over the ones below it, read in one query for the plan and the default', async () => {
    expect(await service.forService('svc', 'gold')).toEqual(CONFIG);
    await limits.set(DEFAULT_PLAN, { ...CONFIG, maxSnapshots: 5 });
    expect(await service.forService('svc', 'gold')).toMatchObject({ maxSnapshots: 5 });
    await limits.set('gold', { ...CONFIG, maxSnapshots: 9, memoryAllowed: true });
    await limits.set('silver', { ...CONFIG, maxSnapshots: 7 });
    expect(await service.forService('svc', 'gold')).toMatchObject({ maxSnapshots: 9, memoryAllowed: true });
    expect(await service.forPlan('silver')).toMatchObject({ maxSnapshots: 7, memoryAllowed: false });
    expect(await service.forPlan('bronze')).toMatchObject({ maxSnapshots: 5 });
    await new ServicesRepo(handle.db).setOverrides('svc', { maxSnapshots: 12 });
    expect(await service.forService('svc', 'gold')).toMatchObject({ maxSnapshots: 12, memoryAllowed: true });
    expect([...(await limits.getMany(['gold', DEFAULT_PLAN, 'gold', 'none'])).keys()].sort()).toEqual([DEFAULT_PLAN, 'gold']);
  });

  it('reads the state row and both limit rows in one query, resolving as forService does', async () => {
    const services = new ServicesRepo(handle.db);
    const both = async (id: string, plan: string) => {
      const { state, plans } = await services.getWithPlanLimits(id, plan);
      return { limits: service.resolve(plan, plans, state), state, plans: [...plans.keys()].sort() };
    };
    const same = async (id: string, plan: string) => {
      const read = await both(id, plan);
      expect(read.limits, `${id} ${plan}`).toEqual(await service.forService(id, plan));
      expect(read.state).toEqual(await services.get(id));
      return read;
    };
    expect(await same('nobody', 'gold')).toMatchObject({ limits: CONFIG, state: null, plans: [] });
    expect(await same('svc', 'gold')).toMatchObject({ limits: CONFIG, state: { serviceId: 'svc', planId: 'gold' }, plans: [] });
    await limits.set(DEFAULT_PLAN, { ...CONFIG, maxSnapshots: 5 });
    expect((await same('svc', 'gold')).plans).toEqual([DEFAULT_PLAN]);
    await limits.set('gold', { ...CONFIG, maxSnapshots: 9, memoryAllowed: true });
    expect((await same('svc', 'gold')).plans).toEqual([DEFAULT_PLAN, 'gold']);
    expect((await same('svc', DEFAULT_PLAN)).limits).toMatchObject({ maxSnapshots: 5 });
    await services.setOverrides('svc', { maxSnapshots: 12, schedulesAllowed: true, cloneAllowed: true });
    await services.update('svc', { suspended: true });
    expect(await same('svc', 'gold')).toMatchObject({ limits: { maxSnapshots: 12, memoryAllowed: true, schedulesAllowed: true, cloneAllowed: true }, state: { suspended: true } });
    expect((await same('nobody', 'gold')).limits).toMatchObject({ maxSnapshots: 9 });
  });

  it('the snapshot limit read with a create\'s lock resolves as forService does; for a plan other than the recorded one, it defers to forService', async () => {
    const repo = new SnapshotsRepo(handle.db);
    const withLock = (plan: string) => handle.db.transaction(async (trx) => service.maxSnapshots((await repo.lockForCreate(trx, 'svc', true))!.limitRows!, plan));
    const same = async (expected: number) => {
      expect(await withLock('gold')).toBe(expected);
      expect((await service.forService('svc', 'gold')).maxSnapshots).toBe(expected);
    };
    await same(3);
    await limits.set(DEFAULT_PLAN, { ...CONFIG, maxSnapshots: 5 });
    await same(5);
    await limits.set('silver', { ...CONFIG, maxSnapshots: 7 });
    await same(5);
    await limits.set('gold', { ...CONFIG, maxSnapshots: 0 });
    await same(0);
    await limits.set('gold', { ...CONFIG, maxSnapshots: 9 });
    await same(9);
    await new ServicesRepo(handle.db).setOverrides('svc', { maxSnapshots: 12 });
    await same(12);
    // The panel moved the service to silver and the state row still records gold.
    expect(await withLock('silver')).toBeNull();
  });
});
