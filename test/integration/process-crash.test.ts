import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import supertest from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PanelService, Snapshot } from '../../module/index.js';
import { SimulatedDriver } from '../../module/drivers/simulated/simulated-driver.js';
import { SCHEDULE_JOB } from '../../module/scheduler/agenda-scheduler.js';
import { CrashWorkers, type CrashWorker } from '../helpers/crash-workers.js';
import type { WorkerSpec } from '../helpers/crash-worker.js';
import { DATABASES, type TestDatabase } from '../helpers/databases.js';
import { useDatabase } from '../helpers/db-suite.js';
import { appFor } from '../helpers/http-app.js';
import { makeService, moduleFixture } from '../helpers/module-fixture.js';
import { waitFor } from '../helpers/wait-for.js';

const CUSTOMER = { actor: { type: 'customer' as const, id: 'alice' } };
const ADMIN = { actor: { type: 'admin' as const, id: 'root' } };
/** Short leases and locks for the rush, so the second worker takes over within seconds of the first one's death. */
const OPERATIONS = { pollMs: 50, taskPollMs: 50, leaseMs: 1_500, backoffMs: 10 };
const SCHEDULER = { processEveryMs: 100, lockLifetimeMs: 2_000 };
const TASK_MS = 3_000;
/** What a customer may wait for an operation whose worker died, with the default lease. */
const RECOVERY_MS = 15_000;
/**
 * A task outlasting a paused worker's lease and the takeover, and ending well before the worker that
 * took it over looks at it again (it polls it that rarely).
 */
const PAUSED_TASK_MS = 20_000;
/** Who finishes a killed worker's operation: a worker started after the kill, or one running all along. */
const TAKEOVERS = ['restarted', 'running'] as const;
type Takeover = (typeof TAKEOVERS)[number];

interface SimTask { vm: string; operation: string; done: boolean; endsAt: number }
interface SimState { vms: Record<string, { name: string }[]>; tasks: Record<string, SimTask>; guests?: Record<string, { snapshot: string; complete: boolean }> }

/**
 * Durable operations and exactly-once schedules against real crashes: a worker process running the
 * module is killed with SIGKILL in the middle of its work (no stop(), no unlock, no finally), and a
 * fresh worker process on the same database and the same (simulated) hypervisor state file finishes
 * it. Unlike resume.test.ts and exactly-once.test.ts, nothing here fakes the dead worker's leases.
 */
describe.each(DATABASES)('a worker process killed with SIGKILL ($kind)', (kind: TestDatabase) => {
  const handle = useDatabase(kind);
  let dir: string;
  let stateFile: string;
  let workers: CrashWorkers;

  beforeEach(async (ctx) => {
    dir = mkdtempSync(join(tmpdir(), 'snapshots-crash-'));
    stateFile = join(dir, 'hypervisor.json');
    workers = new CrashWorkers();
    ctx.onTestFailed(() => console.error(workers.stderr()));
  });

  afterEach(async () => {
    await workers.killAll();
    rmSync(dir, { recursive: true, force: true });
  });

  const spec = (services: PanelService[], config: Record<string, unknown>, delayMs?: WorkerSpec['delayMs']): WorkerSpec =>
    ({ kind: kind.kind, url: handle.url, stateFile, services, config, delayMs });
  const hypervisor = (): SimState => JSON.parse(readFileSync(stateFile, 'utf8')) as SimState;
  const db = () => handle.db;
  const count = async (q: ReturnType<ReturnType<typeof db>>) => Number((await q.count({ n: '*' }).first())!.n);

  /**
   * Nothing about operations is set for these workers: the recovery time asserted is what the default
   * lease gives a panel, not a test's shortened one.
   */
  describe('an operation whose hypervisor task is running, with the default leases', () => {
    const SERVICE = makeService();
    /** A new server ordered from SERVICE's snapshot (same customer), on a guest of its own. */
    const NEW = makeService({ id: 'svc-new', name: 'web-02', target: { driver: 'simulated', node: 'node1', vmId: '201' } });
    const VM = `${SERVICE.target.node}/${SERVICE.target.vmId}`;
    const config = { scheduler: SCHEDULER };

    /** This process queues work without running it (its module is never started). */
    const orders: string[] = [];
    const local = () => moduleFixture(db(), {
      services: [SERVICE, NEW], driver: new SimulatedDriver({ stateFile }),
      panel: { orderServerFromSnapshot: (r) => { orders.push(r.reference); return { continueUrl: '/orders/new' }; } },
    });
    const operation = async (id: number) => db()('snapshot_operations').where({ id }).first();
    const outcomes = async (opKind: string, snapshotId: number) =>
      (await db()('snapshot_audit_events').where({ action: `operation.${opKind}`, snapshot_id: snapshotId })).map((e) => e.result);
    const tasksOf = (opKind: string) => Object.values(hypervisor().tasks).filter((t) => t.vm === VM && t.operation === opKind);

    /** A Current snapshot to delete or restore, made by a module in this process that then stops. */
    async function currentSnapshot(): Promise<Snapshot> {
      const f = await local();
      await f.mod.start();
      const s = await f.mod.snapshots.create(SERVICE, { name: 'before' }, CUSTOMER);
      await waitFor(async () => (await db()('snapshot_operations').where({ snapshot_id: s.id, status: 'succeeded' }).first()) ?? null, 10_000, 'first create');
      await f.mod.stop();
      return s;
    }

    /** Started by a worker, with its task really running on the hypervisor (not over yet). */
    async function runningOn(first: CrashWorker, snapshotId: number, opKind: string) {
      const running = await waitFor(async () => {
        const op = await db()('snapshot_operations').where({ snapshot_id: snapshotId, kind: opKind }).first();
        return op?.status === 'running' && op.driver_task ? op : null;
      }, 15_000, `${opKind} running with its driver task`);
      expect(hypervisor().tasks[running.driver_task]).toMatchObject({ operation: opKind, done: false });
      expect(running.locked_by).toContain(`-${first.child.pid}-`);
      return running;
    }

    /** Done once: one task of this kind ever started on the VM, one outcome audited, nothing left half-way. */
    async function expectRanOnce(op: Record<string, unknown>, snapshotId: number, opKind: string, driverTask: string) {
      expect(op).toMatchObject({ status: 'succeeded', attempts: 2, driver_task: driverTask, locked_by: null });
      expect(tasksOf(opKind)).toHaveLength(1);
      expect(await outcomes(opKind, snapshotId)).toEqual(['ok']);
      expect(await count(db()('snapshot_operations').whereIn('status', ['queued', 'running']))).toBe(0);
      expect(await count(db()('snapshot_snapshots').whereIn('status', ['creating', 'deleting', 'restoring']))).toBe(0);
    }

    /**
     * Worker 1 runs the queued operation until its task runs on the hypervisor, and is killed; worker 2
     * (started after the kill, or already running beside worker 1) must finish it within RECOVERY_MS of
     * the kill, having polled worker 1's task rather than starting another.
     */
    async function killMidTask(snapshotId: number, opKind: string, takeover: Takeover) {
      const delays = { [opKind]: [TASK_MS, TASK_MS] as [number, number] };
      const first = await workers.start(spec([SERVICE, NEW], config, delays));
      const running = await runningOn(first, snapshotId, opKind);
      const beside = takeover === 'running' ? await workers.start(spec([SERVICE, NEW], config, delays)) : null;
      const killedAt = Date.now();
      await first.kill();
      const second = beside ?? await workers.start(spec([SERVICE, NEW], config, delays));
      const op = await waitFor(async () => {
        const row = await operation(running.id);
        return ['succeeded', 'failed'].includes(row.status) ? row : null;
      }, 4 * RECOVERY_MS, `${opKind} finished by the ${takeover} worker`, 50);
      const recoveredMs = Date.now() - killedAt;
      console.info(`[${kind.kind}] ${opKind} finished by a ${takeover} worker ${recoveredMs} ms after the kill`);
      expect(recoveredMs).toBeLessThan(RECOVERY_MS);
      // Stopped cleanly: whatever it still had to do is done or handed back, so the counts below are final.
      await second.stop();
      await expectRanOnce(op, snapshotId, opKind, running.driver_task);
    }

    describe.each(TAKEOVERS)('taken over by a %s worker', (takeover) => {
      it('a create ends Current, with one snapshot on the hypervisor', { timeout: 90_000 }, async () => {
        const { mod } = await local();
        const s = await mod.snapshots.create(SERVICE, { name: 'nightly' }, CUSTOMER);
        await killMidTask(s.id, 'create', takeover);
        expect(await db()('snapshot_snapshots').where({ id: s.id }).first()).toMatchObject({ status: 'active' });
        expect(hypervisor().vms[VM]!.map((x) => x.name)).toEqual([s.hvName]);
      });

      it('a delete ends with the snapshot gone, here and on the hypervisor', { timeout: 90_000 }, async () => {
        const s = await currentSnapshot();
        const { mod } = await local();
        await mod.snapshots.delete(SERVICE, s.id, { confirm: true }, CUSTOMER);
        await killMidTask(s.id, 'delete', takeover);
        expect(await db()('snapshot_snapshots').where({ id: s.id }).first()).toBeUndefined();
        expect(hypervisor().vms[VM]).toEqual([]);
      });

      it('a restore ends with the snapshot Current again', { timeout: 90_000 }, async () => {
        const s = await currentSnapshot();
        const { mod } = await local();
        await mod.snapshots.restore(SERVICE, s.id, { typedServiceName: SERVICE.name }, CUSTOMER);
        await killMidTask(s.id, 'restore', takeover);
        expect(await db()('snapshot_snapshots').where({ id: s.id }).first()).toMatchObject({ status: 'active' });
        expect(hypervisor().vms[VM]!.map((x) => x.name)).toEqual([s.hvName]);
      });

      it('a clone ends with the new server made once from the snapshot, and the snapshot kept', { timeout: 90_000 }, async () => {
        const s = await currentSnapshot();
        const f = await local();
        // The customer's order, handed over and provisioned by the panel; the clone is queued.
        await supertest(appFor(f.mod)).post(`/api/v1/services/${SERVICE.id}/snapshots/${s.id}/new-server`).set('x-test-actor', 'alice').send({}).expect(200);
        await f.mod.hooks.provisionedFromSnapshot(NEW.id, orders.at(-1)!);
        await killMidTask(s.id, 'clone', takeover);
        expect(await db()('snapshot_clones').where({ new_service_id: NEW.id }).first()).toMatchObject({ status: 'succeeded' });
        expect(await db()('snapshot_services').where({ service_id: NEW.id }).first()).toMatchObject({ clone_pending: 0 });
        expect(await db()('snapshot_snapshots').where({ id: s.id }).first()).toMatchObject({ status: 'active' });
        expect(Object.entries(hypervisor().guests ?? {}).map(([k, g]) => [k, g.snapshot, g.complete])).toEqual([['node1/201', s.hvName, true]]);
      });
    });

    it('a worker paused past its lease writes nothing over the worker that took its operation over', { timeout: 120_000 }, async () => {
      const { mod } = await local();
      const s = await mod.snapshots.create(SERVICE, { name: 'paused' }, CUSTOMER);
      const delays = { create: [PAUSED_TASK_MS, PAUSED_TASK_MS] as [number, number] };
      const first = await workers.start(spec([SERVICE], config, delays));
      const running = await runningOn(first, s.id, 'create');
      // Looks at the task when it takes it over, then not for two leases: only its heartbeat keeps its lease.
      const second = await workers.start(spec([SERVICE], { ...config, operations: { taskPollMs: PAUSED_TASK_MS } }, delays));
      first.child.kill('SIGSTOP');
      const taken = await waitFor(async () => {
        const row = await operation(running.id);
        return row.status === 'running' && row.locked_by !== running.locked_by ? row : null;
      }, 4 * RECOVERY_MS, 'taken over by the second worker', 50);
      expect(taken.locked_by).toContain(`-${second.child.pid}-`);
      // The first worker wakes up to a task that is over, as if about to write its outcome.
      await waitFor(() => hypervisor().tasks[running.driver_task]!.endsAt <= Date.now(), PAUSED_TASK_MS, 'the task over');
      first.child.kill('SIGCONT');
      await sleep(3_000);
      expect(await operation(running.id)).toMatchObject({ status: 'running', locked_by: taken.locked_by, attempts: 2 });
      expect(await outcomes('create', s.id)).toEqual([]);
      expect(await db()('snapshot_snapshots').where({ id: s.id }).first()).toMatchObject({ status: 'creating' });

      const op = await waitFor(async () => {
        const row = await operation(running.id);
        return ['succeeded', 'failed'].includes(row.status) ? row : null;
      }, 4 * PAUSED_TASK_MS, 'create finished by the second worker', 50);
      await first.stop();
      await second.stop();
      await expectRanOnce(op, s.id, 'create', running.driver_task);
      expect(hypervisor().vms[VM]!.map((x) => x.name)).toEqual([s.hvName]);
    });
  });

  it('a rush of due schedules: each runs exactly once across the crash', { timeout: 120_000 }, async () => {
    const PER_SERVICE = 10;
    const RUNS = 200;
    const services = Array.from({ length: RUNS / PER_SERVICE }, (_, i) =>
      makeService({ id: `svc-${i}`, target: { driver: 'simulated', node: `node${i % 5}`, vmId: String(i) } }));
    const config = {
      defaultLimits: { maxSnapshots: PER_SERVICE * 2, maxSchedules: PER_SERVICE, maxKeep: 5, memoryAllowed: false, schedulesAllowed: true },
      operations: { ...OPERATIONS, perNodeConcurrency: 4 },
      scheduler: { ...SCHEDULER, concurrency: 5 },
    };
    const { mod } = await moduleFixture(db(), { services, config: { defaultLimits: config.defaultLimits } });
    // Every schedule's occurrence is this very minute: due at once, and well within the grace window.
    const now = new Date();
    const ids: number[] = [];
    for (const s of services) {
      for (let k = 0; k < PER_SERVICE; k++) {
        const input = { name: `s${k}`, days: [now.getUTCDay()], hour: now.getUTCHours(), minute: now.getUTCMinutes(), timezone: 'UTC', keep: 5 };
        ids.push((await mod.schedules.create(s, input, ADMIN)).id);
      }
    }
    const first = await workers.start(spec(services, config));
    expect(await count(db()('snapshot_jobs').where({ name: SCHEDULE_JOB }))).toBe(RUNS);
    await db()('snapshot_jobs').where({ name: SCHEDULE_JOB }).update({ next_run_at: new Date(Date.now() - 1000) });

    const snapshots = () => count(db()('snapshot_snapshots'));
    await waitFor(async () => (await snapshots()) >= RUNS / 4, 30_000, 'a quarter of the rush');
    await first.kill();
    const atKill = await snapshots();
    // Killed mid-rush, with schedule jobs still locked by the dead worker or not yet run.
    expect(atKill).toBeLessThan(RUNS);

    const second = await workers.start(spec(services, config));
    // Settled: no schedule job locked (the dead worker's locks expired and were taken over) or still
    // due, and no operation left. A run lost for good leaves its job unlocked and next week's: settled too.
    const jobs = () => db()('snapshot_jobs').where({ name: SCHEDULE_JOB });
    const unsettled = async () => ({
      locked: await count(jobs().whereNotNull('locked_at')),
      due: await count(jobs().where('next_run_at', '<=', new Date())),
      operations: await db()('snapshot_operations').whereIn('status', ['queued', 'running']).select('id', 'service_id', 'status', 'attempts', 'locked_until'),
    });
    await waitFor(async () => {
      const u = await unsettled();
      return u.locked + u.due + u.operations.length === 0;
    }, 60_000, 'schedule jobs and operations settled').catch(async (err: Error) => {
      throw new Error(`${err.message}; still: ${JSON.stringify(await unsettled())}`);
    });
    await second.stop();

    const perSchedule: { schedule_id: number; n: number }[] = await db()('snapshot_snapshots').select('schedule_id').count({ n: '*' }).groupBy('schedule_id');
    const missing = ids.filter((id) => !perSchedule.some((r) => Number(r.schedule_id) === id));
    const duplicated = perSchedule.filter((r) => Number(r.n) > 1).map((r) => Number(r.schedule_id));
    expect({ missing, duplicated }).toEqual({ missing: [], duplicated: [] });
    // All of them for this one occurrence, and Current.
    const stamp = now.toISOString().slice(0, 16).replace('T', ' ');
    const made: { name: string; status: string }[] = await db()('snapshot_snapshots').select('name', 'status');
    expect(made.filter((x) => !x.name.endsWith(` · ${stamp}`) || x.status !== 'active')).toEqual([]);
    // One outcome per schedule in the audit log, each a start.
    const runs: { details: string; result: string }[] = await db()('snapshot_audit_events').where({ action: 'schedule.run' }).select('details', 'result');
    expect(runs.filter((r) => r.result !== 'ok')).toEqual([]);
    expect(new Set(runs.map((r) => (JSON.parse(r.details) as { scheduleId: number }).scheduleId)).size).toBe(RUNS);
    expect(runs).toHaveLength(RUNS);
    // 'started' until the snapshot is Current, then 'ok'. A worker killed between a create's commit and
    // its after-commit step (retention, 'ok') leaves 'started' until the next run: never a failure.
    expect(await count(db()('snapshot_schedules').whereNotIn('last_result', ['ok', 'started']))).toBe(0);
    // One snapshot per schedule on the hypervisor too (the VMs hold the schedules' snapshots only).
    const onHypervisor = Object.values(hypervisor().vms).flat();
    expect(onHypervisor).toHaveLength(RUNS);
    expect(new Set(onHypervisor.map((x) => x.name)).size).toBe(RUNS);
  });
});
