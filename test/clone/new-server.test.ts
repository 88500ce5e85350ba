import supertest from 'supertest';
import { describe, expect, it } from 'vitest';
import { DATABASES, type TestDatabase } from '../helpers/databases.js';
import { useDatabase } from '../helpers/db-suite.js';
import { appFor } from '../helpers/http-app.js';
import { setPlan } from '../helpers/race-kit.js';
import { waitFor } from '../helpers/wait-for.js';
import { cloneEnded, cloneFixture, currentSnapshot, CUSTOMER, newService, SOURCE, type CloneFixture } from './clone-fixture.js';

/** The reference the panel's order hook received, as it would carry it through its order. */
const referenceOf = (fx: CloneFixture, i = 0) => fx.orders[i]!.reference;

describe.each(DATABASES)('new server from a snapshot ($kind)', (kind: TestDatabase) => {
  const handle = useDatabase(kind);
  const db = () => handle.db;

  /** alice starts an order through the API; the answer is where the panel continues. */
  async function begin(fx: CloneFixture, snapshotId: number, actor = 'alice') {
    return supertest(appFor(fx.mod)).post(`/api/v1/services/${SOURCE.id}/snapshots/${snapshotId}/new-server`).set('x-test-actor', actor).send({});
  }

  it('hands over to the panel, clones on provisioning, and reports progress to the panel, the owner and the new page', async () => {
    const fx = await cloneFixture(handle, { driver: { delayMs: { create: [5, 5], clone: [400, 400] } } });
    const s = await currentSnapshot(db(), fx.mod, SOURCE);
    const res = await begin(fx, s.id);
    expect(res.status).toBe(200);
    expect(res.body.continueUrl).toBe(`/orders/new?ref=${encodeURIComponent(referenceOf(fx))}`);
    const order = fx.orders[0]!;
    expect(order).toMatchObject({ minDiskBytes: SOURCE.diskBytes, snapshot: { id: s.id, name: 'golden' }, locale: 'en' });
    expect(order.source.id).toBe(SOURCE.id);
    // Opaque: no id of the snapshot or service the customer could swap.
    expect(order.reference).toMatch(/^[\w-]{22}\.\d{10}\.[\w-]{43}$/);
    expect(order.reference).not.toContain(SOURCE.id);

    const NEW = newService();
    fx.services.set(NEW.id, NEW);
    const queued = await fx.mod.hooks.provisionedFromSnapshot(NEW.id, order.reference);
    expect(queued).toMatchObject({ serviceId: NEW.id, sourceServiceId: SOURCE.id, snapshotName: 'golden', status: 'queued', errorCode: null });
    // While the disk is made, nothing else touches the new server, and its page says what is going on.
    await expect(fx.mod.snapshots.create(NEW, { name: 'too early' }, CUSTOMER)).rejects.toMatchObject({ code: 'clone_in_progress' });
    const page = await supertest(appFor(fx.mod)).get(`/services/${NEW.id}/snapshots`).set('x-test-actor', 'alice');
    expect(page.text).toMatch(/data-clone="(queued|running)"/);
    expect(page.text).not.toContain('id="create-snapshot"');

    const row = await cloneEnded(db(), NEW.id);
    expect(row.status).toBe('succeeded');
    expect(await fx.driver.origin(NEW.target)).toMatchObject({ sourceVm: { node: 'node1', vmId: '101' }, snapshot: s.hvName });
    expect(await fx.driver.list(NEW.target)).toEqual([]);
    expect(await fx.mod.hooks.cloneStatus(NEW.id)).toMatchObject({ status: 'succeeded' });
    await waitFor(() => fx.progress.some((p) => p.status === 'succeeded'), 5_000, 'progress reported');
    expect(fx.progress.map((p) => p.status)).toEqual(['queued', 'running', 'succeeded']);
    await waitFor(() => fx.notifications.find((n) => n.type === 'server_clone_succeeded'), 5_000, 'owner told');
    expect(fx.notifications.find((n) => n.type === 'server_clone_succeeded')).toMatchObject({ serviceId: NEW.id, recipientId: 'alice' });
    // The new server is open now, and says where its disk came from.
    // Only the page of a service made from a snapshot reads its clone row; the source's page does not.
    const cloneReads: string[] = [];
    // (On MariaDB the page cache's fingerprint hashes every page's clone row, if any, by its unique index: not a read of the record.)
    const seen = (q: { sql: string }) => { if (/from [`"]snapshot_clones[`"]/i.test(q.sql) && !q.sql.startsWith('select (select concat(count(*)')) cloneReads.push(q.sql); };
    db().on('query', seen);
    await supertest(appFor(fx.mod)).get(`/services/${SOURCE.id}/snapshots`).set('x-test-actor', 'alice').expect(200);
    expect(cloneReads).toHaveLength(0);
    const after = await supertest(appFor(fx.mod)).get(`/services/${NEW.id}/snapshots`).set('x-test-actor', 'alice');
    expect(cloneReads).toHaveLength(1);
    db().off('query', seen);
    expect(after.text).toContain('data-clone="succeeded"');
    expect(after.text).toContain('This server was made from the snapshot');
    expect(after.text).toContain('id="create-snapshot"');
    await fx.mod.snapshots.create(NEW, { name: 'first of its own' }, CUSTOMER);
    // The source keeps its snapshot, and its quota was not charged for the new server.
    const list = await supertest(appFor(fx.mod)).get(`/api/v1/services/${SOURCE.id}/snapshots`).set('x-test-actor', 'alice');
    expect(list.body.quota).toMatchObject({ used: 1 });
    expect(list.body.snapshots[0]).toMatchObject({ id: s.id, status: 'active', actions: { delete: true, newServer: true } });
    const actions = (await db()('snapshot_audit_events').whereIn('service_id', [SOURCE.id, NEW.id]).orderBy('id')).map((e) => `${e.service_id} ${e.action} ${e.result}`);
    expect(actions).toEqual(expect.arrayContaining([
      `${SOURCE.id} snapshot.new_server ok`, `${SOURCE.id} snapshot.clone ok`, `${NEW.id} server.provision_from_snapshot ok`,
      `${SOURCE.id} operation.clone ok`, `${NEW.id} server.clone ok`,
    ]));
  });

  it('a tampered, made-up, expired or reused reference is refused and queues nothing; the same delivery again answers the same clone', async () => {
    const fx = await cloneFixture(handle);
    const s = await currentSnapshot(db(), fx.mod, SOURCE);
    await begin(fx, s.id);
    await begin(fx, s.id);
    const [ref, other] = [referenceOf(fx, 0), referenceOf(fx, 1)];
    const NEW = newService();
    const NEXT = newService({ id: 'svc-next', target: { driver: 'simulated', node: 'node1', vmId: '202' } });
    for (const svc of [NEW, NEXT]) fx.services.set(svc.id, svc);
    const sig = ref.split('.')[2]!;
    const flipped = `${ref.slice(0, -1)}${ref.endsWith('A') ? 'B' : 'A'}`;
    const swapped = `${other.split('.')[0]}.${ref.split('.')[1]}.${sig}`;
    const later = `${ref.split('.')[0]}.${Number(ref.split('.')[1]) + 3600}.${sig}`;
    for (const bad of [flipped, swapped, later, 'junk', '', `${s.id}`, 42]) {
      await expect(fx.mod.hooks.provisionedFromSnapshot(NEW.id, bad as string), String(bad)).rejects.toMatchObject({ code: 'handover_invalid', status: 400 });
    }
    expect(await db()('snapshot_clones').count({ n: '*' }).first()).toMatchObject({ n: 0 });

    const first = await fx.mod.hooks.provisionedFromSnapshot(NEW.id, ref);
    const again = await fx.mod.hooks.provisionedFromSnapshot(NEW.id, ref);
    expect(again).toMatchObject({ serviceId: NEW.id, requestedAt: first.requestedAt });
    const used = await fx.mod.hooks.provisionedFromSnapshot(NEXT.id, ref).catch((e: unknown) => e);
    expect(used).toMatchObject({ code: 'handover_used', status: 409 });
    // What the panel shows its user, in their language.
    expect(fx.mod.describeError(used, 'ja')).toEqual({ code: 'handover_used', status: 409, message: 'このスナップショット参照は既に別のサーバーに使用されています。' });
    expect(fx.mod.describeError(new Error('a bug'), 'ja')).toBeNull();
    expect(await db()('snapshot_operations').where({ kind: 'clone' }).count({ n: '*' }).first()).toMatchObject({ n: 1 });

    // Expired: the stored expiry counts, whatever the reference says.
    await db()('snapshot_handovers').where({ id: other.split('.')[0] }).update({ expires_at: new Date(Date.now() - 1000) });
    await expect(fx.mod.hooks.provisionedFromSnapshot(NEXT.id, other)).rejects.toMatchObject({ code: 'handover_expired', status: 410 });
    await cloneEnded(db(), NEW.id);
    expect(await db()('snapshot_clones').count({ n: '*' }).first()).toMatchObject({ n: 1 });
  });

  it('only the snapshot\'s customer (or their reseller, or an admin) may start, and only into a service of the same customer and reseller', async () => {
    const fx = await cloneFixture(handle);
    const s = await currentSnapshot(db(), fx.mod, SOURCE);
    expect((await begin(fx, s.id, 'bob')).body.error.code).toBe('service_not_found');
    expect((await begin(fx, s.id, 'reseller')).status).toBe(200);
    expect((await begin(fx, s.id, 'admin')).status).toBe(200);
    for (let i = 0; i < 5; i++) expect((await begin(fx, s.id)).status).toBe(200);
    const cases = [
      [newService({ id: 'n-bob', ownerId: 'bob' }), 'clone_wrong_owner', 403],
      [newService({ id: 'n-other-reseller', resellerId: 'zed' }), 'clone_wrong_owner', 403],
      [newService({ id: 'n-direct', resellerId: null }), 'clone_wrong_owner', 403],
      [newService({ id: 'n-small', diskBytes: SOURCE.diskBytes - 1 }), 'clone_disk_too_small', 409],
      [newService({ id: 'n-other-driver', target: { driver: 'proxmox', node: 'pve1', vmId: '300' } }), 'clone_other_driver', 409],
    ] as const;
    for (const [i, [svc, code, status]] of cases.entries()) {
      fx.services.set(svc.id, svc);
      await expect(fx.mod.hooks.provisionedFromSnapshot(svc.id, referenceOf(fx, i)), svc.id).rejects.toMatchObject({ code, status });
    }
    await expect(fx.mod.hooks.provisionedFromSnapshot('no-such-service', referenceOf(fx, 5))).rejects.toMatchObject({ code: 'service_not_found' });
    const busy = newService({ id: 'n-busy' });
    fx.services.set(busy.id, busy);
    await currentSnapshot(db(), fx.mod, busy, 'its own');
    await expect(fx.mod.hooks.provisionedFromSnapshot(busy.id, referenceOf(fx, 6))).rejects.toMatchObject({ code: 'clone_target_not_empty' });
    // The refused ones are audited on the service they named, and none used its reference.
    expect(await db()('snapshot_audit_events').where({ action: 'server.provision_from_snapshot', result: 'refused' }).count({ n: '*' }).first()).toMatchObject({ n: 6 });
    expect(await db()('snapshot_handovers').whereNotNull('used_at').count({ n: '*' }).first()).toMatchObject({ n: 0 });
    // A reseller's order still lands with the customer: the reference carries the snapshot's owner.
    const ok = newService({ id: 'n-ok' });
    fx.services.set(ok.id, ok);
    expect(await fx.mod.hooks.provisionedFromSnapshot(ok.id, referenceOf(fx, 0))).toMatchObject({ status: 'queued' });
  });

  it('says why it cannot start: plan, driver, status, hypervisor, or the panel\'s own reason', async () => {
    // One module at a time: each has its own hypervisor, and a started module runs any queued work.
    const refusing = await cloneFixture(handle, { refuse: 'Ordering is closed for maintenance.' });
    const s = await currentSnapshot(db(), refusing.mod, SOURCE);
    const refused = await begin(refusing, s.id);
    expect(refused.status).toBe(409);
    expect(refused.body.error).toEqual({ code: 'clone_refused_by_panel', message: 'The order could not be started: Ordering is closed for maintenance.' });
    await refusing.mod.stop();

    const fx = await cloneFixture(handle);
    const own = await currentSnapshot(db(), fx.mod, SOURCE, 'own');
    await setPlan(db(), SOURCE.planId, { cloneAllowed: false });
    expect((await begin(fx, own.id)).body.error.code).toBe('clone_not_in_plan');
    const page = await supertest(appFor(fx.mod)).get(`/services/${SOURCE.id}/snapshots`).set('x-test-actor', 'alice');
    expect(page.text).toContain('disabled aria-describedby="new-server-why"');
    expect(page.text).toContain('Your plan does not include new servers from snapshots.');
    await setPlan(db(), SOURCE.planId, { cloneAllowed: true });
    // Deleted on the hypervisor behind the module's back: the record alone is nothing to copy from.
    const gone = await fx.driver.delete(SOURCE.target, own.hvName);
    await waitFor(async () => (await fx.driver.taskStatus(SOURCE.target, gone)).state === 'succeeded', 5_000, 'gone on the hypervisor');
    expect((await begin(fx, own.id)).body.error.code).toBe('clone_source_missing');
    fx.driver.injectFailure({ operation: 'create', code: 'timeout', hang: true });
    const creating = await fx.mod.snapshots.create(SOURCE, { name: 'not yet' }, CUSTOMER);
    expect((await begin(fx, creating.id)).body.error.code).toBe('clone_needs_active');
    await fx.mod.stop();

    const cannot = await cloneFixture(handle, { driver: { clone: false } });
    expect((await begin(cannot, s.id)).body.error.code).toBe('clone_unsupported');
    const ko = await supertest(appFor(cannot.mod)).get(`/services/${SOURCE.id}/snapshots`).set('x-test-actor', 'alice').set('accept-language', 'ko');
    expect(ko.text).toContain('disabled aria-describedby="new-server-why"');
    // Each refused start is audited with its code.
    const codes = (await db()('snapshot_audit_events').where({ action: 'snapshot.new_server', result: 'refused' }).orderBy('id')).map((e) => e.code);
    expect(codes).toEqual(['clone_refused_by_panel', 'clone_not_in_plan', 'clone_source_missing', 'clone_needs_active', 'clone_unsupported']);
  });
});
