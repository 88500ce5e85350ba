import { describe, expect, it } from 'vitest';
import type { ActionContext } from '../../module/index.js';
import { SimulatedDriver } from '../../module/drivers/simulated/simulated-driver.js';
import { OperationsRepo } from '../../module/db/operations-repo.js';
import { DATABASES } from '../helpers/databases.js';
import { useDatabase } from '../helpers/db-suite.js';
import { makeService } from '../helpers/module-fixture.js';
import { waitFor } from '../helpers/wait-for.js';

const CTX: ActionContext = { actor: { type: 'admin', id: 'root' } };
/** Long enough for the jobs queued after the first operation to be waiting for the slot before it ends. */
const TASK_MS = 600;
const LIMITS = { maxSnapshots: 10, maxSchedules: 1, maxKeep: 3, memoryAllowed: true, schedulesAllowed: true, cloneAllowed: true };
const service = (id: string, vm: number) => makeService({ id, name: id, target: { driver: 'simulated', node: 'pve1', vmId: String(vm) } });
const [A, B, C] = [service('a', 101), service('b', 102), service('c', 103)];

/**
 * A node's slots within one process: a freed slot goes to the waiting service with the most work
 * left (per-service order runs a queue one operation at a time, so the longest must start first or
 * it runs on alone at the end), and a service holding one gives it up to a much longer queue.
 */
describe.each(DATABASES)('handing over a node\'s slot ($kind)', (kind) => {
  const handle = useDatabase(kind);

  async function oneSlot() {
    const f = await handle.module({
      services: [A, B, C], driver: new SimulatedDriver({ delayMs: { create: [TASK_MS, TASK_MS] } }),
      // A lease well beyond the test: a service that waited a lease would go first whatever its work (see node-slots.test.ts).
      operations: { perNodeConcurrency: 1, concurrency: 8, leaseMs: 30_000 }, config: { defaultLimits: LIMITS },
    });
    await f.mod.start();
    const create = async (s: typeof A, n: number) => {
      for (let i = 0; i < n; i++) await f.mod.snapshots.create(s, { name: `${s.id}${i + 1}` }, CTX);
    };
    return { f, create };
  }
  const ops = async () => (await new OperationsRepo(handle.db).list({ limit: 100 })).sort((x, y) => x.id - y.id);
  const running = (serviceId: string) => waitFor(async () => ((await ops()).some((o) => o.serviceId === serviceId && o.status === 'running') ? true : undefined), 5_000, `${serviceId} running`);
  // The test's premise: the first operation still runs once the others were queued (and have had time to wait).
  const stillRunning = async (serviceId: string) => {
    await new Promise((r) => setTimeout(r, 100));
    expect((await ops()).find((o) => o.serviceId === serviceId)!.status).toBe('running');
  };
  const allDone = () => waitFor(async () => {
    const list = await ops();
    return list.every((o) => o.status === 'succeeded') ? list : undefined;
  }, 20_000, 'every operation done');
  const of = (list: Awaited<ReturnType<typeof ops>>, serviceId: string) => list.filter((o) => o.serviceId === serviceId);

  it('a freed slot goes to the waiting service with the most work left, not the one waiting longest', async () => {
    const { create } = await oneSlot();
    await create(A, 1);
    await running('a');
    await create(B, 1);
    // b waits for the slot first…
    await new Promise((r) => setTimeout(r, 100));
    await create(C, 3);
    await stillRunning('a');
    const list = await allDone();
    const [b, c] = [of(list, 'b'), of(list, 'c')];
    // …but c, with three operations to run one after another, gets it and keeps it (b's one is not more).
    expect(b[0]!.startedAt!.getTime()).toBeGreaterThanOrEqual(c[2]!.finishedAt!.getTime());
    expect(list.every((o) => o.attempts === 1)).toBe(true);
  });

  it('a service gives its slot up between two operations to a waiting service with far more work left', async () => {
    const { create } = await oneSlot();
    await create(A, 2);
    await running('a');
    await create(C, 5);
    await stillRunning('a');
    const list = await allDone();
    const [a, c] = [of(list, 'a'), of(list, 'c')];
    // a's second operation (its last) waits for all of c's five: a chain that long started last would end last.
    expect(a[1]!.startedAt!.getTime()).toBeGreaterThanOrEqual(c[4]!.finishedAt!.getTime());
    expect(c[0]!.startedAt!.getTime()).toBeGreaterThanOrEqual(a[0]!.finishedAt!.getTime());
  });
});
