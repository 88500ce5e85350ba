import { describe, expect, it } from 'vitest';
import { DATABASES } from '../helpers/databases.js';
import { useModule } from '../helpers/db-suite.js';
import { sessionFor } from '../helpers/http-app.js';
import { makeService } from '../helpers/module-fixture.js';

const A = '/admin/snapshots';
const PLANS = [{ id: 'basic', name: 'Basic VPS' }];
const CUSTOMER = { actor: { type: 'customer' as const, id: 'alice' } };
const WEEKLY = { days: [1], hour: 3, minute: 0, timezone: 'UTC', keep: 4, includeMemory: true };

/** The paths the plan-row tests in admin-area.test.ts leave out: the '*' default, inherit, a memory override. */
describe.each(DATABASES)('admin limit edits reach saved schedules through the default row too ($kind)', (kind) => {
  const service = makeService();
  const fx = useModule(kind, { services: [service], panel: { listPlans: () => PLANS } });

  async function admin() {
    const { agent, token } = await sessionFor(fx.mod, 'admin', `${A}/limits/*`);
    return (path: string, form: Record<string, string> = {}) => agent.post(path).type('form').send({ _csrf: token, ...form });
  }
  const generous = { maxSnapshots: '9', maxSchedules: '3', maxKeep: '8', memoryAllowed: '1', schedulesAllowed: '1' };
  // An unticked checkbox is not sent at all.
  const { memoryAllowed: _memory, ...noMemory } = generous;
  const { schedulesAllowed: _schedules, ...noSchedules } = noMemory;

  it("lowering the '*' default clamps the schedules of a plan that inherits it; turning schedules off there disables them", async () => {
    const send = await admin();
    expect((await send(`${A}/limits/*`, generous)).status).toBe(303);
    const s = await fx.mod.schedules.create(service, { ...WEEKLY, name: 'nightly' }, CUSTOMER);

    expect((await send(`${A}/limits/*`, { ...noMemory, maxKeep: '2' })).status).toBe(303);
    expect(await fx.mod.schedules.get(service, s.id)).toMatchObject({ enabled: true, keep: 2, includeMemory: false });
    expect(fx.notifications.map((n) => [n.type, n.serviceId])).toContainEqual(['plan_clamped', service.id]);

    expect((await send(`${A}/limits/*`, { ...noSchedules, maxKeep: '2' })).status).toBe(303);
    expect(await fx.mod.schedules.get(service, s.id)).toMatchObject({ enabled: false, disabledReason: 'plan_no_schedules' });
  });

  it("a plan row removed with inherit-default falls back to the lower default, which then applies", async () => {
    const send = await admin();
    expect((await send(`${A}/limits/*`, { ...noMemory, maxKeep: '3' })).status).toBe(303);
    expect((await send(`${A}/limits/basic`, generous)).status).toBe(303);
    const s = await fx.mod.schedules.create(service, { ...WEEKLY, name: 'nightly' }, CUSTOMER);

    expect((await send(`${A}/limits/basic/inherit`)).status).toBe(303);
    expect(await fx.mod.schedules.get(service, s.id)).toMatchObject({ enabled: true, keep: 3, includeMemory: false });
    const applied = await fx.db('snapshot_audit_events').where({ action: 'admin.limits_applied', service_id: service.id });
    expect(applied).toHaveLength(1);
  });

  it('a per-service override of memory turns memory off in its schedules', async () => {
    const send = await admin();
    expect((await send(`${A}/limits/basic`, generous)).status).toBe(303);
    const s = await fx.mod.schedules.create(service, { ...WEEKLY, name: 'nightly' }, CUSTOMER);
    expect((await send(`${A}/services/${service.id}/overrides`, { memoryAllowed: 'no' })).status).toBe(303);
    expect(await fx.mod.schedules.get(service, s.id)).toMatchObject({ enabled: true, keep: 4, includeMemory: false });
  });
});
