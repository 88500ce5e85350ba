import { beforeEach, describe, expect, it } from 'vitest';
import type { PanelService, Snapshot } from '../../module/domain/types.js';
import { SimulatedDriver } from '../../module/drivers/simulated/simulated-driver.js';
import { DATABASES, type TestDatabase } from '../helpers/databases.js';
import { type ModuleFixture, useDatabase } from '../helpers/db-suite.js';
import { makeService } from '../helpers/module-fixture.js';
import { activeSnapshots, auditRows, CUSTOMER, expectInvariants, race, RESELLER, setPlan } from '../helpers/race-kit.js';
import { waitFor } from '../helpers/wait-for.js';

const ROUNDS = 5;
const LIMIT = 6;
const SCHEDULE = { name: 'nightly', days: [1], hour: 3, minute: 0, timezone: 'UTC', keep: 3 };
const CUSTOMER_ACTIONS = ['snapshot.create', 'snapshot.pin', 'snapshot.edit', 'snapshot.delete', 'snapshot.restore', 'schedule.update', 'schedule.disable', 'schedule.create'];

const service = (i: number): PanelService => makeService({
  id: `svc-${i}`, name: `web-${i}`, resellerId: 'rex', planId: 'race', target: { driver: 'simulated', node: 'node1', vmId: String(100 + i) },
});

/**
 * Billing's events (suspend, terminate, plan change) at the same moment as customers' actions on
 * the same service: each customer action either committed before the event, or is refused with the
 * service's state; nothing slips in after it.
 */
describe.each(DATABASES)('billing events racing customer actions ($kind)', (kind: TestDatabase) => {
  const handle = useDatabase(kind);
  let fx: ModuleFixture;
  const services = Array.from({ length: ROUNDS }, (_, i) => service(i));

  beforeEach(async () => {
    await setPlan(handle.db, 'race', { maxSnapshots: LIMIT });
    await setPlan(handle.db, 'small', { maxSnapshots: 3, maxKeep: 2 });
  });

  /** Every customer action on the service, each by the customer or their reseller. */
  const customerActions = (svc: PanelService, snaps: Snapshot[], scheduleId: number) => [
    () => fx.mod.snapshots.create(svc, { name: 'raced' }, CUSTOMER),
    () => fx.mod.snapshots.setPinned(svc, snaps[0]!.id, true, RESELLER),
    () => fx.mod.snapshots.edit(svc, snaps[1]!.id, { name: 'renamed' }, CUSTOMER),
    () => fx.mod.snapshots.delete(svc, snaps[2]!.id, { confirm: true }, CUSTOMER),
    () => fx.mod.snapshots.restore(svc, snaps[3]!.id, { typedServiceName: svc.name }, RESELLER),
    () => fx.mod.schedules.update(svc, scheduleId, { ...SCHEDULE, keep: 2, enabled: true }, CUSTOMER),
    () => fx.mod.schedules.setEnabled(svc, scheduleId, false, RESELLER),
    () => fx.mod.schedules.create(svc, { ...SCHEDULE, name: 'second' }, CUSTOMER),
  ];

  /** No customer action was accepted after the event's own audit row (both commit under the service's lock). */
  async function expectNothingAfter(svc: PanelService, event: string) {
    const [mark] = await auditRows(handle.db, svc.id, event);
    expect(mark, event).toBeDefined();
    const accepted = await auditRows(handle.db, svc.id, CUSTOMER_ACTIONS);
    const late = accepted.filter((a) => Number(a.id) > Number(mark!.id) && ['customer', 'reseller'].includes(String(a.actor_type)));
    expect(late.map((a) => a.action), `accepted after ${event}`).toEqual([]);
  }

  /** A service with four active snapshots and a schedule, then `hook` fired at once with every customer action. */
  async function raceAgainst(svc: PanelService, hook: (id: string) => Promise<unknown>) {
    const snaps = await activeSnapshots(handle.db, fx.mod, svc, 4);
    const sched = await fx.mod.schedules.create(svc, SCHEDULE, CUSTOMER);
    const outcomes = await race([() => hook(svc.id), ...customerActions(svc, snaps, sched.id)]);
    return { snaps, sched, outcomes };
  }
  // What a customer action racing the event may be told: the service's new state, or what an earlier
  // action of the same round did to its snapshot or schedule.
  const RACE_REFUSALS = ['service_suspended', 'service_terminated', 'restore_needs_active', 'restore_in_progress', 'illegal_transition',
    'snapshot_not_pinnable', 'snapshot_not_editable', 'snapshot_not_found', 'schedule_not_found', 'schedule_limit_reached'];

  it('suspend × every customer action: accepted before the suspension or refused with service_suspended', async () => {
    fx = await handle.module({ services });
    for (const svc of services) {
      const { snaps, sched, outcomes } = await raceAgainst(svc, (id) => fx.mod.hooks.serviceSuspended(id));
      expect(outcomes[0]!.ok).toBe(true);
      for (const o of outcomes.slice(1)) if (!o.ok) expect(RACE_REFUSALS).toContain(o.code);
      await expectNothingAfter(svc, 'billing.suspended');
      await expectInvariants(handle.db, svc.id, LIMIT);
      // While suspended, every customer action is refused.
      const after = await race(customerActions(svc, snaps, sched.id));
      expect(after.filter((o) => o.ok || !['service_suspended', 'snapshot_not_found', 'schedule_not_found', 'restore_needs_active'].includes(o.code))).toEqual([]);
    }
  });

  it('terminate × every customer action: nothing is created, queued or scheduled after termination', async () => {
    fx = await handle.module({ services });
    for (const svc of services) {
      const { outcomes } = await raceAgainst(svc, (id) => fx.mod.hooks.serviceTerminated(id));
      expect(outcomes[0]).toMatchObject({ ok: true, value: { changed: true } });
      for (const o of outcomes.slice(1)) if (!o.ok) expect(RACE_REFUSALS).toContain(o.code);
      await expectNothingAfter(svc, 'billing.terminated');
      // Everything left is on its way out, with one delete each, and no schedule survives.
      const left = await handle.db('snapshot_snapshots').where({ service_id: svc.id });
      expect(left.every((s) => s.status === 'deleting')).toBe(true);
      const queued = await handle.db('snapshot_operations').where({ service_id: svc.id, status: 'queued' });
      expect(queued.every((o) => o.kind === 'delete')).toBe(true);
      expect(queued.map((o) => Number(o.snapshot_id)).sort()).toEqual(left.map((s) => Number(s.id)).sort());
      expect(await handle.db('snapshot_schedules').where({ service_id: svc.id })).toEqual([]);
      await expectInvariants(handle.db, svc.id, LIMIT);
    }
  });

  it('terminate × running and queued operations: each snapshot deleted once, cancelled work audited', async () => {
    const driver = new SimulatedDriver({ delayMs: { create: [150, 200], delete: [150, 200], restore: [150, 200] } });
    const svc = service(0);
    fx = await handle.module({ services: [svc], driver, operations: { pollMs: 10, taskPollMs: 10 } });
    await fx.mod.start();
    const snaps: Snapshot[] = [];
    for (const name of ['a', 'b', 'c']) snaps.push(await fx.mod.snapshots.create(svc, { name }, CUSTOMER));
    await waitFor(async () => (await handle.db('snapshot_snapshots').where({ service_id: svc.id, status: 'active' })).length === 3, 10_000, 'three active');
    // A running delete, a queued restore behind it, and queued creates.
    await fx.mod.snapshots.delete(svc, snaps[0]!.id, { confirm: true }, CUSTOMER);
    await fx.mod.snapshots.restore(svc, snaps[1]!.id, { typedServiceName: svc.name }, CUSTOMER);
    await fx.mod.snapshots.create(svc, { name: 'queued' }, CUSTOMER);
    await waitFor(async () => (await handle.db('snapshot_operations').where({ service_id: svc.id, status: 'running' })).length === 1, 5_000, 'one running');
    await fx.mod.hooks.serviceTerminated(svc.id);
    await waitFor(async () => (await handle.db('snapshot_operations').where({ service_id: svc.id }).whereIn('status', ['queued', 'running'])).length === 0, 15_000, 'all done');

    expect(await handle.db('snapshot_snapshots').where({ service_id: svc.id })).toEqual([]);
    expect(await driver.list(svc.target)).toEqual([]);
    // No snapshot had two deletes: a second one would fail on a snapshot already gone.
    const deletes = (await handle.db('snapshot_operations').where({ service_id: svc.id, kind: 'delete' })).filter((o) => o.error_code !== 'service_terminated');
    const perSnapshot = new Map<number, number>();
    for (const d of deletes) perSnapshot.set(Number(d.snapshot_id), (perSnapshot.get(Number(d.snapshot_id)) ?? 0) + 1);
    expect([...perSnapshot.values()].every((n) => n === 1)).toBe(true);
    expect((await handle.db('snapshot_operations').where({ service_id: svc.id, status: 'failed' })).every((o) => o.error_code === 'service_terminated')).toBe(true);
    const cancelled = await handle.db('snapshot_operations').where({ service_id: svc.id, error_code: 'service_terminated' });
    expect(cancelled.length).toBeGreaterThan(0);
    expect(await auditRows(handle.db, svc.id, 'operation.cancelled', 'failed')).toHaveLength(cancelled.length);
  });

  it('plan change × scheduled run: the run keeps the new plan\'s limit and keep', async () => {
    fx = await handle.module({ services });
    for (const svc of services) {
      const sched = await fx.mod.schedules.create(svc, { ...SCHEDULE, keep: 6 }, CUSTOMER);
      await activeSnapshots(handle.db, fx.mod, svc, 5, { origin: 'schedule', scheduleId: sched.id });
      // The panel switches the plan, then tells the module; the schedule fires meanwhile.
      fx.services.set(svc.id, { ...svc, planId: 'small' });
      const outcomes = await race([() => fx.mod.hooks.afterPlanChange(svc.id), () => fx.mod.runSchedule(sched.id, new Date())]);
      expect(outcomes.every((o) => o.ok)).toBe(true);
      expect((await handle.db('snapshot_schedules').where({ id: sched.id }).first()).keep).toBeLessThanOrEqual(2);
      await expectInvariants(handle.db, svc.id, 3);
    }
  });
});
