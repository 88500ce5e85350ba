import type { Knex } from 'knex';
import { describe, expect, it } from 'vitest';
import { AuditRepo } from '../../module/db/audit-repo.js';
import { DEFAULT_PLAN, LimitsRepo } from '../../module/db/limits-repo.js';
import { ServicesRepo } from '../../module/db/services-repo.js';
import { SnapshotsRepo } from '../../module/db/snapshots-repo.js';
import type { ActionContext } from '../../module/index.js';
import { QuotaExceededError } from '../../module/domain/errors.js';
import type { PlanLimits } from '../../module/domain/limits.js';
import { SimulatedDriver } from '../../module/drivers/simulated/simulated-driver.js';
import { DATABASES, type TestDatabase } from '../helpers/databases.js';
import { type ModuleFixture, useDatabase } from '../helpers/db-suite.js';
import { makeService } from '../helpers/module-fixture.js';
import { waitFor } from '../helpers/wait-for.js';

const CTX: ActionContext = { actor: { type: 'customer', id: 'alice' } };
const SERVICE = makeService();
const PARALLEL = 50;

const limits = (over: Partial<PlanLimits> = {}): PlanLimits => ({
  maxSnapshots: 3, maxSchedules: 1, maxKeep: 3, memoryAllowed: true, schedulesAllowed: true, cloneAllowed: true, ...over,
});

describe.each(DATABASES)('snapshot quota under concurrency ($kind)', (kind: TestDatabase) => {
  const handle = useDatabase(kind);
  let fx: ModuleFixture;

  const rows = (status?: string) => {
    const q = handle.db('snapshot_snapshots').where({ service_id: SERVICE.id });
    return status ? q.where({ status }) : q;
  };
  const count = async (q: Knex.QueryBuilder) => Number((await q.clone().count({ n: '*' }).first())!.n);
  const createOps = () => handle.db('snapshot_operations').where({ service_id: SERVICE.id, kind: 'create' });

  /** Fires `n` creates at once and splits the outcomes. */
  async function burst(n: number, prefix = 'burst') {
    const results = await Promise.allSettled(
      Array.from({ length: n }, (_, i) => fx.mod.snapshots.create(SERVICE, { name: `${prefix} ${i}` }, CTX)),
    );
    const fulfilled = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const rejected = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    return { fulfilled, rejected };
  }

  function expectAllLimitReached(errors: unknown[], limit: number) {
    for (const e of errors) {
      expect(e).toBeInstanceOf(QuotaExceededError);
      expect(e).toMatchObject({ code: 'snapshot_limit_reached', status: 409, params: { limit } });
    }
  }

  it(`${PARALLEL} parallel creates with 3 left create exactly 3`, async () => {
    fx = await handle.module();
    const { fulfilled, rejected } = await burst(PARALLEL);

    expect(fulfilled).toHaveLength(3);
    expect(rejected).toHaveLength(PARALLEL - 3);
    expectAllLimitReached(rejected, 3);
    expect(rejected.every((e) => (e as QuotaExceededError).params.used === 3)).toBe(true);

    expect(await count(rows())).toBe(3);
    expect(await count(rows('creating'))).toBe(3);
    expect(await count(createOps())).toBe(3);
    // Each created record has its own operation and its own hypervisor name.
    const ops = await createOps().select('snapshot_id', 'status');
    expect(new Set(ops.map((o) => Number(o.snapshot_id)))).toEqual(new Set(fulfilled.map((s) => s.id)));
    expect(ops.every((o) => o.status === 'queued')).toBe(true);
    expect(new Set(fulfilled.map((s) => s.hvName)).size).toBe(3);

    // Every refusal is in the audit log with its code.
    const audit = await new AuditRepo(handle.db).list({ serviceId: SERVICE.id, action: 'snapshot.create', limit: 500 });
    expect(audit.filter((a) => a.result === 'ok')).toHaveLength(3);
    const refused = audit.filter((a) => a.result === 'refused');
    expect(refused).toHaveLength(PARALLEL - 3);
    expect(refused.every((a) => a.code === 'snapshot_limit_reached')).toBe(true);
  });

  it(`with 1 active snapshot and limit 3, ${PARALLEL} parallel creates make exactly 2`, async () => {
    fx = await handle.module();
    const first = await fx.mod.snapshots.create(SERVICE, { name: 'existing' }, CTX);
    expect(await new SnapshotsRepo(handle.db).transition(first.id, 'creating', { status: 'active', completedAt: new Date() })).toBe(true);

    const { fulfilled, rejected } = await burst(PARALLEL);
    expect(fulfilled).toHaveLength(2);
    expect(rejected).toHaveLength(PARALLEL - 2);
    expectAllLimitReached(rejected, 3);
    expect(await count(rows())).toBe(3);
    expect(await count(rows('active'))).toBe(1);
    expect(await count(createOps())).toBe(3);
  });

  it('failed snapshots do not count toward the limit', async () => {
    const driver = new SimulatedDriver({});
    fx = await handle.module({ driver });
    await fx.mod.start();
    // One create the hypervisor refuses: it ends failed and occupies nothing.
    driver.injectFailure({ operation: 'create', code: 'unsupported_storage' });
    const doomed = await fx.mod.snapshots.create(SERVICE, { name: 'doomed' }, CTX);
    await waitFor(async () => (await new SnapshotsRepo(handle.db).get(doomed.id))?.status === 'failed', 5_000, 'snapshot failed');

    const { fulfilled, rejected } = await burst(PARALLEL);
    expect(fulfilled).toHaveLength(3);
    expectAllLimitReached(rejected, 3);
    expect(await count(rows())).toBe(4);
    expect(await count(rows('failed'))).toBe(1);
    expect(await count(createOps())).toBe(4);

    // Marking another one failed frees exactly one slot.
    await waitFor(async () => (await count(rows('active'))) === 3, 5_000, 'three active');
    await fx.mod.stop();
    const victim = fulfilled[0]!;
    await new SnapshotsRepo(handle.db).update(victim.id, { status: 'failed', errorCode: 'driver_rejected' });
    const again = await burst(10, 'again');
    expect(again.fulfilled).toHaveLength(1);
    expect(again.rejected).toHaveLength(9);
    expectAllLimitReached(again.rejected, 3);
  });

  it('a per-service override raises the limit at once; a plan row lowers it', async () => {
    fx = await handle.module();
    expect((await burst(3)).fulfilled).toHaveLength(3);
    await expect(fx.mod.snapshots.create(SERVICE, { name: 'fourth' }, CTX)).rejects.toMatchObject({ code: 'snapshot_limit_reached' });

    // Override to 5: the very next requests see it (no cache, no restart).
    const services = new ServicesRepo(handle.db);
    await services.setOverrides(SERVICE.id, { maxSnapshots: 5 });
    const raised = await burst(PARALLEL, 'raised');
    expect(raised.fulfilled).toHaveLength(2);
    expectAllLimitReached(raised.rejected, 5);
    expect(await count(rows())).toBe(5);

    // Override cleared, plan row of 4: 5 held, over by 1, next create refused with how much over.
    await services.setOverrides(SERVICE.id, {});
    await new LimitsRepo(handle.db).set(SERVICE.planId, limits({ maxSnapshots: 4 }));
    const refused = fx.mod.snapshots.create(SERVICE, { name: 'over' }, CTX);
    await expect(refused).rejects.toBeInstanceOf(QuotaExceededError);
    await expect(refused).rejects.toMatchObject({ code: 'snapshot_limit_reached', params: { limit: 4, used: 5, over: 1 } });
    expect(await count(rows())).toBe(5);

    // Plan row beats the admin default row; the override beats both.
    await new LimitsRepo(handle.db).set(DEFAULT_PLAN, limits({ maxSnapshots: 100 }));
    await expect(fx.mod.snapshots.create(SERVICE, { name: 'still over' }, CTX)).rejects.toMatchObject({ params: { limit: 4 } });
    await services.setOverrides(SERVICE.id, { maxSnapshots: 6 });
    const six = await burst(5, 'six');
    expect(six.fulfilled).toHaveLength(1);
    expectAllLimitReached(six.rejected, 6);
    expect(await count(rows())).toBe(6);
    expect(await count(createOps())).toBe(6);
  });

  it('the admin default row applies to plans without a row of their own', async () => {
    fx = await handle.module();
    await new LimitsRepo(handle.db).set(DEFAULT_PLAN, limits({ maxSnapshots: 1 }));
    const { fulfilled, rejected } = await burst(20);
    expect(fulfilled).toHaveLength(1);
    expectAllLimitReached(rejected, 1);
    expect(await count(rows())).toBe(1);
  });

  it('limits are per service: a full service does not block another', async () => {
    const other = makeService({ id: 'svc-2', name: 'web-02', target: { driver: 'simulated', node: 'node1', vmId: '102' } });
    fx = await handle.module({ services: [SERVICE, other] });
    const results = await Promise.allSettled(
      Array.from({ length: 40 }, (_, i) => fx.mod.snapshots.create(i % 2 ? other : SERVICE, { name: `p${i}` }, CTX)),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(6);
    expect(await count(rows())).toBe(3);
    expect(await count(handle.db('snapshot_snapshots').where({ service_id: 'svc-2' }))).toBe(3);
  });
});
