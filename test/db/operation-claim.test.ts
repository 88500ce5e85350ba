import { beforeEach, describe, expect, it } from 'vitest';
import { OperationsRepo } from '../../module/db/operations-repo.js';
import { DATABASES, type TestDatabase } from '../helpers/databases.js';
import { useDatabase } from '../helpers/db-suite.js';

const LEASE = 30_000;

/** The claim behind the operations runner: only a service's head runs, when due, within its node's cap. */
describe.each(DATABASES)('claiming the head operation of a service ($kind)', (kind: TestDatabase) => {
  const handle = useDatabase(kind);
  let ops: OperationsRepo;

  beforeEach(async () => {
    ops = new OperationsRepo(handle.db);
    for (const id of ['a', 'b', 'c']) {
      await handle.db('snapshot_services').insert({ service_id: id, plan_id: 'basic', suspended: false, terminated: false, created_at: new Date(), updated_at: new Date() });
    }
  });

  const queue = (serviceId: string, node = 'n1') => ops.insert({
    serviceId, snapshotId: null, kind: 'delete', target: { driver: 'simulated', node, vmId: serviceId }, origin: 'customer', requestedBy: 'alice',
  });
  let n = 0;
  const claim = (serviceId: string, perNode = 2) => ops.claimHead({ serviceId, worker: `w#${++n}`, leaseMs: LEASE, perNode });
  /** Ends a claimed operation as its holder does. */
  const finish = async (id: number) => expect(await ops.finish(id, (await ops.get(id))!.lockedBy, 'succeeded')).toBe(true);

  it('is idle for a service with nothing unfinished', async () => {
    expect(await claim('a')).toEqual({ kind: 'idle' });
    const id = await queue('a');
    await claim('a');
    await finish(id);
    expect(await claim('a')).toEqual({ kind: 'idle' });
  });

  it('claims the oldest first and holds the next back until it has finished', async () => {
    const first = await queue('a');
    const second = await queue('a');
    const got = await claim('a');
    expect(got.kind).toBe('claimed');
    if (got.kind !== 'claimed') return;
    expect(got.op).toMatchObject({ id: first, status: 'running', attempts: 1, lockedBy: `w#${n}` });
    // The row says the same as what the claim returned.
    expect((await ops.get(first))).toMatchObject({ status: 'running', attempts: 1, lockedBy: `w#${n}` });
    const held = await claim('a');
    expect(held).toMatchObject({ kind: 'wait', reason: 'held' });
    expect(held.kind === 'wait' && held.retryAt!.getTime()).toBe(got.op.lockedUntil!.getTime());
    await finish(first);
    expect(await claim('a')).toMatchObject({ kind: 'claimed', op: { id: second } });
  });

  it('waits out a retry backoff, and the operations behind it wait too', async () => {
    const first = await queue('a');
    await queue('a');
    const later = new Date(Date.now() + 60_000);
    await handle.db('snapshot_operations').where({ id: first }).update({ run_after: later });
    const got = await claim('a');
    expect(got).toMatchObject({ kind: 'wait', reason: 'backoff' });
    expect(got.kind === 'wait' && got.retryAt!.getTime()).toBe(later.getTime());
  });

  it('takes over an operation whose lease expired with its worker', async () => {
    const id = await queue('a');
    await claim('a');
    await handle.db('snapshot_operations').where({ id }).update({ locked_until: new Date(Date.now() - 1_000) });
    expect(await claim('a')).toMatchObject({ kind: 'claimed', op: { id, attempts: 2 } });
  });

  it('a holder whose lease was taken over can no longer renew it, store a task, requeue or finish', async () => {
    const id = await queue('a');
    await claim('a');
    const old = `w#${n}`;
    await handle.db('snapshot_operations').where({ id }).update({ locked_until: new Date(Date.now() - 1_000) });
    expect(await claim('a')).toMatchObject({ kind: 'claimed', op: { id, attempts: 2 } });
    const holder = `w#${n}`;
    expect(await ops.extendLease(id, old, LEASE)).toBe(false);
    expect(await ops.setDriverTask(id, old, 'task-of-the-old-holder')).toBe(false);
    await ops.requeue(id, old, new Date());
    expect(await ops.finish(id, old, 'failed', { code: 'late', message: 'an outcome over the new holder' })).toBe(false);
    expect(await ops.get(id)).toMatchObject({ status: 'running', lockedBy: holder, driverTask: null, errorCode: null });
    expect(await ops.finish(id, holder, 'succeeded')).toBe(true);
  });

  it('keeps to the cap per node, across services, and frees the place when one ends', async () => {
    const a = await queue('a');
    await queue('b');
    await queue('c');
    await queue('c', 'n2');
    expect((await claim('a', 2)).kind).toBe('claimed');
    expect((await claim('b', 2)).kind).toBe('claimed');
    // The full node is named, so the runner can wait for a slot there without claiming again, with how
    // much work the service has left (the runner hands a freed slot to the one with the most).
    expect(await claim('c', 2)).toEqual({ kind: 'wait', reason: 'node_busy', retryAt: null, node: 'simulated/n1', backlog: 2 });
    await finish(a);
    expect(await claim('c', 2)).toMatchObject({ kind: 'claimed', op: { target: { node: 'n1' } }, backlog: 2 });
  });
});
