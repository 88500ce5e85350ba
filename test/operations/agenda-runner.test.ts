import type { Knex } from 'knex';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { OperationsRepo } from '../../module/db/operations-repo.js';
import { SnapshotsRepo } from '../../module/db/snapshots-repo.js';
import type { ActionContext } from '../../module/index.js';
import { SimulatedDriver } from '../../module/drivers/simulated/simulated-driver.js';
import { OPERATION_JOB } from '../../module/operations/agenda-runner.js';
import { CountingDriver } from '../helpers/counting-driver.js';
import { DATABASES, type TestDatabase } from '../helpers/databases.js';
import { useDatabase } from '../helpers/db-suite.js';
import { makeService } from '../helpers/module-fixture.js';
import { waitFor } from '../helpers/wait-for.js';

const CTX: ActionContext = { actor: { type: 'customer', id: 'alice' } };
const SERVICE = makeService();

/** Operations as Agenda jobs: one job per service's head operation, in the module's job table. */
describe.each(DATABASES)('operations on Agenda ($kind)', (kind: TestDatabase) => {
  const handle = useDatabase(kind);
  let operations: OperationsRepo;

  beforeEach(() => {
    operations = new OperationsRepo(handle.db);
  });

  async function instance(on: Knex, driver: SimulatedDriver | CountingDriver, operationsConfig: Record<string, number> = {}) {
    const f = await handle.module({ driver, operations: operationsConfig }, on);
    await f.mod.start();
    return f;
  }
  const jobs = async () => (await handle.db('snapshot_jobs').where({ name: OPERATION_JOB }).select('data', 'next_run_at', 'locked_at'))
    .map((r) => ({ serviceId: String(JSON.parse(String(r.data)).serviceId), nextRunAt: r.next_run_at, lockedAt: r.locked_at }));
  const opOf = async (snapshotId: number) => (await operations.list({ limit: 100 })).find((o) => o.snapshotId === snapshotId)!;
  const ended = (snapshotId: number, ms = 8_000) => waitFor(async () => {
    const op = await opOf(snapshotId);
    return op && (op.status === 'succeeded' || op.status === 'failed') ? op : undefined;
  }, ms, `operation of snapshot ${snapshotId} ended`);

  it('one job per service runs its operations oldest first, goes when none is left and comes back with new work', async () => {
    const sim = new SimulatedDriver({ delayMs: { create: [300, 300] } });
    const f = await instance(handle.db, sim);
    const other = makeService({ id: 'svc-other', target: { driver: 'simulated', node: 'node1', vmId: '202' } });
    const a = await f.mod.snapshots.create(SERVICE, { name: 'first' }, CTX);
    const b = await f.mod.snapshots.create(SERVICE, { name: 'second' }, CTX);
    const c = await f.mod.snapshots.create(other, { name: 'elsewhere' }, CTX);
    await waitFor(async () => ((await jobs()).length === 2 ? true : undefined), 3_000, 'a job for each service');
    expect((await jobs()).map((j) => j.serviceId).sort()).toEqual([SERVICE.id, other.id].sort());
    const [opA, opB] = [await ended(a.id), await ended(b.id)];
    expect([opA.status, opB.status]).toEqual(['succeeded', 'succeeded']);
    // In order: the second started only after the first had finished.
    expect(opB.startedAt!.getTime()).toBeGreaterThanOrEqual(opA.finishedAt!.getTime());
    expect((await ended(c.id)).status).toBe('succeeded');
    await waitFor(async () => ((await jobs()).length === 0 ? true : undefined), 3_000, 'no job left');
    const d = await f.mod.snapshots.create(SERVICE, { name: 'later' }, CTX);
    expect((await ended(d.id)).status).toBe('succeeded');
    await waitFor(async () => ((await jobs()).length === 0 ? true : undefined), 3_000, 'no job left again');
  });

  it('a transient failure puts the job off until the operation\'s backoff ends', async () => {
    const sim = new SimulatedDriver({});
    const f = await instance(handle.db, sim, { backoffMs: 1_500, maxAttempts: 3 });
    sim.injectFailure({ operation: 'create', code: 'locked', times: 1 });
    const s = await f.mod.snapshots.create(SERVICE, { name: 'retry me' }, CTX);
    const waiting = await waitFor(async () => {
      const op = await opOf(s.id);
      return op.status === 'queued' && op.attempts === 1 ? op : undefined;
    }, 5_000, 'requeued after the locked VM');
    expect(waiting.errorCode).toBe('driver_locked');
    const [job] = await waitFor(async () => {
      const js = await jobs();
      return js.length === 1 && js[0]!.nextRunAt && !js[0]!.lockedAt ? js : undefined;
    }, 3_000, 'the job rescheduled');
    // The job waits for the backoff, as the operation's own run_after says, not a poll interval.
    expect(Math.abs(new Date(job!.nextRunAt as string | number | Date).getTime() - waiting.runAfter.getTime())).toBeLessThan(50);
    const done = await ended(s.id);
    expect(done).toMatchObject({ status: 'succeeded', attempts: 2 });
    // The retry ran once the backoff was over, not at the next poll.
    const completed = (await new SnapshotsRepo(handle.db).get(s.id))!.completedAt!;
    expect(completed.getTime()).toBeGreaterThanOrEqual(waiting.runAfter.getTime());
  });

  it('stop({ drain: true }) waits for the running operation to finish', async () => {
    const sim = new SimulatedDriver({ delayMs: { create: [600, 600] } });
    const f = await instance(handle.db, sim);
    const s = await f.mod.snapshots.create(SERVICE, { name: 'drained' }, CTX);
    await waitFor(async () => ((await opOf(s.id)).status === 'running' ? true : undefined), 3_000, 'running');
    await f.mod.stop({ drain: true });
    expect((await opOf(s.id)).status).toBe('succeeded');
    expect(await jobs()).toEqual([]);
  });

  it('a long operation keeps its lock: a second worker never takes it over', async () => {
    // The task takes four leases; without the heartbeat, the other worker would claim it when the first lease ran out.
    const dir = mkdtempSync(join(tmpdir(), 'snapshots-lock-'));
    const shared = { stateFile: join(dir, 'hv.json'), delayMs: { create: [2_000, 2_000] as [number, number] } };
    const counting = [new CountingDriver(new SimulatedDriver(shared)), new CountingDriver(new SimulatedDriver(shared))];
    const second = await handle.secondHandle();
    const lease = { leaseMs: 500 };
    // Two panel processes on one database and one hypervisor (the simulated one's state file).
    const a = await instance(handle.db, counting[0]!, lease);
    await instance(second, counting[1]!, lease);
    const s = await a.mod.snapshots.create(SERVICE, { name: 'long one' }, CTX);
    const op = await ended(s.id, 10_000);
    expect(op).toMatchObject({ status: 'succeeded', attempts: 1 });
    // Whichever process claimed it did all the work; a takeover would have polled the stored task
    // (or started another) from the other process.
    const [worker, other] = counting[0]!.count('create') ? [counting[0]!, counting[1]!] : [counting[1]!, counting[0]!];
    expect(worker.count('create')).toBe(1);
    expect(worker.count('taskStatus')).toBeGreaterThan(1);
    expect(other.count('create') + other.count('taskStatus')).toBe(0);
    rmSync(dir, { recursive: true, force: true });
  });

  it('an operation left without a job (a crash right after it was queued) is found by the sweep', async () => {
    const f = await instance(handle.db, new SimulatedDriver({}), { leaseMs: 400 });
    const s = await f.mod.snapshots.create(SERVICE, { name: 'swept' }, CTX);
    await ended(s.id);
    // What a process that died between committing and dispatching would leave: an operation, no job.
    const [id] = await handle.db('snapshot_operations').insert({
      service_id: SERVICE.id, snapshot_id: null, kind: 'delete', status: 'queued', attempts: 0, driver: 'simulated',
      node: 'node1', vm_id: '101', payload: '{}', origin: 'customer', requested_by: 'alice',
      run_after: new Date(), created_at: new Date(), updated_at: new Date(),
    });
    const orphanId = Number(id ?? (await handle.db('snapshot_operations').max({ id: 'id' }).first())!.id);
    const swept = await waitFor(async () => {
      const op = await operations.get(orphanId);
      return op && (op.status === 'succeeded' || op.status === 'failed') ? op : undefined;
    }, 5_000, 'the orphan picked up');
    expect(swept.status).toBe('succeeded');
  });
});
