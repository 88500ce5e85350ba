import { createHmac } from 'node:crypto';
import supertest from 'supertest';
import { describe, expect, it } from 'vitest';
import { DATABASES, type TestDatabase } from '../helpers/databases.js';
import { useDatabase } from '../helpers/db-suite.js';
import { appFor } from '../helpers/http-app.js';
import { setPlan } from '../helpers/race-kit.js';
import { waitFor } from '../helpers/wait-for.js';
import { cloneEnded, cloneFixture, currentSnapshot, CUSTOMER, newService, SOURCE, type CloneFixture } from './clone-fixture.js';

const WEBHOOK_SECRET = 'webhook-test-secret-0123456789abcdefghij';
const DAY = 24 * 3600_000;
const SUNDAY = Date.parse('2026-11-01T18:00:00Z');

/**
 * What a clone does to the snapshot it reads and to the services on both sides: the snapshot is kept
 * until the copy is done, a failure leaves nothing at the new guest, a source terminated before its
 * turn ends the clone, and the signed webhook event provisions like the in-process hook.
 */
describe.each(DATABASES)('a clone and the services around it ($kind)', (kind: TestDatabase) => {
  const handle = useDatabase(kind);
  const db = () => handle.db;
  const rows = () => db()('snapshot_snapshots').where({ service_id: SOURCE.id }).orderBy('id');

  /** Orders and provisions a new server from snapshot `id`; the clone is queued when this returns. */
  async function cloneInto(fx: CloneFixture, id: number, NEW = newService()) {
    await supertest(appFor(fx.mod)).post(`/api/v1/services/${SOURCE.id}/snapshots/${id}/new-server`).set('x-test-actor', 'alice').send({}).expect(200);
    fx.services.set(NEW.id, NEW);
    return fx.mod.hooks.provisionedFromSnapshot(NEW.id, fx.orders.at(-1)!.reference);
  }

  /** A clone queued behind a create that hangs on the source (so it waits its turn until the test acts). */
  async function queuedClone() {
    const fx = await cloneFixture(handle, { driver: { delayMs: { create: [5, 5], clone: [30, 30] } } });
    const s = await currentSnapshot(db(), fx.mod, SOURCE);
    fx.driver.injectFailure({ operation: 'create', code: 'timeout', hang: true });
    await fx.mod.snapshots.create(SOURCE, { name: 'holding the queue' }, CUSTOMER);
    const NEW = newService();
    await cloneInto(fx, s.id, NEW);
    return { fx, s, NEW };
  }

  it('keeps the snapshot from deletion and from retention until the copy is done', async () => {
    await setPlan(db(), SOURCE.planId, { maxSnapshots: 1, maxKeep: 5 });
    const fx = await cloneFixture(handle, { driver: { delayMs: { create: [5, 5], clone: [1500, 1500] } } });
    const schedule = await fx.mod.schedules.create(SOURCE, { name: 'Nightly', days: [0, 1, 2, 3, 4, 5, 6], hour: 3, minute: 0, timezone: 'Asia/Seoul', keep: 1 }, CUSTOMER);
    const run = async (i: number) => {
      await fx.mod.runSchedule(schedule.id, new Date(SUNDAY + i * DAY));
      await waitFor(async () => (await rows()).every((r) => r.status === 'active'), 10_000, 'run settled');
    };
    await run(0);
    const [first] = await rows();
    await cloneInto(fx, Number(first.id));
    const api = supertest(appFor(fx.mod));
    const refused = await api.delete(`/api/v1/services/${SOURCE.id}/snapshots/${first.id}`).set('x-test-actor', 'alice').send({ confirm: true });
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('snapshot_cloning');
    const listed = await api.get(`/api/v1/services/${SOURCE.id}/snapshots`).set('x-test-actor', 'alice');
    expect(listed.body.snapshots.find((x: { id: number }) => x.id === Number(first.id)).actions).toMatchObject({ delete: false, newServer: true });
    const page = await api.get(`/services/${SOURCE.id}/snapshots`).set('x-test-actor', 'alice');
    expect(page.text).toContain('A new server is being made from it');
    // At the limit, a scheduled run rotates its oldest snapshot out to make room (the queue then runs
    // the create after the clone): not this one while the copy reads it, so the run is skipped.
    expect(await fx.mod.runSchedule(schedule.id, new Date(SUNDAY + DAY))).toBe('limit_reached');
    expect((await rows()).map((r) => [Number(r.id), r.status])).toEqual([[Number(first.id), 'active']]);
    expect((await cloneEnded(db(), 'svc-new')).status).toBe('succeeded');
    // Done: the next run rotates it out like any other.
    await run(2);
    await waitFor(async () => (await rows()).length === 1 && Number((await rows())[0].id) !== Number(first.id), 10_000, 'rotated after the clone');
    expect(await db()('snapshot_audit_events').where({ action: 'snapshot.rotate', snapshot_id: first.id }).count({ n: '*' }).first()).toMatchObject({ n: 1 });
  });

  it('a failed clone leaves nothing at the new guest, the snapshot as it was, and the new server free, and says why', async () => {
    const fx = await cloneFixture(handle);
    const s = await currentSnapshot(db(), fx.mod, SOURCE);
    fx.driver.injectFailure({ operation: 'clone', code: 'unsupported_storage' });
    const NEW = newService();
    await cloneInto(fx, s.id, NEW);
    const row = await cloneEnded(db(), NEW.id);
    expect(row).toMatchObject({ status: 'failed', error_code: 'driver_unsupported_storage' });
    expect(await fx.driver.cloneState(NEW.target)).toBe('absent');
    expect(await db()('snapshot_snapshots').where({ id: s.id }).first()).toMatchObject({ status: 'active', error_code: null });
    expect(await db()('snapshot_services').where({ service_id: NEW.id }).first()).toMatchObject({ clone_pending: 0 });
    await waitFor(() => fx.notifications.find((n) => n.type === 'server_clone_failed'), 5_000, 'owner told');
    expect(fx.progress.at(-1)).toMatchObject({ status: 'failed', errorCode: 'driver_unsupported_storage' });
    // Their reseller reads Japanese.
    const page = await supertest(appFor(fx.mod)).get(`/services/${NEW.id}/snapshots`).set('x-test-actor', 'reseller');
    expect(page.text).toContain('data-clone="failed"');
    expect(page.text).toContain('スナップショット「golden」からこのサーバーを作成できませんでした');
    // The reference is spent: the panel orders again for a second try.
    await expect(fx.mod.hooks.provisionedFromSnapshot('svc-other', fx.orders[0]!.reference)).rejects.toMatchObject({ code: 'service_not_found' });
  });

  it('a guest already at the destination is never overwritten or removed', async () => {
    const fx = await cloneFixture(handle);
    const s = await currentSnapshot(db(), fx.mod, SOURCE);
    const NEW = newService({ target: SOURCE.target });
    // The panel (wrongly) provisioned onto a guest that exists: the source itself here.
    await cloneInto(fx, s.id, { ...NEW, target: { ...SOURCE.target } });
    const row = await cloneEnded(db(), NEW.id);
    expect(row).toMatchObject({ status: 'failed', error_code: 'driver_already_exists' });
    expect((await fx.driver.list(SOURCE.target)).map((x) => x.name)).toEqual([s.hvName]);
  });

  it('terminating the source before the clone\'s turn ends the clone; the new server is freed and told', async () => {
    const { fx, NEW } = await queuedClone();
    await fx.mod.hooks.serviceTerminated(SOURCE.id);
    expect(await db()('snapshot_clones').where({ new_service_id: NEW.id }).first()).toMatchObject({ status: 'failed', error_code: 'service_terminated' });
    expect(await db()('snapshot_services').where({ service_id: NEW.id }).first()).toMatchObject({ clone_pending: 0 });
    expect(fx.progress.at(-1)).toMatchObject({ status: 'failed', errorCode: 'service_terminated' });
    expect(fx.notifications.some((n) => n.type === 'server_clone_failed' && n.serviceId === NEW.id)).toBe(true);
    expect(await fx.driver.cloneState(NEW.target)).toBe('absent');
  });

  it('terminating the new server before its copy began cancels the copy, and its source goes on', async () => {
    const { fx, s, NEW } = await queuedClone();
    await fx.mod.hooks.serviceTerminated(NEW.id);
    const clone = await db()('snapshot_clones').where({ new_service_id: NEW.id }).first();
    expect(clone).toMatchObject({ status: 'failed', error_code: 'service_terminated' });
    expect(await db()('snapshot_operations').where({ id: clone.operation_id }).first()).toMatchObject({ status: 'failed', error_code: 'service_terminated' });
    expect(fx.progress.at(-1)).toMatchObject({ serviceId: NEW.id, status: 'failed', errorCode: 'service_terminated' });
    // The source goes on: its queue no longer holds the copy, and the snapshot may go.
    expect((await db()('snapshot_operations').where({ service_id: SOURCE.id, kind: 'clone' }).whereIn('status', ['queued', 'running']))).toEqual([]);
    const del = await supertest(appFor(fx.mod)).delete(`/api/v1/services/${SOURCE.id}/snapshots/${s.id}`).set('x-test-actor', 'alice').send({ confirm: true });
    expect(del.status).toBe(202);
    expect(await fx.driver.cloneState(NEW.target)).toBe('absent');
  });

  it('the operations sweep removes handovers a day past their expiry, and only those', async () => {
    const fx = await cloneFixture(handle);
    const s = await currentSnapshot(db(), fx.mod, SOURCE);
    for (let i = 0; i < 3; i++) await supertest(appFor(fx.mod)).post(`/api/v1/services/${SOURCE.id}/snapshots/${s.id}/new-server`).set('x-test-actor', 'alice').send({}).expect(200);
    const ids = fx.orders.map((o) => o.reference.split('.')[0]!);
    await db()('snapshot_handovers').where({ id: ids[0] }).update({ expires_at: new Date(Date.now() - 25 * 3600_000) });
    await db()('snapshot_handovers').where({ id: ids[1] }).update({ expires_at: new Date(Date.now() - 23 * 3600_000) });
    await waitFor(async () => (await db()('snapshot_handovers').where({ id: ids[0] }).first()) === undefined, 10_000, 'old handover pruned');
    expect((await db()('snapshot_handovers').orderBy('created_at')).map((h) => h.id).sort()).toEqual([ids[1], ids[2]].sort());
  });

  it('the signed webhook event provisions like the hook, and a repeat answers the same clone', async () => {
    const fx = await cloneFixture(handle);
    await fx.mod.stop();
    const wh = await handle.module({
      services: [SOURCE], driver: fx.driver, config: { webhookSecret: WEBHOOK_SECRET },
      panel: { orderServerFromSnapshot: (r) => { fx.orders.push(r); return { continueUrl: '/orders/new' }; } },
    });
    await wh.mod.start();
    const s = await currentSnapshot(db(), wh.mod, SOURCE);
    await supertest(appFor(wh.mod)).post(`/api/v1/services/${SOURCE.id}/snapshots/${s.id}/new-server`).set('x-test-actor', 'alice').send({}).expect(200);
    const NEW = newService();
    wh.services.set(NEW.id, NEW);
    const body = JSON.stringify({ event: 'service.provisioned_from_snapshot', eventId: 'evt-prov-1', serviceId: NEW.id, reference: fx.orders[0]!.reference });
    const deliver = (raw: string) => {
      const ts = Math.floor(Date.now() / 1000);
      return supertest(appFor(wh.mod)).post('/webhooks/snapshots').set('content-type', 'application/json')
        .set('x-snapshots-timestamp', String(ts)).set('x-snapshots-signature', createHmac('sha256', WEBHOOK_SECRET).update(`${ts}.${raw}`).digest('hex')).send(raw);
    };
    const res = await deliver(body);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ eventId: 'evt-prov-1', event: 'service.provisioned_from_snapshot', result: { serviceId: NEW.id, status: 'queued', snapshotName: 'golden' } });
    expect((await deliver(body)).body).toEqual(res.body);
    const tampered = await deliver(body.replace(/"reference":"[^"]+"/, '"reference":"forged.1.x"'));
    expect(tampered.status).toBe(409);
    expect(tampered.body.error.code).toBe('webhook_event_id_reused');
    expect((await cloneEnded(db(), NEW.id)).status).toBe('succeeded');
    expect(await db()('snapshot_audit_events').where({ action: 'server.provision_from_snapshot', result: 'ok' }).first()).toMatchObject({ actor_type: 'billing', actor_id: 'evt-prov-1' });
  });
});
