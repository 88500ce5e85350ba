import type { Knex } from 'knex';
import { beforeEach, describe, expect, it } from 'vitest';
import { OperationsRepo } from '../../module/db/operations-repo.js';
import { SchedulesRepo } from '../../module/db/schedules-repo.js';
import { ServicesRepo } from '../../module/db/services-repo.js';
import { SnapshotsRepo } from '../../module/db/snapshots-repo.js';
import { runInTransaction } from '../../module/db/transaction.js';
import type { DomainDeps } from '../../module/domain/deps.js';
import type { Operation, OperationKind, Snapshot } from '../../module/domain/types.js';
import type { HypervisorSnapshot, HypervisorTarget } from '../../module/drivers/contract.js';
import { SimulatedDriver } from '../../module/drivers/simulated/simulated-driver.js';
import { executeOperation } from '../../module/operations/execute-operation.js';
import { OutcomeBatcher, writeSuccess, type SuccessOutcome } from '../../module/operations/outcome-batcher.js';
import { DATABASES, type TestDatabase } from '../helpers/databases.js';
import { useDatabase } from '../helpers/db-suite.js';
import { domainDeps } from '../helpers/domain-deps.js';
import { makeService } from '../helpers/module-fixture.js';
import { waitFor } from '../helpers/wait-for.js';

const FROM: Record<Exclude<OperationKind, 'clone'>, Snapshot['status']> = { create: 'creating', restore: 'restoring', delete: 'deleting' };
const OPTS = { taskPollMs: 5, operationTimeoutMs: 5_000, leaseMs: 30_000, maxAttempts: 1, backoffMs: 10 };
const target = (i: number): HypervisorTarget => ({ driver: 'simulated', node: `node${i}`, vmId: String(100 + i) });

/** A simulated hypervisor whose list answers nobody until `n` callers wait: their creates then end in the same turn. */
class ListBarrier extends SimulatedDriver {
  private waiting = 0;
  private open!: () => void;
  private readonly opened = new Promise<void>((resolve) => { this.open = resolve; });

  constructor(private readonly n: number) {
    super({});
  }

  override async list(t: HypervisorTarget): Promise<HypervisorSnapshot[]> {
    const found = await super.list(t);
    if (++this.waiting >= this.n) this.open();
    await this.opened;
    return found;
  }
}

/** Statements sent while `fn` runs, and how many transactions began among them. */
async function counted<T>(db: Knex, fn: () => Promise<T>): Promise<{ result: T; sql: string[]; transactions: number }> {
  const sql: string[] = [];
  const on = (q: { sql: string }) => sql.push(q.sql);
  db.on('query', on);
  try {
    const result = await fn();
    return { result, sql, transactions: sql.filter((s) => /^begin/i.test(s)).length };
  } finally {
    db.off('query', on);
  }
}

describe.each(DATABASES)('outcomes of operations ending together ($kind)', (kind: TestDatabase) => {
  const handle = useDatabase(kind);
  let deps: DomainDeps;
  let snapshots: SnapshotsRepo;
  let operations: OperationsRepo;

  beforeEach(() => {
    deps = domainDeps(handle.db);
    snapshots = new SnapshotsRepo(handle.db);
    operations = new OperationsRepo(handle.db);
  });

  /** Service `svc-i`'s snapshot in the state `kind` moves it from, and its operation running under claim `w#i`. */
  async function running(i: number, opKind: Exclude<OperationKind, 'clone'>): Promise<SuccessOutcome> {
    const serviceId = `svc-${i}`;
    await new ServicesRepo(handle.db).ensure(serviceId, 'basic');
    const snapshot = await snapshots.insert({
      serviceId, name: `snap ${i}`, description: null, includeMemory: false, status: FROM[opKind], hvName: `ps-test-${i}`,
      origin: 'manual', scheduleId: null, createdBy: 'alice',
    });
    const id = await operations.insert({ serviceId, snapshotId: snapshot.id, kind: opKind, target: target(i), origin: 'customer', requestedBy: 'alice' });
    await handle.db('snapshot_operations').where({ id })
      .update({ status: 'running', locked_by: `w#${i}`, locked_until: new Date(Date.now() + 30_000), attempts: 1, started_at: new Date() });
    const op = (await operations.get(id))!;
    return { op: { ...op, driverTask: `task-${i}` }, token: `w#${i}`, snapshot, sizes: { diskBytes: 1000 + i, memoryBytes: null } };
  }

  const audited = async (opId: number) => (await handle.db('snapshot_audit_events').select('details', 'action', 'from_status', 'to_status'))
    .filter((e) => JSON.parse(String(e.details)).operationId === opId);

  it('writes outcomes arriving in one turn in one transaction: each snapshot moved, each operation finished, one audit event each', async () => {
    const list = [await running(1, 'create'), await running(2, 'create'), await running(3, 'restore'), await running(4, 'delete')];
    const batcher = new OutcomeBatcher(deps);
    const { result, sql, transactions } = await counted(handle.db, () => Promise.all(list.map((o) => batcher.write(o))));
    expect(result).toEqual([true, true, true, true]);
    expect(transactions).toBe(1);
    // BEGIN; creates; restores; deletes; the operations; the audit events; COMMIT.
    expect(sql).toHaveLength(7);
    for (const [i, o] of list.entries()) {
      const s = await snapshots.get(o.snapshot.id);
      if (o.op.kind === 'delete') expect(s).toBeNull();
      else expect(s).toMatchObject({ status: 'active', diskBytes: o.op.kind === 'create' ? 1001 + i : null });
      if (o.op.kind === 'create') expect(s!.completedAt).toBeInstanceOf(Date);
      expect(await operations.get(o.op.id)).toMatchObject({ status: 'succeeded', lockedBy: null, lockedUntil: null, driverTask: `task-${i + 1}` });
      expect(await audited(o.op.id)).toEqual([expect.objectContaining({
        action: `operation.${o.op.kind}`, from_status: FROM[o.op.kind as 'create'], to_status: o.op.kind === 'delete' ? 'deleted' : 'active',
      })]);
    }
  });

  it("records a scheduled snapshot's schedule as ok in the same transaction, once for both of one schedule's", async () => {
    const schedules = new SchedulesRepo(handle.db);
    const at = { days: [1], hour: 3, minute: 0, timezone: 'UTC', keep: 5, includeMemory: false, enabled: true };
    const first = await schedules.insert({ serviceId: 'svc-1', name: 'nightly', ...at });
    const second = await schedules.insert({ serviceId: 'svc-3', name: 'weekly', ...at });
    const scheduled = (o: SuccessOutcome, scheduleId: number): SuccessOutcome => ({ ...o, snapshot: { ...o.snapshot, origin: 'schedule', scheduleId } });
    const list = [scheduled(await running(1, 'create'), first), scheduled(await running(2, 'create'), second), scheduled(await running(3, 'create'), second),
      await running(4, 'create')];
    await handle.db('snapshot_schedules').update({ last_result: 'started' });
    const batcher = new OutcomeBatcher(deps);
    const { result, sql } = await counted(handle.db, () => Promise.all(list.map((o) => batcher.write(o))));
    expect(result).toEqual([true, true, true, true]);
    // BEGIN; the schedules; the creates; the operations; the audit events; COMMIT.
    expect(sql).toHaveLength(6);
    expect(sql[1]).toMatch(/^update `?snapshot_schedules`?/);
    expect((await schedules.get(first))!.lastResult).toBe('ok');
    expect((await schedules.get(second))!.lastResult).toBe('ok');
  });

  it("records a scheduled snapshot's schedule as ok with an outcome alone too, and not when its lease was lost", async () => {
    const schedules = new SchedulesRepo(handle.db);
    const at = { days: [1], hour: 3, minute: 0, timezone: 'UTC', keep: 5, includeMemory: false, enabled: true };
    const kept = await schedules.insert({ serviceId: 'svc-1', name: 'nightly', ...at });
    const lost = await schedules.insert({ serviceId: 'svc-2', name: 'nightly', ...at });
    await handle.db('snapshot_schedules').update({ last_result: 'started' });
    const mine = await running(1, 'create');
    const theirs = await running(2, 'create');
    await handle.db('snapshot_operations').where({ id: theirs.op.id }).update({ locked_by: 'other#2' });
    expect(await writeSuccess(deps, { ...mine, snapshot: { ...mine.snapshot, origin: 'schedule', scheduleId: kept } })).toBe(true);
    expect(await writeSuccess(deps, { ...theirs, snapshot: { ...theirs.snapshot, origin: 'schedule', scheduleId: lost } })).toBe(false);
    expect((await schedules.get(kept))!.lastResult).toBe('ok');
    expect((await schedules.get(lost))!.lastResult).toBe('started');
  });

  it('writes nothing of an outcome whose lease another worker took meanwhile; the others succeed', async () => {
    const list = [await running(1, 'create'), await running(2, 'create'), await running(3, 'create')];
    await handle.db('snapshot_operations').where({ id: list[1]!.op.id }).update({ locked_by: 'other#1' });
    const batcher = new OutcomeBatcher(deps);
    const { result, transactions } = await counted(handle.db, () => Promise.all(list.map((o) => batcher.write(o))));
    expect(result).toEqual([true, false, true]);
    // The batch rolled back, then each alone.
    expect(transactions).toBe(4);
    expect(await operations.get(list[1]!.op.id)).toMatchObject({ status: 'running', lockedBy: 'other#1' });
    expect(await snapshots.get(list[1]!.snapshot.id)).toMatchObject({ status: 'creating' });
    expect(await audited(list[1]!.op.id)).toEqual([]);
    for (const o of [list[0]!, list[2]!]) {
      expect(await operations.get(o.op.id)).toMatchObject({ status: 'succeeded' });
      expect(await snapshots.get(o.snapshot.id)).toMatchObject({ status: 'active' });
      expect(await audited(o.op.id)).toHaveLength(1);
    }
  });

  it('of two workers writing the same operations at once, only the lease holders write: each outcome once', async () => {
    const list = [await running(1, 'create'), await running(2, 'restore'), await running(3, 'delete')];
    // All three were taken over by another worker, which ended them too: both batches meet in the database.
    await handle.db('snapshot_operations').update({ locked_by: handle.db.raw("replace(locked_by, 'w#', 'v#')") });
    const holder = new OutcomeBatcher(deps);
    const second = await handle.secondHandle();
    await second.raw('select 1'); // connected: its batch is not held back by a handshake
    const warned: unknown[] = [];
    const stale = new OutcomeBatcher(domainDeps(second), { logger: { warn: (o: unknown) => { warned.push(o); } } as never });
    // The stale worker's batch first: on MariaDB the holder's waits on its row locks until it rolls back.
    const [ours, theirs] = await Promise.all([
      Promise.all(list.map((o) => stale.write(o))),
      Promise.all(list.map((o) => holder.write({ ...o, token: o.token.replace('w#', 'v#') }))),
    ]);
    expect(theirs).toEqual([true, true, true]);
    expect(ours).toEqual([false, false, false]);
    // Leases lost are the batch's usual reason to go alone: not worth a warning.
    expect(warned).toEqual([]);
    for (const o of list) {
      expect(await operations.get(o.op.id)).toMatchObject({ status: 'succeeded', lockedBy: null });
      expect(await audited(o.op.id)).toHaveLength(1);
    }
    expect(await snapshots.get(list[0]!.snapshot.id)).toMatchObject({ status: 'active' });
    expect(await snapshots.get(list[2]!.snapshot.id)).toBeNull();
  });

  it('decides a member whose snapshot row went meanwhile as an outcome alone would, and the others as usual', async () => {
    const list = [await running(1, 'create'), await running(2, 'create'), await running(3, 'delete')];
    await handle.db('snapshot_snapshots').where({ id: list[1]!.snapshot.id }).delete();
    const batcher = new OutcomeBatcher(deps);
    const { result, transactions } = await counted(handle.db, () => Promise.all(list.map((o) => batcher.write(o))));
    expect(result).toEqual([true, true, true]);
    expect(transactions).toBe(4);
    expect(await snapshots.get(list[0]!.snapshot.id)).toMatchObject({ status: 'active' });
    expect(await snapshots.get(list[1]!.snapshot.id)).toBeNull();
    expect(await snapshots.get(list[2]!.snapshot.id)).toBeNull();
    for (const o of list) {
      expect(await operations.get(o.op.id)).toMatchObject({ status: 'succeeded' });
      expect(await audited(o.op.id)).toHaveLength(1);
    }
  });

  it('writes each member alone when the batch fails in the database, once each', async () => {
    let failNext = true;
    // The batch's transaction runs its statements, then the connection "drops" before its commit.
    const flaky = domainDeps(handle.db, {
      transaction: (fn) => runInTransaction(handle.db, async (trx) => {
        const out = await fn(trx);
        if (failNext) {
          failNext = false;
          throw Object.assign(new Error('Connection lost: The server closed the connection.'), { code: 'PROTOCOL_CONNECTION_LOST' });
        }
        return out;
      }),
    });
    const list = [await running(1, 'create'), await running(2, 'restore'), await running(3, 'create')];
    const warned: Array<{ outcomes: number; err: Error }> = [];
    const batcher = new OutcomeBatcher(flaky, { logger: { warn: (o: { outcomes: number; err: Error }) => { warned.push(o); } } as never });
    const { result, transactions } = await counted(handle.db, () => Promise.all(list.map((o) => batcher.write(o))));
    expect(result).toEqual([true, true, true]);
    expect(transactions).toBe(4);
    // Said once, with the database's error: nothing was lost, but a batch failing often is worth seeing.
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatchObject({ outcomes: 3, err: { code: 'database_busy' } }); // as the module's one translation of database errors names it
    for (const o of list) {
      expect(await snapshots.get(o.snapshot.id)).toMatchObject({ status: 'active' });
      expect(await operations.get(o.op.id)).toMatchObject({ status: 'succeeded' });
      expect(await audited(o.op.id)).toHaveLength(1);
    }
  });

  it('operations ending together through executeOperation share the transaction; one whose lease was taken over is lost', async () => {
    const driver = new ListBarrier(3);
    const at = domainDeps(handle.db, { driver: () => driver });
    const list = [await running(1, 'create'), await running(2, 'create'), await running(3, 'create')];
    const claimed: Operation[] = list.map((o) => ({ ...o.op, driverTask: null }));
    const batcher = new OutcomeBatcher(at);
    const signal = new AbortController().signal;
    const run = () => Promise.all(claimed.map((op, i) => executeOperation(at, op, { token: list[i]!.token, signal }, OPTS, batcher)));
    const first = await counted(handle.db, run);
    expect(first.result).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(first.transactions).toBe(1);
    expect(first.sql.filter((s) => /^update `?snapshot_operations`? set `?status`?/i.test(s))).toHaveLength(1);

    // Again, with the second one's lease taken over before its hypervisor task ends.
    const again = [await running(4, 'create'), await running(5, 'create'), await running(6, 'create')];
    await handle.db('snapshot_operations').where({ id: again[1]!.op.id }).update({ locked_by: 'other#5' });
    const second = new ListBarrier(3);
    const results = await Promise.all(again.map((o) => executeOperation({ ...at, driver: () => second }, { ...o.op, driverTask: null },
      { token: o.token, signal }, OPTS, batcher)));
    expect(results).toEqual(['succeeded', 'lost', 'succeeded']);
    expect(await operations.get(again[1]!.op.id)).toMatchObject({ status: 'running', lockedBy: 'other#5' });
    expect(await snapshots.get(again[1]!.snapshot.id)).toMatchObject({ status: 'creating' });
    for (const o of [again[0]!, again[2]!]) expect(await snapshots.get(o.snapshot.id)).toMatchObject({ status: 'active' });
  });

  it('the module writes the outcomes of its operations ending together in one statement', async () => {
    const services = [1, 2, 3].map((i) => makeService({ id: `svc-${i}`, name: `web-0${i}`, target: target(i) }));
    const fx = await handle.module({ services, driver: new ListBarrier(3), operations: { concurrency: 4 } });
    const ctx = { actor: { type: 'customer' as const, id: 'alice' } };
    const made = await Promise.all(services.map((s) => fx.mod.snapshots.create(s, { name: 'together' }, ctx)));
    const finishes: string[] = [];
    const watch = (q: { sql: string }) => { if (/^update `?snapshot_operations`? set `?status`? = \?, `?error_code`?/i.test(q.sql)) finishes.push(q.sql); };
    handle.db.on('query', watch);
    try {
      await fx.mod.start();
      await waitFor(async () => (await Promise.all(made.map((s) => snapshots.get(s.id)))).every((s) => s?.status === 'active'), 10_000, 'all active');
    } finally {
      handle.db.off('query', watch);
    }
    expect(finishes).toHaveLength(1);
    // Each operation finished only by its own holder: three (id, locked_by) pairs.
    expect(finishes[0]!.match(/\(\?, \?\)/g)).toHaveLength(3);
  });

  it('on MariaDB a claimed operation runs with the snapshot its claim read; elsewhere the run reads it', async () => {
    const service = makeService({ id: 'svc-1', name: 'web-01', target: target(1) });
    const fx = await handle.module({ services: [service] });
    const made = await fx.mod.snapshots.create(service, { name: 'one read' }, { actor: { type: 'customer', id: 'alice' } });
    const reads: string[] = [];
    const watch = (q: { sql: string }) => { if (/^select \* from `?snapshot_snapshots`? where `?id`? = \?/i.test(q.sql)) reads.push(q.sql); };
    handle.db.on('query', watch);
    try {
      await fx.mod.start();
      // Not snapshots.get: its own read would count.
      await waitFor(async () => (await handle.db('snapshot_snapshots').where({ id: made.id }).first('status'))?.status === 'active', 10_000, 'active');
    } finally {
      handle.db.off('query', watch);
    }
    expect(reads).toHaveLength(kind.kind === 'mysql' ? 0 : 1);
  });
});
