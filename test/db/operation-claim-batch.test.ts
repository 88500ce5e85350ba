import type { Knex } from 'knex';
import { beforeEach, describe, expect, it } from 'vitest';
import { OperationsRepo } from '../../module/db/operations-repo.js';
import { SnapshotsRepo } from '../../module/db/snapshots-repo.js';
import type { ClaimResult } from '../../module/db/operation-claim.js';
import { DATABASES } from '../helpers/databases.js';
import { useDatabase } from '../helpers/db-suite.js';
import { waitFor } from '../helpers/wait-for.js';
import { statementsOf } from '../helpers/statements.js';

const LEASE = 30_000;
const MYSQL = DATABASES.find((d) => d.kind === 'mysql');

/**
 * Claims made in the same event-loop turn share one transaction on MariaDB, with the guarantees of a
 * claim alone: only heads, the per-node cap over every process's live leases, a service a create
 * holds skipped, expired leases taken over.
 */
describe.runIf(MYSQL)('claiming the heads of several services at once (mysql)', () => {
  const handle = useDatabase(MYSQL!);
  let ops: OperationsRepo;
  let n = 0;

  const services = async (db: Knex, ids: string[]) => {
    await db('snapshot_services').insert(ids.map((service_id) => ({ service_id, plan_id: 'basic', suspended: false, terminated: false, created_at: new Date(), updated_at: new Date() })));
  };
  const queue = (serviceId: string, node = 'n1') => ops.insert({
    serviceId, snapshotId: null, kind: 'delete', target: { driver: 'simulated', node, vmId: serviceId }, origin: 'customer', requestedBy: 'alice',
  });
  const claimAll = (repo: OperationsRepo, ids: string[], perNode = 2): Promise<ClaimResult[]> =>
    Promise.all(ids.map((serviceId) => repo.claimHead({ serviceId, worker: `w#${++n}`, leaseMs: LEASE, perNode })));

  const claimedIds = (results: ClaimResult[]) => results.map((r) => (r.kind === 'claimed' ? r.op.id : null));

  beforeEach(async () => {
    ops = new OperationsRepo(handle.db);
    await services(handle.db, ['a', 'b', 'c', 'd', 'e', 'f']);
  });

  it('claims every service\'s head in one transaction of seven statements', async () => {
    const ids = ['a', 'b', 'c', 'd', 'e', 'f'];
    const heads: number[] = [];
    for (const [i, id] of ids.entries()) heads.push(await queue(id, `n${i % 3}`));
    for (const id of ids) await queue(id, 'n0');
    // The node rows exist already (a process inserts each once), so only the claim itself is counted.
    expect((await claimAll(ops, ['a', 'b', 'c'], 0)).map((r) => r.kind)).toEqual(['wait', 'wait', 'wait']);
    const { result, sql } = await statementsOf(handle.db, () => claimAll(ops, ids));
    expect(claimedIds(result)).toEqual(heads);
    expect(result.every((r) => r.kind === 'claimed' && r.op.attempts === 1 && r.op.lockedBy !== null)).toBe(true);
    // Each with its service's work left as read under the locks (the head and the one queued after it).
    expect(result.map((r) => (r.kind === 'claimed' ? r.backlog : null))).toEqual([2, 2, 2, 2, 2, 2]);
    expect(sql.filter((s) => /^begin/i.test(s))).toHaveLength(1);
    expect(sql).toHaveLength(7);
    // Each row holds its own claim's token and lease.
    for (const r of result) {
      if (r.kind !== 'claimed') continue;
      expect(await ops.get(r.op.id)).toMatchObject({ status: 'running', lockedBy: r.op.lockedBy, lockedUntil: r.op.lockedUntil, attempts: 1 });
    }
  });

  it('hands over each claimed operation\'s snapshot as read under the locks, so the run does not read it again', async () => {
    const repo = new SnapshotsRepo(handle.db);
    const made = (await repo.insert({ serviceId: 'a', name: 'before upgrade', description: null, hvName: 'snap-a1', status: 'creating', includeMemory: false, origin: 'manual', scheduleId: null, createdBy: 'alice' })).id;
    await ops.insert({ serviceId: 'a', snapshotId: made, kind: 'create', target: { driver: 'simulated', node: 'n1', vmId: 'a' }, origin: 'customer', requestedBy: 'alice' });
    await queue('b');
    const [a, b] = await claimAll(ops, ['a', 'b']);
    expect(a).toMatchObject({ kind: 'claimed', snapshot: await repo.get(made) });
    // An operation with no snapshot record (or one removed meanwhile) says so: null, not "not read".
    expect(b).toMatchObject({ kind: 'claimed', snapshot: null });
  });

  it('a batch of one costs what a claim alone did: the head read and a transaction of five', async () => {
    await queue('a');
    expect((await claimAll(ops, ['a'], 0))[0]!.kind).toBe('wait');
    const { result, sql } = await statementsOf(handle.db, () => claimAll(ops, ['a']));
    expect(result[0]!.kind).toBe('claimed');
    expect(sql).toHaveLength(7);
  });

  it('gives a node\'s last place to the service with the most work left, whatever the request order', async () => {
    await queue('a');
    const longest = await queue('b');
    for (let i = 0; i < 3; i++) await queue('b');
    await queue('c');
    await queue('c');
    const results = await claimAll(ops, ['a', 'c', 'b'], 1);
    expect(results.map((r) => r.kind)).toEqual(['wait', 'wait', 'claimed']);
    expect(claimedIds(results)[2]).toBe(longest);
    expect(results[2]).toMatchObject({ backlog: 4 });
  });

  it('keeps to the node\'s cap across the services of a batch, counting leases already live', async () => {
    const first = await queue('a');
    await claimAll(ops, ['a'], 3);
    for (const id of ['b', 'c', 'd', 'e']) await queue(id);
    const other = await queue('f', 'n2');
    const results = await claimAll(ops, ['b', 'c', 'd', 'e', 'f'], 3);
    // a runs on n1: two places are left there, taken in request order.
    expect(results.map((r) => r.kind)).toEqual(['claimed', 'claimed', 'wait', 'wait', 'claimed']);
    expect(results[2]).toEqual({ kind: 'wait', reason: 'node_busy', retryAt: null, node: 'simulated/n1', backlog: 1 });
    expect(claimedIds(results)[4]).toBe(other);
    expect(await handle.db('snapshot_operations').where({ node: 'n1', status: 'running' })).toHaveLength(3);
    // A place freed is taken by the next batch.
    expect(await ops.finish(first, (await ops.get(first))!.lockedBy, 'succeeded')).toBe(true);
    expect((await claimAll(ops, ['d', 'e'], 3)).map((r) => r.kind)).toEqual(['claimed', 'wait']);
  });

  it('skips a service another transaction holds, answers it wait, and claims the others', async () => {
    for (const id of ['a', 'b', 'c']) await queue(id, id === 'b' ? 'n2' : 'n1');
    const second = await handle.secondHandle();
    let release!: () => void;
    const held = new Promise<void>((resolve) => { release = resolve; });
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => { locked = resolve; });
    // A create holding service b, as createSnapshot does while it counts and inserts.
    const create = second.transaction(async (trx) => {
      await trx('snapshot_services').where({ service_id: 'b' }).forUpdate().first();
      locked();
      await held;
    });
    await isLocked;
    const { result, sql } = await statementsOf(handle.db, () => claimAll(ops, ['a', 'b', 'c']));
    release();
    await create;
    expect(result.map((r) => r.kind)).toEqual(['claimed', 'wait', 'claimed']);
    expect(result[1]).toEqual({ kind: 'wait', reason: 'node_busy', retryAt: null, node: 'simulated/n2', backlog: 1 });
    expect(sql.filter((s) => /^begin/i.test(s))).toHaveLength(1);
    expect((await claimAll(ops, ['b']))[0]!.kind).toBe('claimed');
  });

  it('takes over an expired lease in a batch, and holds back a live one', async () => {
    const expired = await queue('a');
    const live = await queue('b');
    await queue('c');
    await claimAll(ops, ['a', 'b']);
    await handle.db('snapshot_operations').where({ id: expired }).update({ locked_until: new Date(Date.now() - 1_000) });
    const results = await claimAll(ops, ['a', 'b', 'c'], 5);
    expect(results[0]).toMatchObject({ kind: 'claimed', op: { id: expired, attempts: 2, lockedBy: `w#${n - 2}` } });
    expect(results[1]).toMatchObject({ kind: 'wait', reason: 'held' });
    expect(results[1]!.kind === 'wait' && results[1]!.retryAt).toEqual((await ops.get(live))!.lockedUntil);
    expect(results[2]!.kind).toBe('claimed');
    expect((await ops.get(expired))!.lockedBy).toBe(`w#${n - 2}`);
  });

  it('claims only what is still due when the UPDATE finds it: a late holder\'s outcome committed meanwhile wins', async () => {
    const late = await queue('a');
    const other = await queue('b');
    await claimAll(ops, ['a']);
    const holder = (await ops.get(late))!.lockedBy;
    await handle.db('snapshot_operations').where({ id: late }).update({ locked_until: new Date(Date.now() - 1_000) });
    // The holder whose lease ran out writes its outcome; it commits while the batch's UPDATE waits for the row.
    const second = await handle.secondHandle();
    const outcome = await second.transaction();
    expect(await new OperationsRepo(second).finish(late, holder, 'succeeded', null, outcome)).toBe(true);
    const batch = claimAll(ops, ['a', 'b']);
    const waiting = async () => Number((await handle.db.raw(`SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST
      WHERE db = DATABASE() AND info LIKE 'update \`snapshot_operations\` set \`status\` = ''running''%'`))[0][0].n) > 0;
    await waitFor(waiting, 5_000, 'the claiming UPDATE waits for the row');
    await outcome.commit();
    const [a, b] = await batch;
    expect(a).toEqual({ kind: 'wait', reason: 'node_busy', retryAt: null, node: 'simulated/n1', backlog: 1 });
    expect(b).toMatchObject({ kind: 'claimed', op: { id: other } });
    expect(await ops.get(late)).toMatchObject({ status: 'succeeded', lockedBy: null, attempts: 1 });
    expect(await ops.get(other)).toMatchObject({ status: 'running', lockedBy: b!.kind === 'claimed' && b!.op.lockedBy });
  });

  it('answers two claims of one service in one batch one after the other: the second finds it held', async () => {
    const id = await queue('a');
    await queue('a');
    const [first, again] = await claimAll(ops, ['a', 'a']);
    expect(first).toMatchObject({ kind: 'claimed', op: { id } });
    expect(again).toMatchObject({ kind: 'wait', reason: 'held' });
    expect(again!.kind === 'wait' && again!.retryAt).toEqual(first!.kind === 'claimed' && first!.op.lockedUntil);
  });

  it('two processes claiming on one node at the same moment: the second counts the first\'s claim', async () => {
    const a = await queue('a');
    const b = await queue('b');
    const other = new OperationsRepo(await handle.secondHandle());
    // A third transaction holds both heads' rows, so both claims get as far as they can before either commits.
    const blocker = await (await handle.secondHandle()).transaction();
    await blocker('snapshot_operations').whereIn('id', [a, b]).forUpdate().select('id');
    const claims = Promise.all([claimAll(ops, ['a'], 1), claimAll(other, ['b'], 1)]);
    const busy = async () => Number((await handle.db.raw(`SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST
      WHERE db = DATABASE() AND command = 'Query' AND info NOT LIKE '%PROCESSLIST%'`))[0][0].n) === 2;
    await waitFor(busy, 5_000, 'both claims waiting');
    await blocker.commit();
    const results = (await claims).flat();
    expect(results.map((r) => r.kind).sort()).toEqual(['claimed', 'wait']);
    expect(await handle.db('snapshot_operations').where({ node: 'n1', status: 'running' })).toHaveLength(1);
  });

  it('two processes claiming in rounds never pass a node\'s cap nor claim anything but a head', async () => {
    const ids = ['a', 'b', 'c', 'd', 'e', 'f'];
    for (let k = 0; k < 4; k++) for (const [i, id] of ids.entries()) await queue(id, i % 2 ? 'n2' : 'n1');
    const other = new OperationsRepo(await handle.secondHandle());
    const perNode = 2;
    const all = await handle.db('snapshot_operations').count({ n: '*' }).first();
    for (let round = 0; round < 40; round++) {
      // Heads as they are before the round: what a claim may take.
      const heads = new Set((await handle.db('snapshot_operations').whereIn('status', ['queued', 'running'])
        .groupBy('service_id').select(handle.db.raw('MIN(id) as id'))).map((r: { id: number }) => Number(r.id)));
      const [mine, theirs] = await Promise.all([claimAll(ops, ids, perNode), claimAll(other, [...ids].reverse(), perNode)]);
      const won = [...claimedIds(mine), ...claimedIds(theirs)].filter((id): id is number => id !== null);
      expect(new Set(won).size).toBe(won.length);
      for (const id of won) expect(heads.has(id)).toBe(true);
      const running = await handle.db('snapshot_operations').where({ status: 'running' }).select('id', 'node', 'locked_by');
      for (const node of ['n1', 'n2']) expect(running.filter((r) => r.node === node).length).toBeLessThanOrEqual(perNode);
      // Some end, some keep running into the next round.
      for (const r of running.filter((_, i) => (i + round) % 2 === 0)) expect(await ops.finish(Number(r.id), r.locked_by, 'succeeded')).toBe(true);
      if (!(await handle.db('snapshot_operations').whereIn('status', ['queued', 'running'])).length) break;
    }
    expect(await handle.db('snapshot_operations').where({ status: 'succeeded', attempts: 1 }).count({ n: '*' }).first()).toEqual(all);
  });
});
