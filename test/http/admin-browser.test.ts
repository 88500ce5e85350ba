import { beforeEach, describe, expect, it } from 'vitest';
import type { ActionContext } from '../../module/index.js';
import { SimulatedDriver } from '../../module/drivers/simulated/simulated-driver.js';
import { DATABASES } from '../helpers/databases.js';
import { type ModuleFixture, useDatabase } from '../helpers/db-suite.js';
import supertest from 'supertest';
import { appFor, sessionFor } from '../helpers/http-app.js';
import { makeService } from '../helpers/module-fixture.js';
import { waitFor } from '../helpers/wait-for.js';

const A = '/admin/snapshots';
const SVC1 = makeService();
const SVC2 = makeService({ id: 'svc-2', name: 'bob-db', ownerId: 'bob', target: { driver: 'simulated', node: 'node1', vmId: '102' } });
const ALICE: ActionContext = { actor: { type: 'customer', id: 'alice' } };
const BOB: ActionContext = { actor: { type: 'customer', id: 'bob' } };
const LONG_AGO = new Date(Date.now() - 7 * 24 * 3600_000);

const ids = (html: string, attr: 'snapshot' | 'operation') => [...html.matchAll(new RegExp(`data-${attr}="(\\d+)"`, 'g'))].map((m) => Number(m[1])).sort((a, b) => a - b);

describe.each(DATABASES)('admin snapshots/operations browser and actions ($kind)', (kind) => {
  const handle = useDatabase(kind);
  let fx: ModuleFixture;
  let driver: SimulatedDriver;

  beforeEach(async () => {
    driver = new SimulatedDriver({});
    fx = await handle.module({ driver, services: [SVC1, SVC2] });
    await fx.mod.start();
  });

  const row = (id: number) => handle.db('snapshot_snapshots').where({ id }).first();
  const statusOf = async (id: number) => (await row(id))?.status;
  async function active(service: typeof SVC1, name: string, ctx = ALICE) {
    const s = await fx.mod.snapshots.create(service, { name }, ctx);
    await waitFor(async () => (await statusOf(s.id)) === 'active', 5000, `${name} active`);
    return s;
  }
  async function failedCreate(service: typeof SVC1, name: string, ctx = ALICE) {
    driver.injectFailure({ operation: 'create', code: 'rejected', vmId: service.target.vmId });
    const s = await fx.mod.snapshots.create(service, { name }, ctx);
    await waitFor(async () => (await statusOf(s.id)) === 'failed', 5000, `${name} failed`);
    return s;
  }
  /** An unmanaged snapshot: ours by prefix, on the hypervisor, unknown to the records until reconcile. */
  async function unmanaged(service: typeof SVC1, hvName: string) {
    // Reconcile walks the services the module has seen (those with a state row).
    const now = new Date();
    await handle.db('snapshot_services').insert({ service_id: service.id, plan_id: service.planId, suspended: false, terminated: false, created_at: now, updated_at: now })
      .onConflict('service_id').ignore();
    await driver.create(service.target, { name: hvName, description: null, includeMemory: false });
    await fx.mod.reconcile();
    return (await handle.db('snapshot_snapshots').where({ hv_name: hvName }).first()) as { id: number; status: string };
  }
  async function vanished(service: typeof SVC1, name: string) {
    const s = await active(service, name);
    await driver.delete(service.target, s.hvName);
    await fx.mod.reconcile();
    expect(await row(s.id)).toMatchObject({ status: 'error', error_code: 'snapshot_vanished' });
    return s;
  }

  it('filters snapshots and operations by status, problem, service and customer, and pages through them', async () => {
    await handle.db('snapshot_plan_limits').insert({ plan_id: '*', max_snapshots: 20, max_schedules: 1, max_keep: 3, memory_allowed: true, schedules_allowed: true, updated_at: new Date() });
    const a1 = await active(SVC1, 'a1');
    const more = [];
    for (let i = 0; i < 3; i++) more.push((await active(SVC1, `more-${i}`)).id);
    const b1 = await active(SVC2, 'b1', BOB);
    const bFail = await failedCreate(SVC2, 'b-fail', BOB);
    const u = await unmanaged(SVC1, 'psnap-20260101000000-aaaaaa'); // reconcile also records each service's owner
    // Stuck: a delete in progress for a week, its operation running as long.
    const stuck = await active(SVC1, 'stuck');
    await handle.db('snapshot_snapshots').where({ id: stuck.id }).update({ status: 'deleting', updated_at: LONG_AGO });
    const [stuckOp] = await handle.db('snapshot_operations').insert({
      service_id: 'svc-1', snapshot_id: stuck.id, kind: 'delete', status: 'running', attempts: 1, driver: 'simulated', node: 'node1', vm_id: '101',
      payload: '{}', origin: 'customer', requested_by: 'alice', locked_by: 'elsewhere#1', locked_until: new Date(Date.now() + 3600_000),
      run_after: LONG_AGO, created_at: LONG_AGO, started_at: LONG_AGO, updated_at: LONG_AGO,
    }).returning('id').then((r) => r.map((x) => (typeof x === 'object' ? Number(x.id) : Number(x))));

    const { agent } = await sessionFor(fx.mod, 'admin', `${A}/items`);
    const items = async (q: string) => ids((await agent.get(`${A}/items${q}`)).text, 'snapshot');
    expect(await items('')).toEqual([a1.id, ...more, b1.id, bFail.id, u.id, stuck.id].sort((x, y) => x - y));
    expect(await items('?problem=unmanaged')).toEqual([u.id]);
    expect(await items('?problem=errors')).toEqual([bFail.id]);
    expect(await items('?problem=stuck')).toEqual([stuck.id]);
    expect(await items('?status=active&serviceId=svc-1')).toEqual([a1.id, ...more]);
    expect(await items('?customerId=bob')).toEqual([b1.id, bFail.id]);
    expect(await items('?customerId=bob&status=active')).toEqual([b1.id]);
    expect(await items('?customerId=alice&problem=unmanaged')).toEqual([u.id]);
    expect(await items('?customerId=nobody')).toEqual([]);

    const ops = async (q: string) => ids((await agent.get(`${A}/operations${q}`)).text, 'operation');
    const failedOp = await handle.db('snapshot_operations').where({ snapshot_id: bFail.id }).first();
    expect(await ops('?problem=errors')).toEqual([Number(failedOp.id)]);
    expect(await ops('?problem=stuck')).toEqual([stuckOp]);
    expect(await ops('?status=succeeded&customerId=bob')).toEqual([Number((await handle.db('snapshot_operations').where({ snapshot_id: b1.id }).first()).id)]);
    expect(await ops('?kind=restore')).toEqual([]);
    const page = await agent.get(`${A}/operations?problem=errors`);
    expect(page.text).toContain('Retry operation');
    expect(page.text).toContain('The hypervisor refused the operation.');
    // The operation's service and snapshot by name, the ids beside them.
    const opRow = new RegExp(`<tr data-operation="${failedOp.id}"[^>]*>(.*?)</tr>`, 's').exec(page.text)?.[1] ?? '';
    expect(opRow).toMatch(/>bob-db<\/a><br><span class="snapshots-muted">svc-2<\/span>/);
    expect(opRow).toContain(`<span class="snapshots-name">b-fail</span> <span class="snapshots-muted">#${bFail.id}</span>`);

    // Pages of 5 (svc-1 has 6): the first has 5 rows and a next link keeping the filters; the second the rest.
    const first = await agent.get(`${A}/items?serviceId=svc-1&size=5`);
    expect(ids(first.text, 'snapshot')).toHaveLength(5);
    expect(first.text).not.toContain('rel="prev"');
    const next = /href="([^"]+)" rel="next"/.exec(first.text)![1]!.replaceAll('&amp;', '&');
    expect(next).toContain('serviceId=svc-1');
    expect(next).toMatch(/before=\d+/);
    const second = await agent.get(next);
    expect(ids(second.text, 'snapshot')).toHaveLength(1);
    expect(second.text).not.toContain('rel="next"');
    expect([...ids(first.text, 'snapshot'), ...ids(second.text, 'snapshot')]).toHaveLength(6);
    // Back from the older page: the newer link shows the first page's rows again.
    const newer = /href="([^"]+)" rel="prev"/.exec(second.text)![1]!.replaceAll('&amp;', '&');
    expect(ids((await agent.get(newer)).text, 'snapshot')).toEqual(ids(first.text, 'snapshot'));

    // A filter value that does not exist is a localized field error, not an error page.
    const bad = await agent.get(`${A}/items?status=bogus`).set('x-test-actor', 'adminKo');
    expect(bad.status).toBe(422);
    expect(bad.text).toContain('제시된 값 중 하나를 선택하세요.');
    expect(ids(bad.text, 'snapshot')).toEqual([]);
  });

  it('retries a failed create and a failed delete through the queue, audited; an older attempt is not retried', async () => {
    const failed = await failedCreate(SVC1, 'retry me');
    const firstOp = await handle.db('snapshot_operations').where({ snapshot_id: failed.id }).first();
    const { agent, token } = await sessionFor(fx.mod, 'admin', `${A}/operations?problem=errors`);
    const res = await agent.post(`${A}/operations/${firstOp.id}/retry`).type('form').send({ _csrf: token, back: `${A}/operations?problem=errors` });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe(`${A}/operations?problem=errors&flash=retried`);
    await waitFor(async () => (await statusOf(failed.id)) === 'active', 5000, 'retried create active');
    expect((await driver.list(SVC1.target)).map((s) => s.name)).toContain(failed.hvName);
    const retryOp = await handle.db('snapshot_operations').where({ snapshot_id: failed.id }).where('id', '>', firstOp.id).first();
    expect(retryOp).toMatchObject({ kind: 'create', status: 'succeeded', origin: 'admin', requested_by: 'root' });
    expect(JSON.parse(retryOp.payload)).toMatchObject({ retryOf: Number(firstOp.id) });
    expect(await handle.db('snapshot_operations').where({ id: firstOp.id }).first()).toMatchObject({ status: 'failed' });

    // The first attempt is history now: retrying it again is refused, with the reason on the page.
    const again = await agent.post(`${A}/operations/${firstOp.id}/retry`).type('form').send({ _csrf: token });
    expect(again.status).toBe(409);
    expect(again.text).toContain('This operation cannot be retried');

    // A delete the hypervisor refused leaves the snapshot in error; retrying deletes it.
    driver.injectFailure({ operation: 'delete', code: 'rejected', vmId: '101' });
    await fx.mod.snapshots.delete(SVC1, failed.id, { confirm: true }, ALICE);
    await waitFor(async () => (await statusOf(failed.id)) === 'error', 5000, 'delete failed');
    const delOp = await handle.db('snapshot_operations').where({ snapshot_id: failed.id, kind: 'delete' }).first();
    expect((await agent.post(`${A}/operations/${delOp.id}/retry`).type('form').send({ _csrf: token })).status).toBe(303);
    await waitFor(async () => (await row(failed.id)) === undefined, 5000, 'retried delete done');
    expect((await driver.list(SVC1.target)).map((s) => s.name)).not.toContain(failed.hvName);

    const audit = await handle.db('snapshot_audit_events').where({ action: 'admin.retry' }).orderBy('id');
    expect(audit.map((a) => [a.actor_type, a.actor_id, a.result])).toEqual([['admin', 'root', 'ok'], ['admin', 'root', 'refused'], ['admin', 'root', 'ok']]);
    expect(audit[1].code).toBe('operation_not_retryable');
  });

  it('a retried create that no longer fits the limit is refused', async () => {
    const failed = await failedCreate(SVC1, 'late');
    for (const n of ['x', 'y', 'z']) await active(SVC1, n);
    const op = await handle.db('snapshot_operations').where({ snapshot_id: failed.id }).first();
    const { agent, token } = await sessionFor(fx.mod, 'admin', `${A}/operations`);
    const res = await agent.post(`${A}/operations/${op.id}/retry`).type('form').send({ _csrf: token });
    expect(res.status).toBe(409);
    expect(res.text).toContain('Snapshot limit reached.');
    expect(await statusOf(failed.id)).toBe('failed');
  });

  it('adopts an unmanaged snapshot as a managed one the customer sees; over the limit only when confirmed', async () => {
    const u = await unmanaged(SVC1, 'psnap-20260101000000-bbbbbb');
    const { agent, token } = await sessionFor(fx.mod, 'admin', `${A}/items/${u.id}/adopt?back=${encodeURIComponent(`${A}/items?problem=unmanaged`)}`);
    const form = await agent.get(`${A}/items/${u.id}/adopt`);
    expect(form.text).toContain('The service uses 1 of 3 snapshots');
    const res = await agent.post(`${A}/items/${u.id}/adopt`).type('form').send({ _csrf: token, name: '되찾은 백업', back: `${A}/items?problem=unmanaged` });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe(`${A}/items?problem=unmanaged&flash=adopted`);
    expect(await row(u.id)).toMatchObject({ status: 'active', name: '되찾은 백업', origin: 'adopted', schedule_id: null });
    const client = await supertest(appFor(fx.mod)).get('/services/svc-1/snapshots').set('x-test-actor', 'alice');
    expect(client.text).toContain('되찾은 백업');
    expect(client.text).toContain('Snapshots left: 2 of 3');

    // Over the limit: service limit 1, one active plus one unmanaged.
    await agent.post(`${A}/services/svc-1/overrides`).type('form').send({ _csrf: token, maxSnapshots: '1' });
    const u2 = await unmanaged(SVC1, 'psnap-20260101000000-cccccc');
    const refused = await agent.post(`${A}/items/${u2.id}/adopt`).type('form').send({ _csrf: token, name: '' });
    expect(refused.status).toBe(409);
    expect(refused.text).toContain('Snapshot limit reached.');
    expect(refused.text).toContain('Adopt anyway, leaving the service 1 over its limit');
    expect(await statusOf(u2.id)).toBe('unmanaged');
    expect((await agent.post(`${A}/items/${u2.id}/adopt`).type('form').send({ _csrf: token, allowOverLimit: '1' })).status).toBe(303);
    expect(await row(u2.id)).toMatchObject({ status: 'active', name: 'psnap-20260101000000-cccccc' });

    const audit = await handle.db('snapshot_audit_events').where({ action: 'admin.adopt' }).orderBy('id');
    expect(audit.map((a) => [a.result, a.actor_id, a.from_status, a.to_status])).toEqual([
      ['ok', 'root', 'unmanaged', 'active'], ['refused', 'root', null, null], ['ok', 'root', 'unmanaged', 'active'],
    ]);
    expect(JSON.parse(audit[2].details)).toMatchObject({ overLimit: true, limit: 1, used: 2 });
  });

  it('deletes an unmanaged snapshot on the hypervisor through the queue, after confirmation', async () => {
    const u = await unmanaged(SVC1, 'psnap-20260101000000-dddddd');
    const { agent, token } = await sessionFor(fx.mod, 'admin', `${A}/items/${u.id}/delete`);
    const unconfirmed = await agent.post(`${A}/items/${u.id}/delete`).type('form').send({ _csrf: token });
    expect(unconfirmed.status).toBe(422);
    expect(unconfirmed.text).toContain('Please confirm the deletion.');
    expect(await statusOf(u.id)).toBe('unmanaged');
    // The way back is only ever an admin page: not a script URL, not another site.
    expect((await agent.get(`${A}/items/${u.id}/delete?back=javascript:alert(1)`)).text).not.toContain('javascript:');
    const res = await agent.post(`${A}/items/${u.id}/delete`).type('form').send({ _csrf: token, confirm: '1', back: 'https://evil.example/admin/snapshots' });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe(`${A}/items?flash=delete_scheduled`);
    await waitFor(async () => (await row(u.id)) === undefined, 5000, 'unmanaged deleted');
    expect((await driver.list(SVC1.target)).map((s) => s.name)).not.toContain('psnap-20260101000000-dddddd');
    expect(await handle.db('snapshot_audit_events').where({ action: 'admin.delete_unmanaged', result: 'ok' }).first())
      .toMatchObject({ actor_type: 'admin', actor_id: 'root', service_id: 'svc-1', from_status: 'unmanaged', to_status: 'deleting' });
  });

  it('force-removes the record of a vanished snapshot, but not one that is back on the hypervisor', async () => {
    const gone = await vanished(SVC1, 'gone');
    const { agent, token } = await sessionFor(fx.mod, 'admin', `${A}/items/${gone.id}/remove`);
    const res = await agent.post(`${A}/items/${gone.id}/remove`).type('form').send({ _csrf: token, confirm: '1' });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe(`${A}/items?flash=removed`);
    expect(await row(gone.id)).toBeUndefined();
    expect(await handle.db('snapshot_audit_events').where({ action: 'admin.force_remove' }).first())
      .toMatchObject({ actor_type: 'admin', actor_id: 'root', snapshot_id: gone.id, from_status: 'error', to_status: 'deleted', code: 'snapshot_vanished' });
    // Nothing queued for the hypervisor.
    expect(await handle.db('snapshot_operations').where({ snapshot_id: gone.id, kind: 'delete' }).first()).toBeUndefined();

    const back = await vanished(SVC1, 'back again');
    await driver.create(SVC1.target, { name: back.hvName, description: null, includeMemory: false });
    const refused = await agent.post(`${A}/items/${back.id}/remove`).type('form').send({ _csrf: token, confirm: '1' });
    expect(refused.status).toBe(409);
    expect(refused.text).toContain('The snapshot is on the hypervisor again');
    expect(await row(back.id)).toMatchObject({ status: 'error' });
    // An active snapshot is not a vanished record.
    const live = await active(SVC1, 'live');
    expect((await agent.post(`${A}/items/${live.id}/remove`).type('form').send({ _csrf: token, confirm: '1' })).status).toBe(409);
    expect(await statusOf(live.id)).toBe('active');
  });
});
