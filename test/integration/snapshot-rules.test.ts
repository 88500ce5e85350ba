import { describe, expect, it } from 'vitest';
import { LimitsRepo } from '../../module/db/limits-repo.js';
import type { ActionContext } from '../../module/index.js';
import { SimulatedDriver } from '../../module/drivers/simulated/simulated-driver.js';
import { DATABASES } from '../helpers/databases.js';
import { type ModuleFixture, useDatabase } from '../helpers/db-suite.js';
import { makeService } from '../helpers/module-fixture.js';
import { waitFor } from '../helpers/wait-for.js';

const CTX: ActionContext = { actor: { type: 'customer', id: 'alice' } };
const SERVICE = makeService();

describe.each(DATABASES)('snapshot rules ($kind)', (kind) => {
  const handle = useDatabase(kind);
  let fx: ModuleFixture;
  async function setup(driver?: SimulatedDriver) {
    fx = await handle.module({ driver });
    return fx;
  }
  const status = async (id: number) => (await handle.db('snapshot_snapshots').where({ id }).first())?.status ?? null;
  async function activeSnapshot(name: string) {
    const s = await fx.mod.snapshots.create(SERVICE, { name }, CTX);
    await waitFor(async () => (await status(s.id)) === 'active', 5000, `${name} active`);
    return s;
  }
  const failure = (p: Promise<unknown>) => p.then(() => null, (e: { code: string; fields?: Record<string, { code: string }> }) => e);

  it('memory snapshots only when the plan allows them and the hypervisor can', async () => {
    await setup(new SimulatedDriver({ memory: false }));
    const e1 = await failure(fx.mod.snapshots.create(SERVICE, { name: 'm', includeMemory: true }, CTX));
    expect(e1?.fields?.includeMemory?.code).toBe('memory_unsupported_by_hypervisor');
    await new LimitsRepo(handle.db).set(SERVICE.planId, { maxSnapshots: 3, maxSchedules: 1, maxKeep: 3, memoryAllowed: false, schedulesAllowed: true, cloneAllowed: true });
    const e2 = await failure(fx.mod.snapshots.create(SERVICE, { name: 'm', includeMemory: true }, CTX));
    expect(e2?.fields?.includeMemory?.code).toBe('memory_not_in_plan');
    // Without memory the same plan and driver are fine.
    expect((await fx.mod.snapshots.create(SERVICE, { name: 'disk only' }, CTX)).includeMemory).toBe(false);
    expect(await handle.db('snapshot_snapshots').count({ n: '*' }).first()).toMatchObject({ n: 1 });
  });

  it('a rollback-only-latest hypervisor refuses older snapshots and restores the newest', async () => {
    await setup(new SimulatedDriver({ rollbackOnlyLatest: true }));
    await fx.mod.start();
    const older = await activeSnapshot('older');
    await new Promise((r) => setTimeout(r, 5));
    const newer = await activeSnapshot('newer');
    expect((await failure(fx.mod.snapshots.restore(SERVICE, older.id, { typedServiceName: SERVICE.name }, CTX)))?.code).toBe('restore_only_latest');
    expect(await status(older.id)).toBe('active');
    await fx.mod.snapshots.restore(SERVICE, newer.id, { typedServiceName: SERVICE.name }, CTX);
    await waitFor(async () => (await status(newer.id)) === 'active', 5000, 'restored');
  });

  it('restore needs a completed snapshot, the exact service name, and no other restore pending', async () => {
    await setup(new SimulatedDriver({ delayMs: { restore: [300, 300] } }));
    const creating = await fx.mod.snapshots.create(SERVICE, { name: 'still creating' }, CTX);
    expect((await failure(fx.mod.snapshots.restore(SERVICE, creating.id, { typedServiceName: SERVICE.name }, CTX)))?.code).toBe('restore_needs_active');
    await fx.mod.start();
    const a = await activeSnapshot('a');
    const b = await activeSnapshot('b');
    const wrong = await failure(fx.mod.snapshots.restore(SERVICE, a.id, { typedServiceName: SERVICE.name.toUpperCase() }, CTX));
    expect(wrong?.fields?.typedServiceName?.code).toBe('service_name_mismatch');
    await fx.mod.snapshots.restore(SERVICE, a.id, { typedServiceName: ` ${SERVICE.name} ` }, CTX);
    expect(await status(a.id)).toBe('restoring');
    expect((await failure(fx.mod.snapshots.restore(SERVICE, b.id, { typedServiceName: SERVICE.name }, CTX)))?.code).toBe('restore_in_progress');
    // A restoring snapshot cannot be deleted under the restore.
    expect((await failure(fx.mod.snapshots.delete(SERVICE, a.id, { confirm: true }, CTX)))?.code).toBe('illegal_transition');
    await waitFor(async () => (await status(a.id)) === 'active', 5000, 'restore done');
  });

  it('a safety snapshot needs a free slot; without one the restore is refused and nothing changes', async () => {
    await setup();
    await fx.mod.start();
    const a = await activeSnapshot('a');
    await activeSnapshot('b');
    await activeSnapshot('c');
    const e = await failure(fx.mod.snapshots.restore(SERVICE, a.id, { typedServiceName: SERVICE.name, safetySnapshot: true }, CTX));
    expect(e?.code).toBe('snapshot_limit_reached');
    expect(await status(a.id)).toBe('active');
    expect(await handle.db('snapshot_operations').where({ kind: 'restore' }).count({ n: '*' }).first()).toMatchObject({ n: 0 });
  });

  it('every delete is confirmed; a failed snapshot is dismissed at once without touching the hypervisor', async () => {
    const driver = new SimulatedDriver({});
    await setup(driver);
    await fx.mod.start();
    const a = await activeSnapshot('a');
    expect((await failure(fx.mod.snapshots.delete(SERVICE, a.id, { confirm: false }, CTX)))?.fields?.confirm?.code).toBe('confirm_required');
    expect(await status(a.id)).toBe('active');
    driver.injectFailure({ operation: 'create', code: 'unsupported_storage' });
    const f = await fx.mod.snapshots.create(SERVICE, { name: 'will fail' }, CTX);
    await waitFor(async () => (await status(f.id)) === 'failed', 5000, 'failed');
    const opsBefore = Number((await handle.db('snapshot_operations').count({ n: '*' }).first())!.n);
    await fx.mod.snapshots.delete(SERVICE, f.id, { confirm: true }, CTX);
    expect(await status(f.id)).toBeNull();
    expect(Number((await handle.db('snapshot_operations').count({ n: '*' }).first())!.n)).toBe(opsBefore);
    expect(await handle.db('snapshot_audit_events').where({ action: 'snapshot.dismiss', snapshot_id: f.id }).first()).toBeTruthy();
  });

  it('edit changes only our record; the hypervisor name stays', async () => {
    await setup();
    const s = await fx.mod.snapshots.create(SERVICE, { name: 'old' }, CTX);
    const edited = await fx.mod.snapshots.edit(SERVICE, s.id, { name: '  新しい名前 ', description: '説明' }, CTX);
    expect(edited).toMatchObject({ name: '新しい名前', description: '説明', hvName: s.hvName });
    const row = await handle.db('snapshot_snapshots').where({ id: s.id }).first();
    expect(row).toMatchObject({ name: '新しい名前', hv_name: s.hvName });
  });

  it('a snapshot of another service is not found, whatever its id', async () => {
    await setup();
    const s = await fx.mod.snapshots.create(SERVICE, { name: 'mine' }, CTX);
    const other = makeService({ id: 'svc-9', ownerId: 'bob' });
    for (const call of [
      () => fx.mod.snapshots.setPinned(other, s.id, true, CTX),
      () => fx.mod.snapshots.edit(other, s.id, { name: 'x' }, CTX),
      () => fx.mod.snapshots.delete(other, s.id, { confirm: true }, CTX),
      () => fx.mod.snapshots.restore(other, s.id, { typedServiceName: other.name }, CTX),
    ]) expect((await failure(call()))?.code).toBe('snapshot_not_found');
    expect(await status(s.id)).toBe('creating');
  });
});
