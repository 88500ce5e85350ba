import supertest from 'supertest';
import { beforeEach, describe, expect, it } from 'vitest';
import { RACE_ONLY_REFUSALS, SCHEDULE_REFUSALS, SNAPSHOT_REFUSALS } from '../../module/domain/refusals.js';
import { SimulatedDriver } from '../../module/drivers/simulated/simulated-driver.js';
import { DATABASES, type TestDatabase } from '../helpers/databases.js';
import { type ModuleFixture, useDatabase } from '../helpers/db-suite.js';
import { appFor } from '../helpers/http-app.js';
import { makeService } from '../helpers/module-fixture.js';
import { setPlan, settle } from '../helpers/race-kit.js';

const SERVICE = makeService();
type Action = keyof typeof SNAPSHOT_REFUSALS;

/**
 * Every refusal the API documents for a snapshot action is one the action really gives: each code
 * is provoked here through the API, and the codes seen are exactly the documented ones (less those
 * only a race with the hypervisor can produce, which the race suites meet).
 */
describe.each(DATABASES)('documented refusals of the snapshot API ($kind)', (kind: TestDatabase) => {
  const handle = useDatabase(kind);
  let fx: ModuleFixture;

  /** The service as a new server whose disk is still being made from a snapshot (the provisioning hook's mark). */
  const markBeingCloned = (pending: boolean) => handle.db('snapshot_services').where({ service_id: SERVICE.id }).update({ clone_pending: pending });
  /** A new server being made from snapshot `id` (the row the provisioning hook writes), which keeps it from deletion. */
  const holdForClone = (id: number) => handle.db('snapshot_clones').insert({
    handover_id: 'h'.repeat(22), source_service_id: SERVICE.id, snapshot_id: id, snapshot_name: 'a', new_service_id: 'svc-new',
    dest_target: '{}', status: 'running', created_at: new Date(),
  });

  beforeEach(async () => {
    await setPlan(handle.db, SERVICE.planId, { maxSnapshots: 3 });
    fx = await handle.module({ services: [SERVICE], driver: new SimulatedDriver({ rollbackOnlyLatest: true }) });
  });

  it('provokes each documented code of create, edit, pin, delete and restore', async () => {
    const api = supertest(appFor(fx.mod));
    const seen: Record<Action, Set<string>> = { create: new Set(), edit: new Set(), pin: new Set(), delete: new Set(), restore: new Set() };
    const base = `/api/v1/services/${SERVICE.id}/snapshots`;
    const send = async (action: Action, id: number | null, body: Record<string, unknown> = {}) => {
      const path = id === null ? base : action === 'pin' || action === 'restore' ? `${base}/${id}/${action}` : `${base}/${id}`;
      const method = { create: 'post', edit: 'patch', pin: 'post', delete: 'delete', restore: 'post' }[action] as 'post' | 'patch' | 'delete';
      const res = await api[method](path).set('x-test-actor', 'alice').send(body);
      if (res.status >= 400) {
        expect(Object.keys(SNAPSHOT_REFUSALS[action]).map(Number), `${action} ${res.body.error.code}`).toContain(res.status);
        seen[action].add(res.body.error.code);
      }
      return res;
    };
    const restoreBody = (safetySnapshot = false) => ({ typedServiceName: SERVICE.name, safetySnapshot });
    const every = async () => {
      await send('create', null, { name: 'x' });
      await send('edit', a, { name: 'y' });
      await send('pin', a, { pinned: true });
      await send('delete', a, { confirm: true });
      await send('restore', a, restoreBody());
    };

    const made = [];
    for (const name of ['a', 'b', 'c']) made.push((await send('create', null, { name })).body.snapshot.id as number);
    await settle(handle.db, SERVICE.id);
    const [a, b, c] = made as [number, number, number];
    await send('create', null, { name: 'one too many' }); // snapshot_limit_reached
    await send('restore', a, restoreBody()); // restore_only_latest: newer snapshots exist
    await send('restore', c, restoreBody(true)); // snapshot_limit_reached: no slot for the safety snapshot
    expect((await send('restore', c, restoreBody())).status).toBe(202);
    await send('restore', b, restoreBody()); // restore_in_progress
    await send('restore', c, restoreBody()); // restore_needs_active
    await send('delete', c, { confirm: true }); // illegal_transition: restoring
    expect((await send('delete', b, { confirm: true })).status).toBe(202);
    await send('edit', b, { name: 'going' }); // snapshot_not_editable
    await send('pin', b, { pinned: true }); // snapshot_not_pinnable
    for (const action of ['edit', 'pin', 'delete', 'restore'] as const) await send(action, 987654, action === 'restore' ? restoreBody() : { name: 'n', pinned: true, confirm: true });
    await holdForClone(a);
    await send('delete', a, { confirm: true }); // snapshot_cloning: a new server is being made from it
    await markBeingCloned(true);
    await every(); // clone_in_progress: this service is itself a new server still being made
    await markBeingCloned(false);
    await fx.mod.hooks.serviceSuspended(SERVICE.id);
    await every();
    await fx.mod.hooks.serviceUnsuspended(SERVICE.id);
    await fx.mod.hooks.serviceTerminated(SERVICE.id);
    await every();

    for (const action of Object.keys(SNAPSHOT_REFUSALS) as Action[]) {
      const documented = Object.values(SNAPSHOT_REFUSALS[action]).flat().filter((c) => !(RACE_ONLY_REFUSALS as readonly string[]).includes(c));
      expect([...seen[action]].sort(), action).toEqual([...new Set(documented)].sort());
    }
  });

  it('list and get carry the actions the domain allows, and an action not offered is refused', async () => {
    const api = supertest(appFor(fx.mod));
    const base = `/api/v1/services/${SERVICE.id}/snapshots`;
    const ids: number[] = [];
    for (const name of ['old', 'new']) ids.push((await api.post(base).set('x-test-actor', 'alice').send({ name })).body.snapshot.id);
    await settle(handle.db, SERVICE.id);
    await api.delete(`${base}/${ids[1]}`).set('x-test-actor', 'alice').send({ confirm: true });
    const list = (await api.get(base).set('x-test-actor', 'alice')).body.snapshots as Array<{ id: number; actions: Record<string, boolean> }>;
    const byId = new Map(list.map((s) => [s.id, s.actions]));
    // The newest is on its way out: nothing is offered. The older is active but not the newest, and this
    // hypervisor rolls back only to the newest.
    expect(byId.get(ids[1]!)).toEqual({ pin: false, edit: false, restore: false, delete: false, dismiss: false, newServer: false });
    expect(byId.get(ids[0]!)).toEqual({ pin: true, edit: true, restore: false, delete: true, dismiss: false, newServer: false });
    const one = await api.get(`${base}/${ids[0]}`).set('x-test-actor', 'alice');
    expect(one.body.snapshot.actions).toEqual(byId.get(ids[0]!));
    // Each action not offered is refused when asked anyway.
    expect((await api.patch(`${base}/${ids[1]}`).set('x-test-actor', 'alice').send({ name: 'x' })).status).toBe(409);
    expect((await api.post(`${base}/${ids[1]}/pin`).set('x-test-actor', 'alice').send({ pinned: true })).status).toBe(409);
    expect((await api.post(`${base}/${ids[0]}/restore`).set('x-test-actor', 'alice').send({ typedServiceName: SERVICE.name })).status).toBe(409);
    // Suspended: a customer is offered nothing; an admin still is.
    await fx.mod.hooks.serviceSuspended(SERVICE.id);
    const closed = (await api.get(base).set('x-test-actor', 'alice')).body.snapshots as Array<{ actions: Record<string, boolean> }>;
    expect(closed.every((s) => Object.values(s.actions).every((v) => !v))).toBe(true);
    const admin = (await api.get(base).set('x-test-actor', 'admin')).body.snapshots as Array<{ id: number; actions: Record<string, boolean> }>;
    expect(admin.find((s) => s.id === ids[0])!.actions.pin).toBe(true);
  });

  it('provokes each documented code of the schedule actions', async () => {
    const api = supertest(appFor(fx.mod));
    const base = `/api/v1/services/${SERVICE.id}/schedules`;
    type Kind = keyof typeof SCHEDULE_REFUSALS;
    const seen: Record<Kind, Set<string>> = { create: new Set(), update: new Set(), delete: new Set() };
    const send = async (kind: Kind, id: number | null, body: Record<string, unknown> = {}) => {
      const req = kind === 'create' ? api.post(base) : kind === 'update' ? api.patch(`${base}/${id}`) : api.delete(`${base}/${id}`);
      const res = await req.set('x-test-actor', 'alice').send(body);
      if (res.status >= 400) {
        expect(Object.keys(SCHEDULE_REFUSALS[kind]).map(Number), `${kind} ${res.body.error.code}`).toContain(res.status);
        seen[kind].add(res.body.error.code);
      }
      return res;
    };
    const weekly = (name: string, enabled = true) => ({ name, days: [1], hour: 3, minute: 0, timezone: 'UTC', keep: 2, enabled });
    const plan = (over: Record<string, unknown>) => setPlan(handle.db, SERVICE.planId, { maxSnapshots: 3, ...over });

    await plan({ maxSchedules: 2 });
    const a = (await send('create', null, weekly('a'))).body.schedule.id as number;
    const b = (await send('create', null, weekly('b', false))).body.schedule.id as number;
    await send('create', null, weekly('c')); // schedule_limit_reached: two of two
    await plan({ maxSchedules: 1 });
    await send('update', b, { enabled: true }); // schedule_limit_reached: a is the one enabled
    await plan({ maxSchedules: 1, schedulesAllowed: false });
    await send('create', null, weekly('d')); // schedules_not_in_plan
    await send('update', b, { enabled: true }); // schedules_not_in_plan
    await send('update', 98765, { enabled: false }); // schedule_not_found
    await send('delete', 98765); // schedule_not_found
    await plan({ maxSchedules: 2 });
    await markBeingCloned(true);
    await send('create', null, weekly('e')); // clone_in_progress
    await send('update', a, { enabled: false });
    await send('delete', a);
    await markBeingCloned(false);
    for (const hook of ['serviceSuspended', 'serviceTerminated'] as const) {
      if (hook === 'serviceTerminated') await fx.mod.hooks.serviceUnsuspended(SERVICE.id);
      await fx.mod.hooks[hook](SERVICE.id);
      await send('create', null, weekly('e'));
      await send('update', a, { enabled: false });
      await send('delete', a);
    }

    for (const kind of Object.keys(SCHEDULE_REFUSALS) as Kind[]) {
      expect([...seen[kind]].sort(), kind).toEqual([...new Set(Object.values(SCHEDULE_REFUSALS[kind]).flat())].sort());
    }
  });
});
