import { describe, expect, it } from 'vitest';
import type { ActionContext } from '../../module/index.js';
import { SimulatedDriver } from '../../module/drivers/simulated/simulated-driver.js';
import { DATABASES } from '../helpers/databases.js';
import { useDatabase } from '../helpers/db-suite.js';
import { makeService } from '../helpers/module-fixture.js';
import { waitFor } from '../helpers/wait-for.js';

const CTX: ActionContext = { actor: { type: 'customer', id: 'alice' } };
const SERVICES = Array.from({ length: 6 }, (_, i) => makeService({ id: `svc-${i}`, name: `web-${i}`, target: { driver: 'simulated', node: 'node1', vmId: String(100 + i) } }));

describe.each(DATABASES)('a reconcile pass reads each service once ($kind)', (kind) => {
  const handle = useDatabase(kind);

  it('costs one statement per service in step with its hypervisor, plus a few per pass', async () => {
    const driver = new SimulatedDriver({});
    const fx = await handle.module({ driver, services: SERVICES });
    await fx.mod.start();
    for (const s of SERVICES) {
      await fx.mod.snapshots.create(s, { name: 'one' }, CTX);
      await fx.mod.snapshots.create(s, { name: 'two' }, CTX);
    }
    await waitFor(async () => Number((await handle.db('snapshot_snapshots').where({ status: 'active' }).count({ n: '*' }).first())!.n) === 12, 10_000, 'all active');
    await waitFor(async () => Number((await handle.db('snapshot_operations').whereIn('status', ['queued', 'running']).count({ n: '*' }).first())!.n) === 0, 5000, 'queue empty');
    await fx.mod.stop();
    // The first look at each service copies its owner onto the state row (once); the pass after is the steady state.
    await fx.mod.reconcile();

    const statements: string[] = [];
    const log = (q: { sql: string }) => { if (!q.sql.includes('snapshot_jobs')) statements.push(q.sql); };
    handle.db.on('query', log);
    const summaries = await fx.mod.reconcile();
    handle.db.off('query', log);

    expect(summaries).toHaveLength(SERVICES.length);
    for (const s of summaries) {
      expect(s).toMatchObject({ vanished: 0, unmanaged: 0 });
      expect(s.skipped).toBeUndefined();
    }
    // The live ids, their state rows (one chunk), one read per service, the stuck-operations sweep.
    expect(statements.length, statements.join('\n')).toBeLessThanOrEqual(SERVICES.length + 3);
    const reads = statements.filter((sql) => /from [`"]?snapshot_snapshots/i.test(sql) || /join [`"]?snapshot_snapshots/i.test(sql));
    expect(reads).toHaveLength(SERVICES.length);
  });

  it('still reads again when the hypervisor shows a snapshot of ours made since its read, and records no twin', async () => {
    const driver = new SimulatedDriver({});
    const fx = await handle.module({ driver, services: [SERVICES[0]!] });
    await fx.mod.start();
    const first = await fx.mod.snapshots.create(SERVICES[0]!, { name: 'first' }, CTX);
    await waitFor(async () => (await handle.db('snapshot_snapshots').where({ id: first.id }).first())?.status === 'active', 5000, 'active');
    await fx.mod.stop();
    const list = driver.list.bind(driver);
    let made: { id: number; hvName: string } | null = null;
    // Between the pass's read and its hypervisor list, a create is recorded and lands on the hypervisor.
    driver.list = async (target) => {
      if (!made) {
        const s = await fx.mod.snapshots.create(SERVICES[0]!, { name: 'meanwhile' }, CTX);
        made = { id: s.id, hvName: s.hvName };
        await handle.db('snapshot_operations').where({ snapshot_id: s.id }).update({ status: 'succeeded' });
        await driver.create(target, { name: s.hvName, description: null, includeMemory: false });
      }
      return list(target);
    };
    expect((await fx.mod.reconcile())[0]).toMatchObject({ vanished: 0, unmanaged: 0 });
    expect(await handle.db('snapshot_snapshots').where({ hv_name: made!.hvName })).toHaveLength(1);
  });
});
