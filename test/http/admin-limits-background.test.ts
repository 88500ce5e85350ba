import { beforeEach, describe, expect, it } from 'vitest';
import { APPLY_INLINE_MAX, LIMITS_APPLY_JOB } from '../../module/scheduler/limits-apply-job.js';
import { DATABASES } from '../helpers/databases.js';
import { useModule } from '../helpers/db-suite.js';
import { makeService } from '../helpers/module-fixture.js';
import { sessionFor } from '../helpers/http-app.js';
import { waitFor } from '../helpers/wait-for.js';

const A = '/admin/snapshots';
const MANY = APPLY_INLINE_MAX + 5;
const services = Array.from({ length: MANY }, (_, i) => makeService({ id: `svc-${i}`, name: `web-${i}`, planId: 'pro', target: { driver: 'simulated', node: 'node1', vmId: String(100 + i) } }));

/** An edit reaching more services than a request should handle goes to background jobs; the result is the same. */
describe.each(DATABASES)('admin limit edits on a large plan ($kind)', (kind) => {
  const fx = useModule(kind, { services, panel: { listPlans: () => [{ id: 'pro', name: 'Pro VPS' }] } });
  beforeEach(async () => {
    await fx.mod.start();
  });

  it(`adjusts the saved schedules of ${MANY} services in background jobs and says so`, async () => {
    const { agent, token } = await sessionFor(fx.mod, 'admin', `${A}/limits/pro`);
    const send = (form: Record<string, string>) => agent.post(`${A}/limits/pro`).type('form').send({ _csrf: token, ...form });
    expect((await send({ maxSnapshots: '5', maxSchedules: '1', maxKeep: '4', schedulesAllowed: '1' })).status).toBe(303);
    const ctx = { actor: { type: 'customer' as const, id: 'alice' } };
    const schedules = [];
    for (const s of services) schedules.push(await fx.mod.schedules.create(s, { name: 'nightly', days: [1], hour: 3, minute: 0, timezone: 'UTC', keep: 4 }, ctx));

    // What the request writes to the job store: the background jobs, not the services' schedules.
    const queued: unknown[][] = [];
    const watch = (q: { sql: string; bindings?: unknown[] }) => {
      if (/^insert into `snapshot_jobs`/.test(q.sql) && q.bindings?.includes(LIMITS_APPLY_JOB)) queued.push(q.bindings);
    };
    fx.db.on('query', watch);
    const res = await send({ maxSnapshots: '5', maxSchedules: '1', maxKeep: '2', schedulesAllowed: '1' });
    fx.db.off('query', watch);
    expect(res.status).toBe(303);
    expect(queued).toHaveLength(1); // one job: up to APPLY_CHUNK services each
    expect(res.headers.location).toContain('flash=limits_saved_queued');
    const page = await agent.get(res.headers.location!);
    expect(page.text).toContain('being adjusted in the background');

    // The jobs run in this started module: every schedule ends up clamped, each service audited once.
    await waitFor(async () => Number((await fx.db('snapshot_schedules').where({ keep: 2 }).count({ n: '*' }).first())!.n) === MANY, 10_000, 'all clamped');
    const applied = await fx.db('snapshot_audit_events').where({ action: 'admin.limits_applied' }).select('service_id', 'actor_id');
    expect(applied).toHaveLength(MANY);
    expect(new Set(applied.map((a) => a.service_id))).toEqual(new Set(services.map((s) => s.id)));
    expect(applied.every((a) => a.actor_id === 'root')).toBe(true);
    const ids = JSON.parse(String(queued[0]!.find((b) => typeof b === 'string' && b.includes('serviceIds')))).serviceIds as string[];
    expect(ids.sort()).toEqual(services.map((s) => s.id).sort());
    // A done job leaves no row behind.
    await waitFor(async () => Number((await fx.db('snapshot_jobs').where({ name: LIMITS_APPLY_JOB }).count({ n: '*' }).first())!.n) === 0, 5_000, 'job removed');
  });

  it('applies an edit reaching a few services in the request', async () => {
    const { agent, token } = await sessionFor(fx.mod, 'adminKo', `${A}/limits/pro`);
    const send = (form: Record<string, string>) => agent.post(`${A}/limits/pro`).type('form').send({ _csrf: token, ...form });
    expect((await send({ maxSnapshots: '5', maxSchedules: '1', maxKeep: '4', schedulesAllowed: '1' })).status).toBe(303);
    const one = await fx.mod.schedules.create(services[0]!, { name: 'nightly', days: [1], hour: 3, minute: 0, timezone: 'UTC', keep: 4 }, { actor: { type: 'customer', id: 'alice' } });
    const res = await send({ maxSnapshots: '5', maxSchedules: '1', maxKeep: '3', schedulesAllowed: '1' });
    expect(res.headers.location).toContain('flash=limits_saved');
    expect(res.headers.location).not.toContain('queued');
    // Already done when the admin's request returns.
    expect(await fx.mod.schedules.get(services[0]!, one.id)).toMatchObject({ keep: 3 });
    expect((await agent.get(res.headers.location!)).text).toContain('요금제 한도를 저장했습니다');
    expect(await fx.db('snapshot_jobs').where({ name: LIMITS_APPLY_JOB }).count({ n: '*' }).first()).toMatchObject({ n: 0 });
  });
});
