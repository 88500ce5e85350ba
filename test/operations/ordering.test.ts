import { describe, expect, it } from 'vitest';
import type { ActionContext } from '../../module/index.js';
import { SimulatedDriver } from '../../module/drivers/simulated/simulated-driver.js';
import { DATABASES } from '../helpers/databases.js';
import { useDatabase } from '../helpers/db-suite.js';
import { makeService } from '../helpers/module-fixture.js';
import { waitFor } from '../helpers/wait-for.js';

const CTX: ActionContext = { actor: { type: 'customer', id: 'alice' } };
const SERVICE = makeService();

describe.each(DATABASES)('operations of a service keep their order ($kind)', (kind) => {
  const handle = useDatabase(kind);

  it('a later operation waits while an earlier one sits out a retry backoff (safety snapshot before restore)', async () => {
    const driver = new SimulatedDriver({});
    const fx = await handle.module({ driver, operations: { backoffMs: 400 } });
    await fx.mod.start();
    const target = await fx.mod.snapshots.create(SERVICE, { name: 'target' }, CTX);
    await waitFor(async () => (await handle.db('snapshot_snapshots').where({ id: target.id }).first()).status === 'active', 5000, 'target');
    // The safety snapshot's create meets a busy VM once and is retried after the backoff; the restore
    // queued behind it must not overtake it.
    driver.injectFailure({ operation: 'create', code: 'locked' });
    const { safety } = await fx.mod.snapshots.restore(SERVICE, target.id, { typedServiceName: SERVICE.name, safetySnapshot: true }, CTX);
    await waitFor(async () => (await handle.db('snapshot_operations').whereIn('status', ['queued', 'running'])).length === 0, 8000, 'all done');
    const ops = await handle.db('snapshot_operations').whereIn('kind', ['create', 'restore']).where('snapshot_id', 'in', [safety!.id, target.id]).orderBy('id');
    const create = ops.find((o) => Number(o.snapshot_id) === safety!.id && o.kind === 'create')!;
    const restore = ops.find((o) => o.kind === 'restore')!;
    expect(Number(create.attempts)).toBe(2);
    expect(create.status).toBe('succeeded');
    expect(restore.status).toBe('succeeded');
    const t = (v: unknown) => (v instanceof Date ? v.getTime() : Number(v));
    expect(t(restore.started_at)).toBeGreaterThanOrEqual(t(create.finished_at));
  });
});
