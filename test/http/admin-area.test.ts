import { describe, expect, it } from 'vitest';
import supertest from 'supertest';
import { DATABASES } from '../helpers/databases.js';
import { useModule } from '../helpers/db-suite.js';
import { makeService } from '../helpers/module-fixture.js';
import { appFor, sessionFor } from '../helpers/http-app.js';

const CLIENT = '/services/svc-1/snapshots';
const A = '/admin/snapshots';
const PLANS = [{ id: 'basic', name: 'Basic VPS' }, { id: 'pro', name: 'Pro VPS' }];

const PAGES = [A, `${A}/limits`, `${A}/limits/*`, `${A}/services?serviceId=svc-1`, `${A}/items`, `${A}/operations`, `${A}/health`, `${A}/audit`, `${A}/items/1/adopt`];
const POSTS = [`${A}/limits/*`, `${A}/limits/basic/inherit`, `${A}/services/svc-1/overrides`, `${A}/services/svc-1/overrides/clear`,
  `${A}/operations/1/retry`, `${A}/items/1/adopt`, `${A}/items/1/delete`, `${A}/items/1/remove`];

const quotaText = async (agent: supertest.Agent) => /Snapshots left: (\d+) of (\d+)/.exec((await agent.get(CLIENT)).text)?.slice(1).join(' of ');

describe.each(DATABASES)('admin area: access, plan limits, overrides ($kind)', (kind) => {
  const fx = useModule(kind, {
    services: [makeService(), makeService({ id: 'svc-3', name: 'resold', ownerId: 'bob', resellerId: 'rex' })],
    panel: { listPlans: () => PLANS },
  });

  it('refuses every admin page and form to customers and resellers (403) and to nobody (401), changing nothing', async () => {
    const app = appFor(fx.mod);
    for (const actor of ['alice', 'reseller']) {
      for (const path of PAGES) {
        const res = await supertest(app).get(path).set('x-test-actor', actor);
        expect(res.status, `${actor} GET ${path}`).toBe(403);
        expect(res.text).not.toContain('Plan limits');
      }
      // Even with a valid CSRF token of their own, a non-admin's form post is refused.
      const { agent, token } = await sessionFor(fx.mod, actor, actor === 'alice' ? CLIENT : '/services/svc-3/snapshots');
      for (const path of POSTS) {
        const res = await agent.post(path).type('form').send({ _csrf: token, maxSnapshots: '50', maxSchedules: '1', maxKeep: '1', confirm: '1' });
        expect(res.status, `${actor} POST ${path}`).toBe(403);
      }
    }
    const ja = await supertest(app).get(`${A}/limits`).set('x-test-actor', 'reseller');
    expect(ja.text).toContain('管理者');
    for (const path of PAGES) expect((await supertest(app).get(path)).status, path).toBe(401);
    expect(await fx.db('snapshot_plan_limits').count({ n: '*' }).first()).toMatchObject({ n: 0 });
    expect(await fx.db('snapshot_services').whereNotNull('override_max_snapshots').count({ n: '*' }).first()).toMatchObject({ n: 0 });
  });

  it('refuses an admin form without a valid CSRF token', async () => {
    const { agent } = await sessionFor(fx.mod, 'admin', `${A}/limits/*`);
    const res = await agent.post(`${A}/limits/*`).type('form').send({ _csrf: 'forged', maxSnapshots: '9', maxSchedules: '1', maxKeep: '3' });
    expect(res.status).toBe(403);
    expect(res.text).toContain('Your form expired');
    const noToken = await agent.post(`${A}/services/svc-1/overrides`).type('form').send({ maxSnapshots: '9' });
    expect(noToken.status).toBe(403);
    expect(await fx.db('snapshot_plan_limits').count({ n: '*' }).first()).toMatchObject({ n: 0 });
  });

  it('lists the panel plans and the default, with tabs; a limit edit changes the client page on the next request', async () => {
    const { agent, token } = await sessionFor(fx.mod, 'admin', `${A}/limits/*`);
    const page = await agent.get(`${A}/limits`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('Basic VPS');
    expect(page.text).toContain('Pro VPS');
    expect(page.text).toContain('Default (plans without their own limits)');
    expect(page.text).toContain('aria-current="page"');
    const alice = supertest.agent(appFor(fx.mod)).set('x-test-actor', 'alice');
    expect(await quotaText(alice)).toBe('3 of 3');

    // The default row: plan 'basic' has none of its own, so it follows.
    let res = await agent.post(`${A}/limits/*`).type('form').send({ _csrf: token, maxSnapshots: '5', maxSchedules: '2', maxKeep: '4', memoryAllowed: '1', schedulesAllowed: '1', cloneAllowed: '1' });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe(`${A}/limits?flash=limits_saved`);
    expect((await agent.get(res.headers.location!)).text).toContain('Plan limits saved');
    expect(await quotaText(alice)).toBe('5 of 5');

    // The plan's own row wins over the default.
    res = await agent.post(`${A}/limits/basic`).type('form').send({ _csrf: token, maxSnapshots: '2', maxSchedules: '0', maxKeep: '1' });
    expect(res.status).toBe(303);
    expect(await quotaText(alice)).toBe('2 of 2');
    expect(await fx.db('snapshot_plan_limits').where({ plan_id: 'basic' }).first()).toMatchObject({ max_snapshots: 2, max_schedules: 0 });
    const edit = await agent.get(`${A}/limits/basic`);
    expect(edit.text).toContain('This plan has its own limits.');
    expect(edit.text).not.toMatch(/id="admin-memoryAllowed"[^>]*checked/);
    // New servers from snapshots: on in the default row, off for this plan (its box was left unticked).
    expect(edit.text).toContain('New servers from snapshots');
    expect(edit.text).not.toMatch(/id="admin-cloneAllowed"[^>]*checked/);
    expect(await fx.db('snapshot_plan_limits').where({ plan_id: '*' }).first()).toMatchObject({ clone_allowed: 1 });
    expect(await fx.db('snapshot_plan_limits').where({ plan_id: 'basic' }).first()).toMatchObject({ clone_allowed: 0 });

    // "Inherit default" removes the plan's row.
    res = await agent.post(`${A}/limits/basic/inherit`).type('form').send({ _csrf: token });
    expect(res.status).toBe(303);
    expect(await fx.db('snapshot_plan_limits').where({ plan_id: 'basic' }).first()).toBeUndefined();
    expect(await quotaText(alice)).toBe('5 of 5');

    const audit = await fx.db('snapshot_audit_events').where('action', 'like', 'admin.plan_limits%').orderBy('id');
    expect(audit.map((a) => [a.action, a.actor_type, a.actor_id])).toEqual([
      ['admin.plan_limits_set', 'admin', 'root'], ['admin.plan_limits_set', 'admin', 'root'], ['admin.plan_limits_inherit', 'admin', 'root'],
    ]);
    expect(JSON.parse(audit[1].details)).toMatchObject({ planId: 'basic', after: { maxSnapshots: 2 } });
  });

  it('lowered limits reach saved schedules at once: the newest beyond the count off, keep clamped; an override turns the rest off', async () => {
    const { agent, token } = await sessionFor(fx.mod, 'admin', `${A}/limits/*`);
    const send = (path: string, form: Record<string, string>) => agent.post(path).type('form').send({ _csrf: token, ...form });
    expect((await send(`${A}/limits/basic`, { maxSnapshots: '5', maxSchedules: '2', maxKeep: '4', schedulesAllowed: '1' })).status).toBe(303);
    const service = makeService();
    const ctx = { actor: { type: 'customer' as const, id: 'alice' } };
    const weekly = { days: [1], hour: 3, minute: 0, timezone: 'UTC', keep: 4 };
    const older = await fx.mod.schedules.create(service, { ...weekly, name: 'older' }, ctx);
    const newer = await fx.mod.schedules.create(service, { ...weekly, name: 'newer' }, ctx);

    expect((await send(`${A}/limits/basic`, { maxSnapshots: '5', maxSchedules: '1', maxKeep: '2', schedulesAllowed: '1' })).status).toBe(303);
    expect(await fx.mod.schedules.get(service, older.id)).toMatchObject({ enabled: true, keep: 2 });
    expect(await fx.mod.schedules.get(service, newer.id)).toMatchObject({ enabled: false, disabledReason: 'plan_schedule_limit', keep: 2 });
    const applied = await fx.db('snapshot_audit_events').where({ action: 'admin.limits_applied', service_id: 'svc-1' });
    expect(applied.map((a) => [a.actor_type, a.actor_id])).toEqual([['admin', 'root']]);
    expect(fx.notifications.map((n) => [n.type, n.serviceId])).toContainEqual(['plan_clamped', 'svc-1']);

    expect((await send(`${A}/services/svc-1/overrides`, { schedulesAllowed: 'no' })).status).toBe(303);
    expect(await fx.mod.schedules.get(service, older.id)).toMatchObject({ enabled: false, disabledReason: 'plan_no_schedules' });
    // The customer's log says what happened, in words.
    const log = await supertest(appFor(fx.mod)).get('/services/svc-1/snapshots/activity').set('x-test-actor', 'alice');
    expect(log.text).toContain('Limits changed by an administrator');
  });

  it('answers 404 for a plan the panel does not list and that has no row', async () => {
    const { agent, token } = await sessionFor(fx.mod, 'admin', `${A}/limits/*`);
    expect(token).not.toBe('');
    expect((await agent.get(`${A}/limits/gold`)).status).toBe(404);
    expect((await agent.post(`${A}/limits/gold`).type('form').send({ _csrf: token, maxSnapshots: '1', maxSchedules: '1', maxKeep: '1' })).status).toBe(404);
    expect(await fx.db('snapshot_plan_limits').count({ n: '*' }).first()).toMatchObject({ n: 0 });
  });

  it('shows validation errors in the admin\'s language, keeps the input, and saves nothing', async () => {
    const { agent, token } = await sessionFor(fx.mod, 'adminKo', `${A}/limits/basic`);
    const res = await agent.post(`${A}/limits/basic`).type('form').send({ _csrf: token, maxSnapshots: 'lots', maxSchedules: '1', maxKeep: '0' });
    expect(res.status).toBe(422);
    expect(res.text).toContain('0에서 1000 사이의 정수를 입력하세요.');
    expect(res.text).toContain('1에서 1000 사이의 정수를 입력하세요.');
    expect(res.text).toContain('value="lots"');
    expect(res.text).toMatch(/id="admin-maxSnapshots"[^>]*aria-invalid="true"/);
    expect(res.text).not.toContain('Enter a whole number');
    expect(await fx.db('snapshot_plan_limits').count({ n: '*' }).first()).toMatchObject({ n: 0 });

    const over = await agent.post(`${A}/services/svc-1/overrides`).type('form').send({ _csrf: token, maxSnapshots: '5000', memoryAllowed: 'maybe' });
    expect(over.status).toBe(422);
    expect(over.text).toContain('제시된 값 중 하나를 선택하세요.');
    expect(over.text).toContain('value="5000"');
  });

  it('sets per-service overrides, shows where each limit comes from, and clears them', async () => {
    const { agent, token } = await sessionFor(fx.mod, 'admin', `${A}/services?serviceId=svc-1`);
    const alice = supertest.agent(appFor(fx.mod)).set('x-test-actor', 'alice');
    let page = await agent.get(`${A}/services?serviceId=svc-1`);
    expect(page.text).toContain('web-01 (svc-1)');
    expect(page.text.match(/Module configuration/g)?.length).toBeGreaterThanOrEqual(5);

    let res = await agent.post(`${A}/services/svc-1/overrides`).type('form')
      .send({ _csrf: token, maxSnapshots: '7', maxSchedules: '', maxKeep: '', memoryAllowed: 'no', schedulesAllowed: '' });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe(`${A}/services?serviceId=svc-1&flash=overrides_saved`);
    expect(await quotaText(alice)).toBe('7 of 7');
    page = await agent.get(res.headers.location!);
    expect(page.text).toContain('Service overrides saved.');
    expect(page.text.match(/Override for this service/g)).toHaveLength(2);
    expect(page.text).toMatch(/<option value="no" selected>/);
    expect(await fx.db('snapshot_services').where({ service_id: 'svc-1' }).first()).toMatchObject({ override_max_snapshots: 7, override_max_keep: null });

    // An override wins over the plan's own row too.
    await agent.post(`${A}/limits/basic`).type('form').send({ _csrf: token, maxSnapshots: '1', maxSchedules: '1', maxKeep: '1' });
    expect(await quotaText(alice)).toBe('7 of 7');

    res = await agent.post(`${A}/services/svc-1/overrides/clear`).type('form').send({ _csrf: token });
    expect(res.status).toBe(303);
    expect(await quotaText(alice)).toBe('1 of 1');
    page = await agent.get(`${A}/services?serviceId=svc-1`);
    expect(page.text).not.toContain('Override for this service');
    expect(page.text).toContain('The plan&#39;s own limits');

    const audit = await fx.db('snapshot_audit_events').where({ service_id: 'svc-1' }).whereIn('action', ['admin.overrides_set', 'admin.overrides_cleared']).orderBy('id');
    expect(audit.map((a) => a.action)).toEqual(['admin.overrides_set', 'admin.overrides_cleared']);
    expect(JSON.parse(audit[0].details)).toEqual({ before: {}, after: { maxSnapshots: 7, memoryAllowed: false } });
  });

  it('says a searched service is not found, without an error page', async () => {
    const { agent } = await sessionFor(fx.mod, 'admin', `${A}/services`);
    const res = await agent.get(`${A}/services?serviceId=nope`);
    expect(res.status).toBe(404);
    expect(res.text).toContain('Service not found.');
    expect(res.text).toContain('id="admin-service-search"');
  });
});

describe.each(DATABASES)('admin limits without panel plans ($kind)', (kind) => {
  const fx = useModule(kind);
  it('shows only the default row when the panel has no listPlans', async () => {
    const res = await supertest(appFor(fx.mod)).get(`${A}/limits`).set('x-test-actor', 'admin');
    expect(res.status).toBe(200);
    expect(res.text).toContain('Default (plans without their own limits)');
    expect(res.text).toContain('only the default can be set here');
    expect(res.text.match(/data-plan="/g)).toHaveLength(1);
  });
});
