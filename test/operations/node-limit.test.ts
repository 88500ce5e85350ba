import { describe, expect, it } from 'vitest';
import type { ActionContext } from '../../module/index.js';
import { SimulatedDriver } from '../../module/drivers/simulated/simulated-driver.js';
import { DATABASES } from '../helpers/databases.js';
import { type ModuleFixture, useDatabase } from '../helpers/db-suite.js';
import { makeService } from '../helpers/module-fixture.js';

const CTX: ActionContext = { actor: { type: 'admin', id: 'root' } };
const onNode = (node: string, n: number) => Array.from({ length: n }, (_, i) =>
  makeService({ id: `${node}-${i}`, name: `${node}-${i}`, target: { driver: 'simulated', node, vmId: String(100 + i) } }));

describe.each(DATABASES)('per-node concurrency across workers ($kind)', (kind) => {
  const handle = useDatabase(kind);

  it('never runs more than perNodeConcurrency operations on a node, even with two worker processes', async () => {
    const second = await handle.secondHandle();
    const fixtures: ModuleFixture[] = [];
    const services = [...onNode('pve1', 6), ...onNode('pve2', 2)];
    const ops = { perNodeConcurrency: 2, concurrency: 8 };
    // Two workers, each with its own connection and its own view of the same hypervisor.
    for (const db of [handle.db, second]) {
      fixtures.push(await handle.module({ services, operations: ops, driver: new SimulatedDriver({ delayMs: { create: [120, 120] } }) }, db));
    }
    for (const s of services) await fixtures[0]!.mod.snapshots.create(s, { name: 'n' }, CTX);
    await Promise.all(fixtures.map((f) => f.mod.start()));

    let maxPve1 = 0;
    let maxPve2 = 0;
    let sawBothNodes = false;
    const deadline = Date.now() + 15_000;
    for (;;) {
      const running = await handle.db('snapshot_operations').where({ status: 'running' }).select('node');
      const p1 = running.filter((r) => r.node === 'pve1').length;
      const p2 = running.filter((r) => r.node === 'pve2').length;
      maxPve1 = Math.max(maxPve1, p1);
      maxPve2 = Math.max(maxPve2, p2);
      if (p1 > 0 && p2 > 0) sawBothNodes = true;
      const left = await handle.db('snapshot_operations').whereIn('status', ['queued', 'running']).count({ n: '*' }).first();
      if (Number(left!.n) === 0) break;
      if (Date.now() > deadline) throw new Error('operations did not finish');
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(maxPve1).toBe(2);
    expect(maxPve2).toBeLessThanOrEqual(2);
    expect(sawBothNodes).toBe(true);
    const statuses = await handle.db('snapshot_operations').select('status', 'attempts');
    expect(statuses).toHaveLength(8);
    // No VM was ever asked twice at once ("locked" would have forced a retry).
    expect(statuses.every((s) => s.status === 'succeeded' && Number(s.attempts) === 1)).toBe(true);
  });
});
