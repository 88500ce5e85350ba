import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { AuditRepo } from '../../module/db/audit-repo.js';
import { LimitsRepo } from '../../module/db/limits-repo.js';
import { ServicesRepo } from '../../module/db/services-repo.js';
import { SnapshotsRepo } from '../../module/db/snapshots-repo.js';
import { ConflictError, QuotaExceededError, ValidationError } from '../../module/domain/errors.js';
import type { ActionContext, PanelService, Snapshot } from '../../module/index.js';
import { DATABASES, type TestDatabase } from '../helpers/databases.js';
import { useDatabase, type ModuleFixture } from '../helpers/db-suite.js';
import { makeService } from '../helpers/module-fixture.js';
import { waitFor } from '../helpers/wait-for.js';
import { statementsOf } from '../helpers/statements.js';

const CTX: ActionContext = { actor: { type: 'customer', id: 'alice' } };
const svc = (i: number): PanelService => makeService({ id: `svc-${i}`, name: `web-${i}`, target: { driver: 'simulated', node: 'node1', vmId: String(100 + i) } });
const limitOf = (maxSnapshots: number) => ({ maxSnapshots, maxSchedules: 1, maxKeep: 3, memoryAllowed: true, schedulesAllowed: true, cloneAllowed: true });

const settle = <T>(list: Promise<T>[]) => Promise.allSettled(list);
const values = <T>(r: PromiseSettledResult<T>[]) => r.flatMap((x) => (x.status === 'fulfilled' ? [x.value] : []));
const reasons = <T>(r: PromiseSettledResult<T>[]) => r.flatMap((x) => (x.status === 'rejected' ? [x.reason as unknown] : []));

/** Group commit of creates (CreateBatcher): creates arriving together share one transaction, each decided on its own. */
describe.each(DATABASES)('creates arriving together ($kind)', (kind: TestDatabase) => {
  const handle = useDatabase(kind);
  const services = Array.from({ length: 5 }, (_, i) => svc(i));

  /** A module whose services each have `held` snapshots already (made one at a time), under a plan limit of `limit`. */
  async function moduleWith(limit: number, held = 1): Promise<ModuleFixture> {
    const fx = await handle.module({ services });
    await new LimitsRepo(handle.db).set('basic', limitOf(limit));
    for (const s of services) for (let i = 0; i < held; i++) await fx.mod.snapshots.create(s, { name: `held ${i}` }, CTX);
    return fx;
  }

  it('a create alone is six statements: the limits are read by the locking statement', async () => {
    const fx = await moduleWith(10);
    const { sql } = await statementsOf(handle.db, () => fx.mod.snapshots.create(services[0]!, { name: 'alone' }, CTX));
    expect(sql.map((q) => q.split(' ').slice(0, 3).join(' ').replace(/[`"]/g, ''))).toEqual([
      'BEGIN;', 'select st.service_id, st.suspended,', 'insert into snapshot_snapshots', 'insert into snapshot_operations', 'insert into snapshot_audit_events', 'COMMIT;',
    ]);
    expect(sql[1]).toContain('max_snapshots');
  });

  it('each caller gets its own snapshot; the batch inserts records, operations and audit events one statement each', async () => {
    const fx = await moduleWith(10);
    const { result, sql } = await statementsOf(handle.db, () => Promise.all(
      Array.from({ length: 10 }, (_, i) => fx.mod.snapshots.create(services[i % 5]!, { name: `together ${i}`, description: `d${i}` }, CTX))));
    result.forEach((s, i) => expect(s).toMatchObject({ serviceId: `svc-${i % 5}`, name: `together ${i}`, description: `d${i}`, status: 'creating', createdBy: 'alice' }));
    const repo = new SnapshotsRepo(handle.db);
    for (const s of result) expect(await repo.get(s.id)).toEqual(s);
    const inserts = (table: string) => sql.filter((q) => new RegExp(`^insert into [\`"]${table}[\`"]`).test(q));
    expect(inserts('snapshot_snapshots')).toHaveLength(1);
    expect(inserts('snapshot_operations')).toHaveLength(1);
    expect(inserts('snapshot_audit_events')).toHaveLength(1);
    const ops = await handle.db('snapshot_operations').whereIn('snapshot_id', result.map((s) => s.id)).select('snapshot_id', 'service_id', 'kind', 'status', 'requested_by');
    expect(ops.map((o) => `${String(o.snapshot_id)} ${String(o.service_id)} ${String(o.kind)} ${String(o.status)} ${String(o.requested_by)}`).sort())
      .toEqual(result.map((s) => `${s.id} ${s.serviceId} create queued alice`).sort());
    const audit = await new AuditRepo(handle.db).list({ action: 'snapshot.create', limit: 100 });
    for (const s of result) expect(audit.filter((a) => a.snapshotId === s.id && a.result === 'ok' && a.serviceId === s.serviceId)).toHaveLength(1);
  });

  it('a refused create gets its own typed error and is audited; the others of its batch are created', async () => {
    const fx = await moduleWith(2);
    await new ServicesRepo(handle.db).update('svc-1', { suspended: true });
    await fx.mod.snapshots.create(services[2]!, { name: 'fills svc-2' }, CTX);
    const outcomes = await settle([
      fx.mod.snapshots.create(services[0]!, { name: 'fine' }, CTX),
      fx.mod.snapshots.create(services[1]!, { name: 'suspended' }, CTX),
      fx.mod.snapshots.create(services[2]!, { name: 'over' }, CTX),
      fx.mod.snapshots.create(services[3]!, { name: '' }, CTX),
      fx.mod.snapshots.create(services[4]!, { name: 'also fine' }, CTX),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'rejected', 'fulfilled']);
    expect(values(outcomes).map((s: Snapshot) => `${s.serviceId} ${s.name}`)).toEqual(['svc-0 fine', 'svc-4 also fine']);
    const [suspended, over, unnamed] = reasons(outcomes);
    expect(suspended).toBeInstanceOf(ConflictError);
    expect(suspended).toMatchObject({ code: 'service_suspended' });
    expect(over).toBeInstanceOf(QuotaExceededError);
    expect(over).toMatchObject({ code: 'snapshot_limit_reached', params: { limit: 2, used: 2, over: 0 } });
    expect(unnamed).toBeInstanceOf(ValidationError);
    const refused = (await new AuditRepo(handle.db).list({ action: 'snapshot.create', limit: 100 })).filter((a) => a.result === 'refused');
    expect(refused.map((a) => `${a.serviceId} ${a.code}`).sort()).toEqual(['svc-1 service_suspended', 'svc-2 snapshot_limit_reached', 'svc-3 name_required'].sort());
  });

  it('creates on one service in one batch are counted together: at its limit minus one, exactly one of 30 wins', async () => {
    const fx = await moduleWith(3, 2);
    const { result: outcomes, sql } = await statementsOf(handle.db, () => settle(
      Array.from({ length: 30 }, (_, i) => fx.mod.snapshots.create(services[0]!, { name: `race ${i}` }, CTX))));
    expect(values(outcomes)).toHaveLength(1);
    const refusals = reasons(outcomes);
    expect(refusals).toHaveLength(29);
    for (const e of refusals) expect(e).toMatchObject({ code: 'snapshot_limit_reached', params: { limit: 3, used: 3 } });
    expect(Number((await handle.db('snapshot_snapshots').where({ service_id: 'svc-0' }).count({ n: '*' }).first())!.n)).toBe(3);
    // They were decided together: the service's row was read by one batch, not by each create.
    expect(sql.filter((q) => /from [`"]snapshot_services[`"] as [`"]st[`"]/.test(q)).length).toBeLessThanOrEqual(2);
  });

  it('a service the panel moved to another plan than its state row records is held to the panel\'s plan, alone and in a batch', async () => {
    const fx = await moduleWith(5);
    await new LimitsRepo(handle.db).set('gold', limitOf(1));
    const moved = services.map((s) => ({ ...s, planId: 'gold' }));
    await expect(fx.mod.snapshots.create(moved[0]!, { name: 'alone' }, CTX)).rejects.toMatchObject({ code: 'snapshot_limit_reached', params: { limit: 1, used: 1 } });
    const outcomes = await settle([moved[1]!, services[2]!].map((s) => fx.mod.snapshots.create(s, { name: 'together' }, CTX)));
    expect(reasons(outcomes)).toEqual([expect.objectContaining({ code: 'snapshot_limit_reached', params: expect.objectContaining({ limit: 1 }) })]);
    expect(values(outcomes).map((x: Snapshot) => x.serviceId)).toEqual(['svc-2']);
  });

  it('a database error rolls the batch back; each of its creates then goes alone, the failing one failing alone', async () => {
    const fx = await moduleWith(10);
    await (kind.kind === 'mysql'
      ? handle.db.raw(`CREATE TRIGGER refuse_boom BEFORE INSERT ON snapshot_snapshots FOR EACH ROW BEGIN
          IF NEW.name = 'boom' THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'boom refused'; END IF; END`)
      : handle.db.raw(`CREATE TRIGGER refuse_boom BEFORE INSERT ON snapshot_snapshots FOR EACH ROW WHEN NEW.name = 'boom'
          BEGIN SELECT RAISE(ABORT, 'boom refused'); END`));
    const before = await handle.db('snapshot_snapshots').count({ n: '*' }).first();
    const outcomes = await settle(['one', 'boom', 'two', 'three'].map((name, i) => fx.mod.snapshots.create(services[i]!, { name }, CTX)));
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect(String((reasons(outcomes)[0] as Error).message)).toMatch(/boom refused/);
    const made = values(outcomes);
    expect(Number((await handle.db('snapshot_snapshots').count({ n: '*' }).first())!.n)).toBe(Number(before!.n) + 3);
    expect(await handle.db('snapshot_snapshots').where({ name: 'boom' })).toHaveLength(0);
    expect(await handle.db('snapshot_operations').whereIn('snapshot_id', made.map((s) => s.id))).toHaveLength(3);
    const ok = (await new AuditRepo(handle.db).list({ action: 'snapshot.create', limit: 100 })).filter((a) => a.result === 'ok' && made.some((s) => s.id === a.snapshotId));
    expect(ok).toHaveLength(3);
  });
});

describe.each(DATABASES.filter((k) => k.kind === 'mysql'))('create locks on MariaDB ($kind)', (kind: TestDatabase) => {
  const handle = useDatabase(kind);

  it('two creates on two services of the same plan do not wait on each other: the plan\'s limit row is read, not locked', async () => {
    const fx = await handle.module({ services: [svc(1), svc(2), svc(3)] });
    await new LimitsRepo(handle.db).set('basic', limitOf(5));
    for (const i of [1, 2, 3]) await fx.mod.snapshots.create(svc(i), { name: 'first' }, CTX);
    let release!: () => void;
    const held = new Promise<void>((r) => { release = r; });
    const holder = handle.db.transaction(async (trx) => {
      // A create of svc-1 holding its lock, limits read with it.
      expect((await new SnapshotsRepo(handle.db).lockForCreate(trx, 'svc-1', true))?.limitRows).toMatchObject({ planId: 'basic', row: 5 });
      await held;
    });
    try {
      await sleep(50);
      const timeout = sleep(5_000).then(() => 'waited' as const);
      // Alone, and two in one batch.
      expect(await Promise.race([fx.mod.snapshots.create(svc(2), { name: 'alone' }, CTX).then(() => 'created' as const), timeout])).toBe('created');
      const both = Promise.all([svc(2), svc(3)].map((s) => fx.mod.snapshots.create(s, { name: 'together' }, CTX)));
      expect(await Promise.race([both.then(() => 'created' as const), timeout])).toBe('created');
    } finally {
      release();
      await holder;
    }
  });

  it('a batch waiting for a later service\'s lock reads that service\'s count after the wait, never before', async () => {
    const fx = await handle.module({ services: [svc(0), svc(1)] });
    await new LimitsRepo(handle.db).set('basic', limitOf(2));
    for (const i of [0, 1]) await fx.mod.snapshots.create(svc(i), { name: 'first' }, CTX);
    let release!: () => void;
    const held = new Promise<void>((r) => { release = r; });
    // Another create of svc-1 holds its lock and commits its snapshot while the batch waits for it.
    const other = handle.db.transaction(async (trx) => {
      await trx('snapshot_services').where({ service_id: 'svc-1' }).forUpdate().first();
      await trx('snapshot_snapshots').insert({
        service_id: 'svc-1', name: 'other', hv_name: 'ps-other', status: 'creating', pinned: false, include_memory: false, origin: 'manual',
        created_at: new Date(), updated_at: new Date(),
      });
      await held;
    });
    let outcomes: PromiseSettledResult<Snapshot>[];
    try {
      await sleep(50);
      const batch = settle([svc(0), svc(1)].map((s) => fx.mod.snapshots.create(s, { name: 'second' }, CTX)));
      await waitFor(async () => {
        const [rows] = await handle.db.raw("select count(*) as n from information_schema.processlist where db = database() and info like '%for update'");
        return Number((rows as Array<{ n: number }>)[0]!.n) > 0;
      }, 5_000, 'the batch waiting for svc-1');
      release();
      await other;
      outcomes = await batch;
    } finally {
      release();
    }
    expect(outcomes[0]!.status).toBe('fulfilled');
    expect(reasons(outcomes)).toEqual([expect.objectContaining({ code: 'snapshot_limit_reached', params: expect.objectContaining({ limit: 2, used: 2 }) })]);
    expect(Number((await handle.db('snapshot_snapshots').where({ service_id: 'svc-1' }).count({ n: '*' }).first())!.n)).toBe(2);
  });
});
