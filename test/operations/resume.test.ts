import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { OperationsRepo } from '../../module/db/operations-repo.js';
import { SnapshotsRepo } from '../../module/db/snapshots-repo.js';
import type { ActionContext } from '../../module/index.js';
import type { Operation, Snapshot } from '../../module/domain/types.js';
import { SimulatedDriver, type SimulatedDriverOptions } from '../../module/drivers/simulated/simulated-driver.js';
import { CountingDriver } from '../helpers/counting-driver.js';
import { DATABASES, type TestDatabase } from '../helpers/databases.js';
import { type ModuleFixture, useDatabase } from '../helpers/db-suite.js';
import { makeService } from '../helpers/module-fixture.js';
import { waitFor } from '../helpers/wait-for.js';

// An administrator's actions: they are mailed to the owner, so the mail shows which instance finished them.
const CTX: ActionContext = { actor: { type: 'admin', id: 'root' } };
const SERVICE = makeService();

/**
 * Durable operations across module instances sharing one database and one (simulated) hypervisor:
 * instance A stops or dies mid-operation, instance B — its own knex handle, its own driver object on
 * the same state file, as a restarted panel process would have — finishes the work exactly once.
 */
describe.each(DATABASES)('operations resume across instances ($kind)', (kind: TestDatabase) => {
  const handle = useDatabase(kind);
  let stateFile: string;

  beforeEach(({ onTestFinished }) => {
    const dir = mkdtempSync(join(tmpdir(), 'snapshots-resume-'));
    stateFile = join(dir, 'hypervisor.json');
    // After the afterEach hooks: the modules writing there have stopped by then.
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  });

  const simulated = (o: SimulatedDriverOptions = {}) => new SimulatedDriver({ stateFile, ...o });
  async function instanceA(o: SimulatedDriverOptions = {}) {
    const driver = simulated(o);
    const f = await handle.module({ driver });
    return { ...f, sim: driver };
  }
  /** A second instance on its own connection(s) to the same database and the same hypervisor. */
  async function instanceB(o: SimulatedDriverOptions = {}) {
    const counting = new CountingDriver(simulated(o));
    const f = await handle.module({ driver: counting }, await handle.secondHandle());
    return { ...f, counting };
  }

  const opOf = async (snapshotId: number): Promise<Operation> =>
    (await new OperationsRepo(handle.db).list({ limit: 50 })).find((o) => o.snapshotId === snapshotId)!;
  const snapshotRow = async (id: number) => new SnapshotsRepo(handle.db).get(id);
  const hvNames = async () => (await simulated().list(SERVICE.target)).map((x) => x.name);

  /** Makes an operation look like its worker died holding it. */
  async function orphan(opId: number, o: { driverTask: string | null; lockedUntil: Date; attempts?: number }) {
    const now = new Date();
    await handle.db('snapshot_operations').where({ id: opId }).update({
      status: 'running', locked_by: 'dead#1', locked_until: o.lockedUntil, driver_task: o.driverTask,
      attempts: o.attempts ?? 1, started_at: now, updated_at: now,
    });
  }

  async function expectDoneOnce(s: Snapshot, b: { counting: CountingDriver; notifications: ModuleFixture['notifications'] }) {
    await waitFor(async () => (await snapshotRow(s.id))?.status === 'active', 5_000, 'snapshot active after resume');
    const names = await hvNames();
    expect(names.filter((n) => n === s.hvName)).toHaveLength(1);
    expect(names).toHaveLength(1);
    // B never started a second create on the hypervisor.
    expect(b.counting.count('create')).toBe(0);
    const op = await waitFor(async () => {
      const o = await opOf(s.id);
      return o.status === 'succeeded' ? o : undefined;
    }, 2_000, 'operation succeeded');
    const row = (await snapshotRow(s.id))!;
    expect(row.diskBytes).toBe((await simulated().list(SERVICE.target))[0]!.diskBytes);
    expect(row.completedAt).toBeInstanceOf(Date);
    await waitFor(() => b.notifications.find((n) => n.type === 'snapshot_created'), 2_000, 'created notification from B');
    return op;
  }

  it('a stopped instance hands its running operation back; the next instance polls the same task', async () => {
    const a = await instanceA({ delayMs: { create: [400, 400] } });
    await a.mod.start();
    const s = await a.mod.snapshots.create(SERVICE, { name: 'nightly' }, CTX);
    const running = await waitFor(async () => {
      const op = await opOf(s.id);
      return op.status === 'running' && op.driverTask ? op : undefined;
    }, 2_000, 'operation running with a driver task');
    expect(running.attempts).toBe(1);
    expect(running.lockedBy).toBeTruthy();

    await a.mod.stop();

    const released = await opOf(s.id);
    expect(released).toMatchObject({ status: 'queued', driverTask: running.driverTask, lockedBy: null, lockedUntil: null, attempts: 1 });
    expect((await snapshotRow(s.id))!.status).toBe('creating');
    expect(a.notifications).toEqual([]);

    const b = await instanceB({ delayMs: { create: [400, 400] } });
    await b.mod.start();
    const op = await expectDoneOnce(s, b);
    expect(op.attempts).toBe(2);
    expect(op.driverTask).toBe(running.driverTask);
    expect(b.counting.calls.some((c) => c.method === 'taskStatus' && c.args[1] === running.driverTask)).toBe(true);
  });

  it('a crashed worker (expired lease, task started) is recovered and its task polled, not restarted', async () => {
    const a = await instanceA({ delayMs: { create: [300, 300] } });
    const s = await a.mod.snapshots.create(SERVICE, { name: 'before crash' }, CTX);
    const op0 = await opOf(s.id);
    // The dead worker had started the hypervisor task and stored its reference.
    const task = await a.sim.create(SERVICE.target, { name: s.hvName, description: s.description, includeMemory: false });
    await orphan(op0.id, { driverTask: task, lockedUntil: new Date(Date.now() - 60_000) });

    const b = await instanceB({ delayMs: { create: [300, 300] } });
    await b.mod.start();
    const op = await expectDoneOnce(s, b);
    expect(op.attempts).toBe(2);
    expect(op.driverTask).toBe(task);
    expect(op.lockedBy).toBeNull();
  });

  it('a lease that expired between starting the task and storing it: the snapshot is recognised, not duplicated', async () => {
    const a = await instanceA();
    const s = await a.mod.snapshots.create(SERVICE, { name: 'half done' }, CTX);
    const op0 = await opOf(s.id);
    // The create happened on the hypervisor, but the worker died before recording the task.
    await a.sim.create(SERVICE.target, { name: s.hvName, description: s.description, includeMemory: false });
    expect(await hvNames()).toEqual([s.hvName]);
    await orphan(op0.id, { driverTask: null, lockedUntil: new Date(Date.now() - 1_000), attempts: 1 });

    const b = await instanceB();
    await b.mod.start();
    const op = await expectDoneOnce(s, b);
    expect(op.attempts).toBe(2);
    expect(b.counting.count('list')).toBeGreaterThan(0);
  });

  it('a delete whose hypervisor side already happened before the crash completes without a second delete', async () => {
    const a = await instanceA();
    await a.mod.start();
    const s = await a.mod.snapshots.create(SERVICE, { name: 'to remove' }, CTX);
    await waitFor(async () => (await snapshotRow(s.id))?.status === 'active', 5_000, 'active');
    await waitFor(async () => (await opOf(s.id)).status === 'succeeded', 2_000, 'create op done');
    await a.mod.stop();

    await a.mod.snapshots.delete(SERVICE, s.id, { confirm: true }, CTX);
    const del = (await new OperationsRepo(handle.db).list({ limit: 50 })).find((o) => o.kind === 'delete')!;
    await a.sim.delete(SERVICE.target, s.hvName);
    expect(await hvNames()).toEqual([]);
    await orphan(del.id, { driverTask: null, lockedUntil: new Date(Date.now() - 1_000), attempts: 1 });

    const b = await instanceB();
    await b.mod.start();
    await waitFor(async () => (await snapshotRow(s.id)) === null, 5_000, 'row removed');
    // The row goes first, then the operation is marked finished: wait for that too.
    await waitFor(async () => (await new OperationsRepo(handle.db).get(del.id))?.status !== 'running', 5_000, 'operation finished');
    expect(b.counting.count('delete')).toBe(0);
    expect(await new OperationsRepo(handle.db).get(del.id)).toMatchObject({ status: 'succeeded', attempts: 2, errorCode: null });
  });

  it('a worker whose lease went to another while a driver call hung writes no outcome over it', async () => {
    const a = await instanceA({ delayMs: { create: [50, 50] } });
    let release!: () => void;
    const hung = new Promise<void>((resolve) => { release = resolve; });
    const asked = { status: 0, list: 0 };
    const { taskStatus, list } = { taskStatus: a.sim.taskStatus.bind(a.sim), list: a.sim.list.bind(a.sim) };
    a.sim.taskStatus = async (target, task) => {
      if (asked.status++ === 0) await hung;
      return taskStatus(target, task);
    };
    a.sim.list = async (target) => { asked.list += 1; return list(target); };
    await a.mod.start();
    const s = await a.mod.snapshots.create(SERVICE, { name: 'taken over' }, CTX);
    await waitFor(() => asked.status > 0, 5_000, 'the task asked about');
    // Meanwhile the lease ran out and another worker claimed the operation.
    const op0 = await opOf(s.id);
    await handle.db('snapshot_operations').where({ id: op0.id }).update({ locked_by: 'other#1', locked_until: new Date(Date.now() + 60_000), attempts: 2 });
    // The answer comes once the task is over: the worker reads the hypervisor for its outcome, then tries to write it.
    await new Promise((r) => setTimeout(r, 200));
    release();
    await waitFor(() => asked.list > 0, 5_000, 'the outcome looked up');
    await new Promise((r) => setTimeout(r, 300));
    expect(await opOf(s.id)).toMatchObject({ status: 'running', lockedBy: 'other#1', attempts: 2, finishedAt: null });
    expect((await snapshotRow(s.id))!.status).toBe('creating');
    expect(await handle.db('snapshot_audit_events').where({ snapshot_id: s.id, action: 'operation.create' })).toEqual([]);
    expect(a.notifications).toEqual([]);
  });

  it('a live lease of another worker is left alone at start', async () => {
    const a = await instanceA();
    const s = await a.mod.snapshots.create(SERVICE, { name: 'owned elsewhere' }, CTX);
    const op0 = await opOf(s.id);
    await orphan(op0.id, { driverTask: null, lockedUntil: new Date(Date.now() + 60_000) });

    const b = await instanceB();
    await b.mod.start();
    await new Promise((r) => setTimeout(r, 200));
    expect(await opOf(s.id)).toMatchObject({ status: 'running', lockedBy: 'dead#1', attempts: 1 });
    expect(b.counting.count('create')).toBe(0);
    expect((await snapshotRow(s.id))!.status).toBe('creating');
  });

  // A worker can die while another panel process keeps running: the survivor must take over.
  it('a lease that expires while another instance is running is taken over by it', async () => {
    const a = await instanceA();
    const s = await a.mod.snapshots.create(SERVICE, { name: 'worker died later' }, CTX);
    const op0 = await opOf(s.id);
    await orphan(op0.id, { driverTask: null, lockedUntil: new Date(Date.now() + 300) });

    const b = await instanceB();
    await b.mod.start();
    // While the lease is live, B keeps its hands off.
    expect(await opOf(s.id)).toMatchObject({ status: 'running', lockedBy: 'dead#1' });
    // Once it has expired, the running instance takes the operation over and completes it.
    await waitFor(async () => (await snapshotRow(s.id))?.status === 'active', 2_500, 'taken over after lease expiry');
    expect(await hvNames()).toEqual([s.hvName]);
  });
});
